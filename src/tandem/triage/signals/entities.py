"""Extract the entities a support agent looks up: orders, tracking, money, dates, contacts."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from tandem.privacy.detect import EMAIL_RE, phone_spans

ORDER_NUMBER = "order_number"
TRACKING_NUMBER = "tracking_number"
MONEY = "money"
DATE = "date"
EMAIL = "email"
PHONE = "phone"
BUILT_IN_KINDS = frozenset({ORDER_NUMBER, TRACKING_NUMBER, MONEY, DATE, EMAIL, PHONE})
MAX_EXTRA_PATTERNS = 50
MAX_PATTERN_LENGTH = 1000


@dataclass(frozen=True)
class Entity:
    """One entity: text[start:end] is the raw span, value its normalised form."""

    kind: str
    value: str
    start: int
    end: int


_ORDER_WORD = (
    r"(?:order|ord|purchase|invoice|bestellung|bestellnummer|auftrag|pedido|commande|ordine|"
    r"encomenda|bestelling|factura|rechnung|facture|fattura)"
)
_ORDER_RE = re.compile(
    rf"\b{_ORDER_WORD}\s*(?:(?:number|no\.?|num\.?|nr\.?|n[°º]|nummer|numero|número|id|ref)\s*)?"
    r"(?:is\s+|es\s+|ist\s+|est\s+)?[:#]?\s*(?P<value>[A-Z0-9][A-Z0-9-]{2,24}[A-Z0-9])\b",
    re.IGNORECASE,
)
_ORDER_PREFIXED = re.compile(r"\b(?P<value>(?:ORD|ORDER|SO|PO|INV)-?[0-9][A-Z0-9-]{2,20})\b")
_HASH_ID = re.compile(r"(?<![\w&])#(?P<value>[A-Z]{0,3}\d[\dA-Z-]{2,15})\b")
_TRACKING_RE = re.compile(
    r"\b(?P<value>1Z[0-9A-Z]{16}|[A-Z]{2}\d{9}[A-Z]{2}|9[2-5]\d{20})\b"
    r"|\b(?:tracking|sendungs|seguimiento|suivi|spedizione|rastreio|track ?(?:and|&) ?trace)"
    r"(?:\s*(?:number|no\.?|nr\.?|nummer|numero|número|code|id|#|n°))?\s*[:#]?\s*"
    r"(?P<ctx>[A-Z0-9]{8,30})\b",
    re.IGNORECASE,
)
_CURRENCY_SYMBOL = r"[$€£¥₹]|US\$|R\$|CHF|USD|EUR|GBP|CAD|AUD|JPY|MXN|BRL|SEK|NOK|DKK|PLN|INR"
_CURRENCY_WORD = r"dollars?|euros?|pounds?|francs?|pesos?|reais|kr|zł|zloty"
_AMOUNT = r"\d{1,3}(?:[,. ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_MONEY_RE = re.compile(
    rf"(?:(?<![\w$])(?:{_CURRENCY_SYMBOL})\s?(?:{_AMOUNT})(?!\d)"
    rf"|(?<![\w.,])(?:{_AMOUNT})\s?(?:{_CURRENCY_SYMBOL}|{_CURRENCY_WORD})(?![A-Za-z]))"
)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|enero|febrero|marzo|abril|mayo|"
    r"junio|julio|agosto|septiembre|octubre|noviembre|diciembre|januar|februar|märz|mai|juni|"
    r"juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|"
    r"novembre|décembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre"
)
_WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATE_RE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b"
    r"|\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b(?![./]\d)"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th|\.)?\s(?:of\s|de\s)?(?:{_MONTHS})\.?(?:,?\s(?:de\s)?\d{{4}})?\b"
    rf"|\b(?:{_MONTHS})\.?\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?\b"
    rf"|\b(?:today|yesterday|tomorrow|(?:last|next|this|on)\s(?:{_WEEKDAYS}|week|month|year)"
    r"|\d+\s(?:days?|weeks?|months?)\sago|(?:two|three|four|five|a few|several)\s(?:days|weeks)"
    r"\sago|ayer|hoy|anteayer|gestern|heute|vorgestern|hier|aujourd'hui|avant-hier|ieri|oggi|"
    r"ontem|hoje|gisteren|vandaag|eergisteren)\b",
    re.IGNORECASE,
)


def _at_word_starts(regex: re.Pattern[str]) -> re.Pattern[str]:
    # Every alternative starts with \b and a word character; checking that once per position
    # instead of once per alternative makes long messages about three times cheaper to scan.
    return re.compile(rf"(?:^|(?<=\W)(?=\w))(?:{regex.pattern})", regex.flags)


_ORDER_RE = _at_word_starts(_ORDER_RE)
_TRACKING_RE = _at_word_starts(_TRACKING_RE)
_DATE_RE = _at_word_starts(_DATE_RE)
_KIND_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# When spans overlap, the earlier kind in this list wins (a workspace's own patterns first).
_PRIORITY = ("extra", EMAIL, TRACKING_NUMBER, ORDER_NUMBER, MONEY, DATE, PHONE)


def _span(m: re.Match[str], group: str | None = None) -> tuple[str, int, int]:
    if group and m.group(group) is not None:
        return m.group(group), m.start(group), m.end(group)
    return m.group(), m.start(), m.end()


def _orders(text: str) -> Iterator[Entity]:
    for regex in (_ORDER_RE, _ORDER_PREFIXED, _HASH_ID):
        for m in regex.finditer(text):
            value, start, end = _span(m, "value")
            if any(ch.isdigit() for ch in value):
                if regex is _HASH_ID:
                    start -= 1  # keep the '#' in the span, not in the value
                yield Entity(ORDER_NUMBER, value.upper(), start, end)


def _tracking(text: str) -> Iterator[Entity]:
    for m in _TRACKING_RE.finditer(text):
        group = "value" if m.group("value") else "ctx"
        value, start, end = _span(m, group)
        if sum(ch.isdigit() for ch in value) >= 6:
            yield Entity(TRACKING_NUMBER, value.upper(), start, end)


def _built_in(text: str) -> Iterator[tuple[str, Entity]]:
    for m in EMAIL_RE.finditer(text):
        yield EMAIL, Entity(EMAIL, m.group().lower(), m.start(), m.end())
    for entity in _tracking(text):
        yield TRACKING_NUMBER, entity
    for entity in _orders(text):
        yield ORDER_NUMBER, entity
    for m in _MONEY_RE.finditer(text):
        yield MONEY, Entity(MONEY, " ".join(m.group().split()), m.start(), m.end())
    for m in _DATE_RE.finditer(text):
        yield DATE, Entity(DATE, m.group().lower(), m.start(), m.end())
    for start, end in phone_spans(text):
        digits = "".join(ch for ch in text[start:end] if ch.isdigit())
        plus = "+" if text[start] == "+" else ""
        yield PHONE, Entity(PHONE, plus + digits, start, end)


@lru_cache(maxsize=64)
def compile_extra_patterns(
    items: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Validate and compile workspace patterns; raise ValueError naming the bad one."""
    if len(items) > MAX_EXTRA_PATTERNS:
        raise ValueError(f"at most {MAX_EXTRA_PATTERNS} extra entity patterns are allowed")
    compiled = []
    for kind, pattern in items:
        if not isinstance(kind, str) or not _KIND_NAME.fullmatch(kind):
            raise ValueError(f"entity kind {kind!r} must match [a-z][a-z0-9_]{{0,39}}")
        if kind in BUILT_IN_KINDS:
            raise ValueError(f"entity kind {kind!r} is built in; choose another name")
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN_LENGTH:
            raise ValueError(f"pattern for {kind!r} must be 1..{MAX_PATTERN_LENGTH} characters")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern for {kind!r} is not a valid regex: {exc}") from exc
        if regex.fullmatch(""):
            raise ValueError(f"pattern for {kind!r} matches the empty string")
        compiled.append((kind, regex))
    return tuple(compiled)


def extract_entities(text: str, extra_patterns: Mapping[str, str] | None = None) -> list[Entity]:
    """Return non-overlapping entities in text order; extra_patterns maps kind -> regex."""
    extras = compile_extra_patterns(tuple(sorted((extra_patterns or {}).items())))
    candidates: list[tuple[int, Entity]] = []
    for kind, regex in extras:
        for m in regex.finditer(text):
            value, start, end = _span(m, "value" if "value" in regex.groupindex else None)
            if end > start:
                candidates.append((0, Entity(kind, value, start, end)))
    for source, entity in _built_in(text):
        candidates.append((_PRIORITY.index(source), entity))
    kept: list[Entity] = []  # sorted by start and non-overlapping, so bisect finds neighbours
    starts: list[int] = []
    for _, entity in sorted(candidates, key=lambda c: (c[0], c[1].start, c[1].start - c[1].end)):
        i = bisect.bisect_left(starts, entity.start)
        if i > 0 and kept[i - 1].end > entity.start:
            continue
        if i < len(kept) and kept[i].start < entity.end:
            continue
        kept.insert(i, entity)
        starts.insert(i, entity.start)
    return kept
