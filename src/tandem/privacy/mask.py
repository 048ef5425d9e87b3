"""Mask payment and personal data before a text is stored: the only form that ever reaches disk.

Card numbers are always masked (PCI DSS: a stored PAN shows at most the first 6 and last 4
digits; we keep the last 4), and so are card security codes (never stored, not even in part).
A workspace may mask more kinds (IBANs, bank account numbers, email addresses, phone numbers)
with its `privacy.mask` setting.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import get_args

from tandem.privacy.detect import (
    BANK_ACCOUNT,
    CARD_CODE,
    CARD_NUMBER,
    EMAIL,
    EMAIL_RE,
    IBAN,
    PHONE,
    PersonalData,
    find_payment_data,
    phone_spans,
    resolve_overlaps,
)
from tandem.triage.signals.entities import extract_entities
from tandem.workspaces.settings import MaskKind

ALWAYS_MASKED = frozenset({CARD_NUMBER, CARD_CODE})
MASKABLE = frozenset(get_args(MaskKind))
MASK_CHAR = "•"
_REFERENCE_KINDS = frozenset({"order_number", "tracking_number"})


@dataclass(frozen=True)
class MaskedText:
    """A text with its sensitive parts masked, and which kinds were found (in text order)."""

    text: str
    kinds: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Return whether anything was masked."""
        return bool(self.kinds)


def masked_kinds(extra: Iterable[str] = ()) -> frozenset[str]:
    """Return the kinds a workspace masks: card numbers always, plus its `privacy.mask` list."""
    return ALWAYS_MASKED | frozenset(extra)


def mask_text(text: str, kinds: Collection[str] = ALWAYS_MASKED) -> MaskedText:
    """Return the text with every span of the given kinds masked (card numbers always)."""
    wanted = ALWAYS_MASKED | frozenset(kinds)
    references = [(e.start, e.end) for e in extract_entities(text) if e.kind in _REFERENCE_KINDS]
    spans = [
        PersonalData(p.kind, p.start, p.end)
        for p in find_payment_data(text, references)
        if p.kind in wanted
    ]
    if EMAIL in wanted:
        spans.extend(PersonalData(EMAIL, m.start(), m.end()) for m in EMAIL_RE.finditer(text))
    if PHONE in wanted:
        spans.extend(PersonalData(PHONE, s, e) for s, e in phone_spans(text))
    if not spans:
        return MaskedText(text)
    parts: list[str] = []
    last = 0
    found: list[str] = []
    for span in resolve_overlaps(spans):
        parts.append(text[last : span.start])
        parts.append(_mask(span.kind, text[span.start : span.end]))
        last = span.end
        found.append(span.kind)
    parts.append(text[last:])
    return MaskedText("".join(parts), found)


def _mask(kind: str, raw: str) -> str:
    if kind == EMAIL:
        local, _, domain = raw.partition("@")
        return f"{local[:1]}{MASK_CHAR * 3}@{domain}"
    if kind == CARD_CODE:
        return MASK_CHAR * len(raw)  # never any of it
    keep = 4 if kind in (CARD_NUMBER, IBAN, BANK_ACCOUNT) else 2
    lead = 2 if kind == IBAN else 0  # the country code says which bank system, not whose account
    alnum = [i for i, ch in enumerate(raw) if ch.isalnum()]
    visible = set(alnum[:lead]) | set(alnum[-keep:])
    return "".join(
        ch if (i in visible or not ch.isalnum()) else MASK_CHAR for i, ch in enumerate(raw)
    )


CARD_NOTICE = {
    "en": "For your security we hid the card number you sent. Please never send card details "
    "in a message: we will never ask for them here.",
    "de": "Zu Ihrer Sicherheit haben wir die gesendete Kartennummer unkenntlich gemacht. Bitte "
    "senden Sie nie Kartendaten in einer Nachricht: Wir fragen hier nie danach.",
    "fr": "Pour votre sécurité, nous avons masqué le numéro de carte envoyé. N'envoyez jamais "
    "vos données de carte dans un message : nous ne les demanderons jamais ici.",
    "es": "Por su seguridad, hemos ocultado el número de tarjeta que envió. No envíe nunca datos "
    "de su tarjeta en un mensaje: nunca se los pediremos aquí.",
}


# Among the notice languages only, the bar the front line uses for a narrowed guess.
_NOTICE_LANGUAGE_TRUST = 0.9


def card_notice(text: str, known: str | None = None) -> tuple[str, str]:
    """Return (language, notice) telling a customer not to send card data, in their language.

    The message's language when it is clear; else `known` (the conversation's); else English.
    A masked card says little: "card••••••••••••4444" alone was once told off in French.
    """
    from tandem.triage.signals.language import detect_language

    detected, confidence = detect_language(text, allowed=sorted(CARD_NOTICE))
    if detected is not None and confidence >= _NOTICE_LANGUAGE_TRUST:
        language = detected
    else:
        language = known if known is not None and known in CARD_NOTICE else "en"
    return language, CARD_NOTICE[language]
