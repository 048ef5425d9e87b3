"""Check an agent's draft before it is sent: payment data, forbidden promises, required wording.

Pure functions over plain text and rules, so every check is testable without a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from tandem.core.errors import ValidationError
from tandem.triage.signals.entities import extract_entities

Severity = Literal["block", "warn"]

DEFAULT_FORBIDDEN_PHRASES: tuple[str, ...] = (
    "guarantee*",
    "100% refund",
    "100% money back",
    "full refund, no questions asked",
    "we promise",
    "I promise",
    "never happen again",
    "won't happen again",
)
MAX_PHRASES = 100
MAX_PHRASE_CHARS = 200
SETTINGS_KEYS = frozenset({"forbidden_phrases", "required_phrases", "block_card_numbers"})

# Numbers that other checks explain (an order number is not an account number). Only order and
# tracking references excuse a card-shaped number: the entity extractor already refuses cards.
_REFERENCE_KINDS = frozenset({"order_number", "tracking_number"})
_EXPLAINED_ENTITY_KINDS = frozenset({"order_number", "tracking_number", "phone", "date", "money"})
_LONG_RUN_MIN_DIGITS = 9
_BANK_CONTEXT = re.compile(
    r"(?:bank\s*account|account\s*(?:number|no\.?|nr\.?|#)|acct\.?|routing(?:\s*number)?|"
    r"sort\s*code|bsb|aba|kontonummer|konto|numéro\s*de\s*compte|cuenta|clabe)\W{0,5}$",
    re.IGNORECASE,
)
_DIGIT_RUN = re.compile(r"(?<![\w])\d+(?:[ \u00a0\-]\d+)*(?![\w])")
_DIGITS = re.compile(r"\d+")
_IBAN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \-]?[A-Z0-9]){11,32}")
IBAN_LENGTHS: Mapping[str, int] = {
    "AD": 24, "AE": 23, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26,
    "IT": 27, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "ME": 22, "MT": 31, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}  # fmt: skip


@dataclass(frozen=True)
class Flag:
    """One problem in a draft: what it is, how bad, what to fix, and where (if it has a place)."""

    code: str
    severity: Severity
    message: str
    start: int | None = None
    end: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able record."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class ComplianceRules:
    """A workspace's compliance rules for agent replies."""

    forbidden_phrases: tuple[str, ...] = DEFAULT_FORBIDDEN_PHRASES
    required_phrases: tuple[str, ...] = ()
    block_card_numbers: bool = True

    @classmethod
    def from_settings(cls, value: object) -> ComplianceRules:
        """Build from workspace.settings["compliance"] (None = defaults); raise ValidationError."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise ValidationError("compliance rules must be an object")
        unknown = sorted(str(k) for k in value if k not in SETTINGS_KEYS)
        if unknown:
            allowed = ", ".join(sorted(SETTINGS_KEYS))
            raise ValidationError(f"unknown compliance setting(s) {unknown}; allowed: {allowed}")
        block = value.get("block_card_numbers", True)
        if not isinstance(block, bool):
            raise ValidationError("block_card_numbers must be true or false")
        return cls(
            forbidden_phrases=_phrases(value, "forbidden_phrases", DEFAULT_FORBIDDEN_PHRASES),
            required_phrases=_phrases(value, "required_phrases", ()),
            block_card_numbers=block,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the rules as workspace settings store them."""
        return {
            "forbidden_phrases": list(self.forbidden_phrases),
            "required_phrases": list(self.required_phrases),
            "block_card_numbers": self.block_card_numbers,
        }


def _phrases(value: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = value.get(key)
    if raw is None:
        return default
    if not isinstance(raw, list | tuple):
        raise ValidationError(f"{key} must be a list of phrases")
    if len(raw) > MAX_PHRASES:
        raise ValidationError(f"{key} has {len(raw)} phrases; the limit is {MAX_PHRASES}")
    cleaned: list[str] = []
    for i, phrase in enumerate(raw):
        if not isinstance(phrase, str) or not phrase.strip():
            raise ValidationError(f"{key}[{i}] must be a non-empty string")
        phrase = " ".join(phrase.split())
        if len(phrase) > MAX_PHRASE_CHARS:
            raise ValidationError(f"{key}[{i}] is longer than {MAX_PHRASE_CHARS} characters")
        if not any(ch.isalnum() for ch in phrase):
            raise ValidationError(f"{key}[{i}] must contain a letter or digit")
        if phrase.casefold() not in {c.casefold() for c in cleaned}:
            cleaned.append(phrase)
    return tuple(cleaned)


def check_draft(text: str, rules: ComplianceRules) -> list[Flag]:
    """Return every problem in a draft reply, in text order (flags without a place last)."""
    flags: list[Flag] = []
    entities = extract_entities(text)
    references = [(e.start, e.end) for e in entities if e.kind in _REFERENCE_KINDS]
    payment = list(_payment_data(text, rules, references))
    flags.extend(payment)
    taken = [(f.start or 0, f.end or 0) for f in payment]
    explained = [(e.start, e.end) for e in entities if e.kind in _EXPLAINED_ENTITY_KINDS]
    flags.extend(f for f in _long_numbers(text, explained) if not _overlaps(f, taken))
    for phrase in rules.forbidden_phrases:
        for m in phrase_pattern(phrase).finditer(text):
            flags.append(
                Flag(
                    "forbidden_phrase",
                    "block",
                    f'Remove "{m.group()}": replies must not promise or guarantee what policy '
                    "does not cover (rule: " + phrase + ").",
                    m.start(),
                    m.end(),
                )
            )
    for phrase in rules.required_phrases:
        if phrase_pattern(phrase).search(text) is None:
            flags.append(
                Flag("missing_required_wording", "block", f'Add the required wording "{phrase}".')
            )
    return sorted(flags, key=lambda f: (f.start is None, f.start or 0, f.code))


def has_blocking(flags: Sequence[Flag]) -> bool:
    """Return whether any flag stops the draft from being sent."""
    return any(f.severity == "block" for f in flags)


# --- phrases ------------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+|[^\w\s]")
_APOSTROPHES = "'’‘`´"


@lru_cache(maxsize=1024)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Compile a phrase: case-insensitive, any spacing, whole words; a trailing * = any ending."""
    wildcard = phrase.rstrip().endswith("*")
    tokens = _TOKEN.findall(phrase.rstrip().rstrip("*"))
    parts: list[str] = []
    for i, token in enumerate(tokens):
        if i:
            both_words = token[0].isalnum() and tokens[i - 1][-1].isalnum()
            parts.append(r"\s+" if both_words else r"\s*")
        parts.append(f"[{_APOSTROPHES}]" if token in _APOSTROPHES else re.escape(token))
    body = "".join(parts) + (r"\w*" if wildcard else "")
    head = r"(?<!\w)" if tokens and tokens[0][0].isalnum() else ""
    tail = r"(?!\w)" if tokens and (wildcard or tokens[-1][-1].isalnum()) else ""
    return re.compile(head + body + tail, re.IGNORECASE)


# --- payment data -------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network(digits: str) -> str | None:
    """Return the card network whose number ranges and lengths fit the digits, if any."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "Mastercard"
    if two in (34, 37) and n == 15:
        return "American Express"
    if (four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649) and 16 <= n <= 19:
        return "Discover"
    if (300 <= int(digits[:3]) <= 305 or two in (36, 38, 39)) and 14 <= n <= 19:
        return "Diners Club"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "JCB"
    if two == 62 and 16 <= n <= 19:
        return "UnionPay"
    if (two == 50 or 56 <= two <= 69) and 12 <= n <= 19:
        return "Maestro"
    return None


def iban_valid(iban: str) -> bool:
    """Return whether a compact IBAN has a known length for its country and a valid checksum."""
    iban = iban.upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _payment_data(
    text: str, rules: ComplianceRules, references: Sequence[tuple[int, int]]
) -> Iterator[Flag]:
    ibans = list(_ibans(text))
    yield from ibans
    taken = [(f.start or 0, f.end or 0) for f in ibans]
    for start, end, groups in _digit_runs(text):
        if any(s < end and start < e for s, e in taken):
            continue
        card = _card_in(groups)
        if card is not None and not _inside(card[0], references):
            s, e, digits, network = card
            yield Flag(
                "card_number",
                "block" if rules.block_card_numbers else "warn",
                f"Remove the {network} card number ending in {digits[-4:]}: never write full "
                "card numbers; refer to the last 4 digits only.",
                s,
                e,
            )
            continue
        digits = "".join(d for _, _, d in groups)
        if 6 <= len(digits) <= 34 and _BANK_CONTEXT.search(text[max(0, start - 40) : start]):
            yield Flag(
                "bank_account_number",
                "block",
                f"Remove the bank account number ending in {digits[-4:]}: never write full "
                "account numbers; refer to the last 4 digits only.",
                start,
                end,
            )


def _ibans(text: str) -> Iterator[Flag]:
    for m in _IBAN_CANDIDATE.finditer(text):
        chars = [(i, ch) for i, ch in enumerate(m.group(), start=m.start()) if ch.isalnum()]
        expected = IBAN_LENGTHS.get(m.group()[:2])
        lengths = [expected] if expected else range(min(len(chars), 34), 14, -1)
        for length in lengths:
            if length > len(chars):
                continue
            compact = "".join(ch for _, ch in chars[:length])
            end = chars[length - 1][0] + 1
            if end < len(text) and text[end].isalnum():
                continue  # the candidate runs on into a longer word: not this length
            if iban_valid(compact):
                yield Flag(
                    "iban",
                    "block",
                    f"Remove the IBAN ending in {compact[-4:]}: never write full bank account "
                    "numbers; refer to the last 4 digits only.",
                    m.start(),
                    end,
                )
                break


def _digit_runs(text: str) -> Iterator[tuple[int, int, list[tuple[int, int, str]]]]:
    for m in _DIGIT_RUN.finditer(text):
        offset = m.start()
        groups = [
            (offset + g.start(), offset + g.end(), g.group()) for g in _DIGITS.finditer(m.group())
        ]
        yield m.start(), m.end(), groups


def _card_in(groups: list[tuple[int, int, str]]) -> tuple[int, int, str, str] | None:
    # A run can hold a card and more digits ("4111 1111 1111 1111 12 25"): try every stretch of
    # whole groups, longest first, so separators the writer chose stay meaningful.
    for size in range(len(groups), 0, -1):
        for first in range(len(groups) - size + 1):
            chosen = groups[first : first + size]
            digits = "".join(d for _, _, d in chosen)
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                network = card_network(digits)
                if network is not None:
                    return chosen[0][0], chosen[-1][1], digits, network
    return None


def _long_numbers(text: str, explained: Sequence[tuple[int, int]]) -> Iterator[Flag]:
    for start, end, groups in _digit_runs(text):
        digits = "".join(d for _, _, d in groups)
        if len(digits) >= _LONG_RUN_MIN_DIGITS and not _inside(start, explained):
            yield Flag(
                "possible_account_number",
                "warn",
                f"Check the {len(digits)}-digit number ending in {digits[-4:]}: if it is an "
                "account or card number, remove it or keep only the last 4 digits.",
                start,
                end,
            )


def _inside(start: int, spans: Sequence[tuple[int, int]]) -> bool:
    # A number that starts inside an explained entity belongs to it (an order number, or a phone
    # number whose tail the extractor cut short).
    return any(s <= start < e for s, e in spans)


def _overlaps(flag: Flag, spans: Sequence[tuple[int, int]]) -> bool:
    start, end = flag.start or 0, flag.end or 0
    return any(s < end and start < e for s, e in spans)
