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
from tandem.privacy.detect import (
    BANK_ACCOUNT,
    CARD_CODE,
    CARD_NUMBER,
    IBAN,
    digit_runs,
    find_payment_data,
)
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
SETTINGS_KEYS = frozenset({"forbidden_phrases", "required_phrases", "allow_supervisor_override"})
# Flags that no one may override: payment data must never reach a customer or the database.
NEVER_OVERRIDDEN = frozenset({"card_number", "iban", "bank_account_number"})

# Numbers that other checks explain (an order number is not an account number). Only order and
# tracking references excuse a card-shaped number: the entity extractor already refuses cards.
_REFERENCE_KINDS = frozenset({"order_number", "tracking_number"})
_EXPLAINED_ENTITY_KINDS = frozenset({"order_number", "tracking_number", "phone", "date", "money"})
_LONG_RUN_MIN_DIGITS = 9


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
    # Payment data in a reply always blocks (it would reach the customer and the database).
    # A supervisor (or admin) may send a blocked reply with a stated reason, which is audited.
    allow_supervisor_override: bool = False

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
        override = value.get("allow_supervisor_override", False)
        if not isinstance(override, bool):
            raise ValidationError("allow_supervisor_override must be true or false")
        return cls(
            forbidden_phrases=_phrases(value, "forbidden_phrases", DEFAULT_FORBIDDEN_PHRASES),
            required_phrases=_phrases(value, "required_phrases", ()),
            allow_supervisor_override=override,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the rules as workspace settings store them."""
        return {
            "forbidden_phrases": list(self.forbidden_phrases),
            "required_phrases": list(self.required_phrases),
            "allow_supervisor_override": self.allow_supervisor_override,
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
    payment = list(_payment_data(text, references))
    flags.extend(payment)
    taken = [(f.start or 0, f.end or 0) for f in payment]
    explained = [(e.start, e.end) for e in entities if e.kind in _EXPLAINED_ENTITY_KINDS]
    flags.extend(f for f in _long_numbers(text, explained) if not _overlaps(f, taken))
    for phrase in rules.forbidden_phrases:
        for m in phrase_pattern(phrase).finditer(text):
            if is_negated(text, m.start()):
                continue  # "I can't guarantee it arrives by Saturday" promises nothing
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


def overridable(flags: Sequence[Flag]) -> bool:
    """Return whether a supervisor may send despite these flags (never with payment data)."""
    return not any(f.severity == "block" and f.code in NEVER_OVERRIDDEN for f in flags)


# --- negation -----------------------------------------------------------------------------

# A negation cue shortly before a phrase, in the same clause, turns a promise into its opposite.
_NEGATION_CUES = re.compile(
    r"(?<!\w)(?:not|no|never|cannot|can[\'’]?t|won[\'’]?t|don[\'’]?t|doesn[\'’]?t|didn[\'’]?t|"
    r"isn[\'’]?t|aren[\'’]?t|couldn[\'’]?t|wouldn[\'’]?t|shouldn[\'’]?t|unable|impossible|"
    r"nicht|kein\w*|nie|niemals|ne|n[\'’]|pas|jamais|nunca|tampoco)(?!\w)"
    r"|\w+n[\'’]t(?!\w)",
    re.IGNORECASE,
)
# Where a clause starts again: punctuation, or a contrast that can carry a new promise.
_CLAUSE_BREAK = re.compile(
    r"[.;:!?,\n]|(?<!\w)(?:but|however|though|although|aber|doch|mais|pero|sino)(?!\w)",
    re.IGNORECASE,
)
_NEGATION_WINDOW_WORDS = 5


def is_negated(text: str, start: int) -> bool:
    """Return whether the words just before `start`, in the same clause, negate what follows.

    "I can't guarantee it", "we do not promise", "ich kann nicht garantieren", "je ne peux pas
    garantir" are negated; "I guarantee it, no questions asked" and "No problem, I promise" are
    not (the cue is after the phrase, or in an earlier clause).
    """
    before = text[max(0, start - 80) : start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    words = re.findall(r"[\w\'’]+", clause)[-_NEGATION_WINDOW_WORDS:]
    return any(_NEGATION_CUES.fullmatch(w) for w in words)


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

_PAYMENT_MESSAGES = {
    CARD_NUMBER: "Remove the {network} card number ending in {last4}: never write full card "
    "numbers; refer to the last 4 digits only.",
    IBAN: "Remove the IBAN ending in {last4}: never write full bank account numbers; refer to "
    "the last 4 digits only.",
    BANK_ACCOUNT: "Remove the bank account number ending in {last4}: never write full account "
    "numbers; refer to the last 4 digits only.",
    CARD_CODE: "Remove the card security code: never write or ask for it.",
}


def _payment_data(text: str, references: Sequence[tuple[int, int]]) -> Iterator[Flag]:
    for found in find_payment_data(text, references):
        message = _PAYMENT_MESSAGES[found.kind].format(network=found.network, last4=found.last4)
        yield Flag(found.kind, "block", message, found.start, found.end)


def _long_numbers(text: str, explained: Sequence[tuple[int, int]]) -> Iterator[Flag]:
    for start, end, digits in digit_runs(text):
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
