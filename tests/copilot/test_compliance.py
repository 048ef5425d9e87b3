"""Draft checks: payment data, forbidden promises, required wording, and rule validation."""

from __future__ import annotations

import pytest

from tandem.copilot.compliance import (
    ComplianceRules,
    Flag,
    check_draft,
    has_blocking,
    overridable,
)
from tandem.core.errors import ValidationError
from tandem.privacy.detect import iban_valid, luhn_valid

DEFAULTS = ComplianceRules()
NO_PHRASES = ComplianceRules(forbidden_phrases=())


def codes(text: str, rules: ComplianceRules = NO_PHRASES) -> list[str]:
    return [f.code for f in check_draft(text, rules)]


@pytest.mark.parametrize(
    ("number", "network"),
    [
        ("4111 1111 1111 1111", "Visa"),
        ("4111-1111-1111-1111", "Visa"),
        ("4111111111111111", "Visa"),
        ("4012 8888 8888 1881", "Visa"),
        ("4222222222222", "Visa"),  # 13-digit Visa test number
        ("5555 5555 5555 4444", "Mastercard"),
        ("5105-1051-0510-5100", "Mastercard"),
        ("2223 0031 2200 3222", "Mastercard"),
        ("3782 822463 10005", "American Express"),
        ("371449635398431", "American Express"),
        ("6011 1111 1111 1117", "Discover"),
        ("3056 9309 0259 04", "Diners Club"),
        ("3530 1113 3330 0000", "JCB"),
        ("6200 0000 0000 0005", "UnionPay"),
        ("4111\u00a01111\u00a01111\u00a01111", "Visa"),  # non-breaking spaces from a paste
    ],
)
def test_card_numbers_are_blocked_with_their_span_and_no_full_number_in_the_message(
    number: str, network: str
) -> None:
    text = f"Thanks! I charged the card {number}. Anything else?"
    flags = [f for f in check_draft(text, DEFAULTS) if f.code == "card_number"]
    assert len(flags) == 1, flags
    flag = flags[0]
    assert flag.severity == "block"
    assert text[flag.start : flag.end] == number
    assert network in flag.message
    digits = "".join(ch for ch in number if ch.isdigit())
    assert f"ending in {digits[-4:]}" in flag.message
    assert digits not in flag.message.replace(" ", "")
    assert has_blocking([flag])


@pytest.mark.parametrize(
    "text",
    [
        "card:4111111111111111, exp 12/27",
        "(4111 1111 1111 1111)",
        "4111 1111 1111 1111 12 27",  # expiry digits glued on with the same separator
        "Card number\n5555-5555-5555-4444\nthanks",
    ],
)
def test_cards_are_found_inside_surrounding_text(text: str) -> None:
    assert "card_number" in codes(text)


@pytest.mark.parametrize(
    "number",
    ["4111 1111 1111 1112", "5555555555554445", "1234 5678 9012 3456", "3782 822463 10006"],
)
def test_numbers_failing_luhn_are_not_cards(number: str) -> None:
    assert "card_number" not in codes(f"The number is {number}")


@pytest.mark.parametrize(
    "text",
    [
        "Your order 113542617735902 was cancelled.",  # 15 digits, like the Bitext order ids
        "I can see purchase 00004587345 in our system.",
        "Order #NW-482913 shipped today.",
        "order number 1234567890123 is on its way",
        "The tracking number is 1Z999AA10123456784.",
        "Call us on +1 (555) 123-4567 or +44 20 7946 0958.",
        "We refunded $1,234,567.89 on 2024-05-01.",
    ],
)
def test_order_tracking_phone_money_and_dates_are_not_flagged(text: str) -> None:
    assert codes(text) == []


def test_luhn_and_iban_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("DE89370400440532013001")  # checksum
    assert not iban_valid("DE8937040044053201300")  # German IBANs have 22 characters


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
        "GB82WEST12345698765432",
    ],
)
def test_valid_ibans_are_blocked(iban: str) -> None:
    text = f"Please transfer it to {iban} today."
    flags = [f for f in check_draft(text, DEFAULTS) if f.code == "iban"]
    assert len(flags) == 1
    assert flags[0].severity == "block"
    assert text[flags[0].start : flags[0].end] == iban
    assert "IBAN" in flags[0].message


@pytest.mark.parametrize(
    "iban", ["DE89 3704 0044 0532 0130 01", "GB82 WEST 1234 5698 7654 33", "XX00 1234 5678 9012"]
)
def test_invalid_ibans_are_not_reported_as_ibans(iban: str) -> None:
    assert "iban" not in codes(f"Account {iban}")


def test_bank_account_numbers_with_context_are_blocked_and_bare_long_runs_warned() -> None:
    flags = check_draft("Bank account: 12345678, sort code 12-34-56", NO_PHRASES)
    assert [f.code for f in flags] == ["bank_account_number", "bank_account_number"]
    assert all(f.severity == "block" for f in flags)
    warned = check_draft("The reference is 9876543210123.", NO_PHRASES)
    assert [(f.code, f.severity) for f in warned] == [("possible_account_number", "warn")]
    assert not has_blocking(warned)
    assert codes("Your code is 123456.") == []  # short numbers are fine


def test_payment_data_always_blocks_and_can_never_be_overridden() -> None:
    rules = ComplianceRules(allow_supervisor_override=True)
    flags = check_draft("4111 1111 1111 1111", rules)
    assert [(f.code, f.severity) for f in flags] == [("card_number", "block")]
    assert not overridable(flags)
    promise = check_draft("I guarantee it", rules)
    assert has_blocking(promise) and overridable(promise)


@pytest.mark.parametrize(
    "text",
    [
        "I can't guarantee it arrives before Saturday.",
        "I can’t guarantee it arrives before Saturday.",
        "We cannot promise a date, sorry.",
        "I do not guarantee anything beyond the policy.",
        "Unfortunately we are unable to offer a 100% refund.",
        "I won't promise what I can't keep.",
    ],
)
def test_a_negated_promise_is_not_a_forbidden_phrase(text: str) -> None:
    assert codes(text, DEFAULTS) == []


@pytest.mark.parametrize(
    "text",
    [
        "I guarantee it arrives before Saturday.",
        "No problem, I guarantee it arrives before Saturday.",  # the "no" is another clause
        "It is not cheap, but I guarantee you will love it.",  # "but" starts a new promise
        "I promise it won't happen again.",  # the cue comes after "promise"
    ],
)
def test_a_promise_outside_the_negation_is_still_blocked(text: str) -> None:
    assert "forbidden_phrase" in codes(text, DEFAULTS)


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("We GUARANTEE delivery by Friday.", "GUARANTEE"),
        ("Delivery is guaranteed.", "guaranteed"),
        ("You will get a 100 % refund.", "100 % refund"),
        ("You will get a 100%refund.", "100%refund"),
        ("We  promise it's sorted.", "We  promise"),
        ("we\npromise", "we\npromise"),
        ("This will never happen again.", "never happen again"),
        ("It won’t happen again.", "won’t happen again"),
    ],
)
def test_default_forbidden_promises_match_any_case_and_spacing(text: str, matched: str) -> None:
    flags = [f for f in check_draft(text, DEFAULTS) if f.code == "forbidden_phrase"]
    assert len(flags) == 1
    assert text[flags[0].start : flags[0].end] == matched
    assert flags[0].severity == "block"
    assert matched in flags[0].message


def test_phrases_match_whole_words_only() -> None:
    rules = ComplianceRules(forbidden_phrases=("ban",))
    assert codes("No banana in urban areas.", rules) == []
    assert codes("We will ban it.", rules) == ["forbidden_phrase"]
    assert codes("We promised to call back.", DEFAULTS) == []


def test_required_wording_must_appear() -> None:
    rules = ComplianceRules(forbidden_phrases=(), required_phrases=("Kind regards, Northwind",))
    missing = check_draft("Your refund is on its way.", rules)
    assert [(f.code, f.start, f.end) for f in missing] == [("missing_required_wording", None, None)]
    assert "Kind regards, Northwind" in missing[0].message
    assert has_blocking(missing)
    assert check_draft("Done.\nkind  regards,Northwind", rules) == []


def test_flags_come_in_text_order_with_unplaced_flags_last() -> None:
    rules = ComplianceRules(required_phrases=("Best,",))
    flags = check_draft("We guarantee it. Card 4111 1111 1111 1111.", rules)
    assert [f.code for f in flags] == [
        "forbidden_phrase",
        "card_number",
        "missing_required_wording",
    ]
    assert isinstance(flags[0], Flag)


def test_rules_from_settings_defaults_and_round_trip() -> None:
    assert ComplianceRules.from_settings(None) == DEFAULTS
    assert "guarantee*" in DEFAULTS.forbidden_phrases
    custom = ComplianceRules.from_settings(
        {"forbidden_phrases": ["  free   money ", "Free money"], "required_phrases": ["Bye"]}
    )
    assert custom.forbidden_phrases == ("free money",)  # tidied and deduplicated
    assert custom.allow_supervisor_override is False
    assert ComplianceRules.from_settings(custom.as_dict()) == custom


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("guarantee", "must be an object"),
        ({"forbidden": []}, "unknown compliance setting"),
        ({"forbidden_phrases": "guarantee"}, "must be a list"),
        ({"forbidden_phrases": [""]}, "forbidden_phrases[0] must be a non-empty string"),
        ({"required_phrases": ["ok", 3]}, "required_phrases[1]"),
        ({"required_phrases": ["!!!"]}, "letter or digit"),
        ({"forbidden_phrases": ["x" * 201]}, "longer than 200"),
        ({"forbidden_phrases": [f"p{i}" for i in range(101)]}, "limit is 100"),
        ({"allow_supervisor_override": "yes"}, "true or false"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(value: object, needle: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ComplianceRules.from_settings(value)
    assert needle in raised.value.message
