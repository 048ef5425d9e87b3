"""Shared helpers for the triage signals: text folding, the shared embedding, exemplar banks."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import numpy as np

EMBEDDER_NAME = "use-m3"
# Long messages are cut before embedding: the gist of a support message is in its opening, and
# USE cost grows with length. Callers that pass their own vector are not affected.
MAX_EMBED_CHARS = 2000

# Pattern detectors read at most this much of a message: its opening and its closing lines
# (see head_tail), where support customers put the request and the threat. Keeps the p95
# latency of all signals within budget on long emails (~1.5 ms per 1000 scanned characters).
MAX_SCORED_CHARS = 1200


def _fold_table() -> dict[int, str]:
    # One C-speed str.translate instead of NFKD plus a Python loop per character: accented
    # Latin letters (the languages the patterns cover) map to their base letters.
    table = {ord(k): v for k, v in {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"}.items()}
    for code in range(0xC0, 0x250):
        base = "".join(
            ch for ch in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(ch)
        )
        if base != chr(code):
            table[code] = base
    table[0xDF] = "ss"  # German sharp s
    return table


_FOLD_TABLE = _fold_table()
_TAG = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")


def strip_accents(text: str) -> str:
    """Return text without combining marks (é -> e, ü -> u), keeping other characters."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def head_tail(text: str, limit: int = MAX_SCORED_CHARS) -> str:
    """Return the text, or its opening and its last quarter when longer than limit."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return text[: limit - tail] + " \n " + text[-tail:]


def fold_message(text: str) -> str:
    """Fold the scored part of a message (see head_tail) for pattern matching."""
    return fold(head_tail(text))


@lru_cache(maxsize=64)
def fold(text: str) -> str:
    """Return the text lower-cased, accent-free, tag-free and single-spaced for matching."""
    # Cached: every detector folds the same message, and the pipeline calls them in turn.
    text = _TAG.sub(" ", text.translate(_FOLD_TABLE).lower())
    return _SPACE.sub(" ", text).strip()


def compile_folded(pattern: str) -> re.Pattern[str]:
    """Compile a lower-case pattern written with accents so that it matches folded text."""
    # Folded text is already lower-case, so no IGNORECASE: it makes every alternative slower.
    return re.compile(strip_accents(pattern))


def compile_any(patterns: Sequence[str]) -> re.Pattern[str]:
    """Compile alternatives, each starting at a word, into one folded regex."""
    # The guard lets the engine skip mid-word positions once instead of once per alternative:
    # it makes a long message three times cheaper to scan. Same matches, since every
    # alternative begins with \b and a word character (or ^).
    alternatives = "|".join(f"(?:{p})" for p in patterns)
    return compile_folded(rf"(?:^|(?<=\W)(?=\w))(?:{alternatives})")


def ramp(value: float, low: float, high: float) -> float:
    """Map value linearly onto 0..1 between low and high, clipped."""
    if high <= low:
        raise ValueError("ramp needs low < high")
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


def embed_text(text: str) -> np.ndarray:
    """Embed one message with the shared multilingual encoder (the pipeline normally does this)."""
    from tandem.triage.embedders import get_embedder

    return get_embedder(EMBEDDER_NAME).encode([text[:MAX_EMBED_CHARS]])[0]


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Embed several messages with the shared encoder, as a (n, dim) array."""
    from tandem.triage.embedders import get_embedder

    return get_embedder(EMBEDDER_NAME).encode([t[:MAX_EMBED_CHARS] for t in texts])


def ensure_vector(text: str, vector: np.ndarray | None) -> np.ndarray:
    """Return the caller's vector as float32, or embed the text when none was given."""
    if vector is None:
        return embed_text(text)
    array = np.asarray(vector, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError("vector contains NaN or infinity")
    return array


@cache
def load_exemplars() -> dict[str, Any]:
    """Return the packaged exemplar sentences (exemplars.json)."""
    raw = resources.files(__package__).joinpath("exemplars.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data


class ExemplarBank:
    """Labelled exemplar sentences embedded once, lazily, and compared by cosine similarity."""

    def __init__(self, groups: Mapping[str, Sequence[str]], top_k: int = 2) -> None:
        self._groups = {label: list(texts) for label, texts in groups.items() if texts}
        self._top_k = top_k
        self._lock = threading.Lock()
        self._matrix: np.ndarray | None = None
        self._slices: dict[str, slice] = {}

    @property
    def labels(self) -> list[str]:
        """Return the group labels in insertion order."""
        return list(self._groups)

    def _ensure(self) -> np.ndarray:
        if self._matrix is None:
            with self._lock:
                if self._matrix is None:
                    texts: list[str] = []
                    for label, group in self._groups.items():
                        self._slices[label] = slice(len(texts), len(texts) + len(group))
                        texts.extend(group)
                    self._matrix = embed_texts(texts)
        return self._matrix

    def similarities(self, vector: np.ndarray) -> dict[str, float]:
        """Return, per label, the mean of the top-k cosine similarities to its exemplars."""
        matrix = self._ensure()
        if vector.shape[0] != matrix.shape[1]:
            raise ValueError(f"vector has {vector.shape[0]} dims, exemplars have {matrix.shape[1]}")
        sims = matrix @ vector.astype(np.float32, copy=False)
        result: dict[str, float] = {}
        for label, part in self._slices.items():
            group = sims[part]
            k = min(self._top_k, group.shape[0])
            result[label] = float(np.mean(np.partition(group, -k)[-k:]))
        return result


# "I don't know how to cancel" is not a negation of the request; "I don't want to cancel" is,
# and "I already talked to someone" reports the past rather than asking.
_NEGATION = re.compile(
    r"\b(don't|do not|doesn't|dont|no need to|never|without|not going to|won't|already|no quiero|"
    r"nicht|kein|ne veux pas|non voglio|nao quero|niet|geen)\b"
    r"(?! (know|understand|see|get it|find|recogni[sz]e|authori[sz]e|make|made))"
)
_CLAUSE_BREAK = re.compile(r"[,.;!?]| but | pero | aber | mais | ma | mas | maar ")


def negated_before(folded: str, start: int) -> bool:
    """Tell whether a negation precedes position start within the same clause."""
    # Only the few words right before count: "I don't want this, cancel it" is still a request.
    clause = _CLAUSE_BREAK.split(folded[max(0, start - 25) : start])[-1]
    return bool(_NEGATION.search(clause))


def first_unnegated(pattern: re.Pattern[str], folded: str) -> re.Match[str] | None:
    """Return the first match of pattern that is not negated in its clause."""
    for match in pattern.finditer(folded):
        if not negated_before(folded, match.start()):
            return match
    return None
