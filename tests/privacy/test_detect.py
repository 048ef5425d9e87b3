from __future__ import annotations

import itertools
import socket

import pytest

from tandem.privacy.detect import iban_valid, luhn_valid, shares_payment_data
from tandem.triage.signals import PersonalData, find_personal_data, redact


def spans(text: str, thorough: bool = False) -> list[tuple[str, str]]:
    return [(p.kind, text[p.start : p.end]) for p in find_personal_data(text, thorough=thorough)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 ok", [("card_number", "4111 1111 1111 1111")]),
        ("card 5500-0000-0000-0004", [("card_number", "5500-0000-0000-0004")]),
        ("card 4111.1111.1111.1111.", [("card_number", "4111.1111.1111.1111")]),
        ("card4111111111111111", [("card_number", "4111111111111111")]),
        ("CVC: 4321 thanks", [("card_security_code", "4321")]),
        ("Kartenprüfnummer 987", [("card_security_code", "987")]),
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", [("iban", "DE89 3704 0044 0532 0130 00")]),
        ("GB82WEST12345698765432", [("iban", "GB82WEST12345698765432")]),
        ("me@example.com", [("email", "me@example.com")]),
        ("call +1 (415) 555-2671", [("phone", "+1 (415) 555-2671")]),
        ("SSN 123-45-6789", [("ssn", "123-45-6789")]),
        ("from 192.168.1.20", [("ip_address", "192.168.1.20")]),
        ("from 2001:db8::ff00:42:8329", [("ip_address", "2001:db8::ff00:42:8329")]),
    ],
)
def test_fast_mode_finds_structured_data(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "DE89 3704 0044 0532 0130 01",  # checksum fails (and no card either)
        "SSN 000-12-3456",
        "version 1.2.3 at 10:30:15",
        "order 1234-5678 for $12.50 on 2026-11-23",
        "999.1.1.1",
        "the security code 123456 from the SMS",  # a one-time code, not a card's 3-4 digits
        "delivered on 12.05.2024 at 14.30, total 1.234.567,89",
    ],
)
def test_fast_mode_rejects_lookalikes(text: str) -> None:
    assert spans(text) == []


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000") and not iban_valid("DE89370400440532013001")
    assert not iban_valid("XX89370400440532013000")


def test_redact_thorough_adds_names_and_places() -> None:
    text = "Hi, I am John Smith from Berlin, email john@example.com, card 4111 1111 1111 1111"
    assert redact(text) == "Hi, I am [PERSON] from [LOCATION], email [EMAIL], card [CARD_NUMBER]"
    fast = redact(text, thorough=False)
    assert "John Smith" in fast and "[EMAIL]" in fast and "[CARD_NUMBER]" in fast


def test_thorough_mode_is_offline(monkeypatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("personal-data detection tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    found = find_personal_data("Maria Garcia in Madrid wrote from maria@example.es", thorough=True)
    assert {p.kind for p in found} >= {"person", "location", "email"}


def test_spans_do_not_overlap() -> None:
    found = find_personal_data("mail a.b@example.com or +49 30 1234567 / 4111111111111111", True)
    for left, right in itertools.pairwise(found):
        assert left.end <= right.start
    assert all(isinstance(p, PersonalData) for p in found)


def test_redact_without_personal_data_is_identity() -> None:
    assert redact("my order has not arrived", thorough=False) == "my order has not arrived"
    assert redact("") == ""


@pytest.mark.parametrize(
    ("text", "masked", "expected"),
    [
        ("my card is 4111 1111 1111 1111", (), True),
        ("IBAN DE89 3704 0044 0532 0130 00 please", (), True),
        # Masked before it was stored: only the mask is left, the kinds say what it was.
        ("my card is •••• •••• •••• 1111", ("card_number",), True),
        ("write to a•••@example.com", ("email",), False),
        ("where is order NW-123456?", (), False),
        ("what's the weather like", (), False),
    ],
)
def test_shares_payment_data(text: str, masked: tuple[str, ...], expected: bool) -> None:
    assert shares_payment_data(text, masked) is expected
