from __future__ import annotations

import dataclasses

import pytest

from tandem.triage.signals import Entity, extract_entities


def kinds(text: str, **kwargs) -> list[tuple[str, str]]:
    return [(e.kind, text[e.start : e.end]) for e in extract_entities(text, **kwargs)]


def test_order_money_date() -> None:
    text = "Where is order #12345? I paid $12.50 on 2026-11-23"
    entities = extract_entities(text)
    assert [(e.kind, e.value) for e in entities] == [
        ("order_number", "12345"),
        ("money", "$12.50"),
        ("date", "2026-11-23"),
    ]
    assert text[entities[0].start : entities[0].end] == "#12345"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("order 1234-5678 is late", [("order_number", "1234-5678")]),
        ("Order number: ORD-2026-00042", [("order_number", "ORD-2026-00042")]),
        ("refund 12,50 € please", [("money", "12,50 €")]),
        ("it was 30 EUR", [("money", "30 EUR")]),
        ("delivered 23/11/2026", [("date", "23/11/2026")]),
        ("it broke yesterday", [("date", "yesterday")]),
        ("since last Tuesday", [("date", "last Tuesday")]),
        ("tracking 1Z999AA10123456784", [("tracking_number", "1Z999AA10123456784")]),
        ("colis RR123456789FR bloqué", [("tracking_number", "RR123456789FR")]),
        ("mail me at Jane.Doe@Example.org", [("email", "Jane.Doe@Example.org")]),
        ("call +44 20 7946 0958", [("phone", "+44 20 7946 0958")]),
        ("Bestellung 987654 vom 23.11.2026", [("order_number", "987654"), ("date", "23.11.2026")]),
    ],
)
def test_single_entities(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text", ["the app version 1.2.3 crashed at 10:30", "I have 3 kids", "room #4", "&#12345;"]
)
def test_no_false_entities(text: str) -> None:
    assert extract_entities(text) == []


def test_values_are_normalised() -> None:
    (email,) = extract_entities("write to Jane.Doe@Example.org")
    assert email.value == "jane.doe@example.org"
    (phone,) = extract_entities("call +44 20 7946 0958")
    assert phone.value == "+442079460958"


def test_extra_patterns_take_priority() -> None:
    text = "ticket TCK-1234 about order 555666"
    assert kinds(text, extra_patterns={"ticket": r"TCK-\d+"}) == [
        ("ticket", "TCK-1234"),
        ("order_number", "555666"),
    ]
    (entity,) = extract_entities("ref: ABC99", extra_patterns={"ref": r"ref: (?P<value>[A-Z]+\d+)"})
    assert (entity.value, entity.start) == ("ABC99", 5)


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ({"ticket": "("}, "not a valid regex"),
        ({"ticket": "a*"}, "empty string"),
        ({"Bad Kind": "x"}, "must match"),
        ({"email": "x"}, "built in"),
        ({"ticket": ""}, "characters"),
    ],
)
def test_bad_extra_patterns_raise_clear_errors(patterns: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        extract_entities("text", extra_patterns=patterns)


def test_entity_is_frozen() -> None:
    entity = Entity("money", "$1", 0, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entity.value = "$2"  # type: ignore[misc]


def test_heldout_cases(heldout) -> None:
    for case in heldout["entities"]:
        assert sorted(kinds(case["text"])) == sorted(tuple(e) for e in case["expected"]), case
