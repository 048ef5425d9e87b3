"""Small talk: is a short message only a greeting, a thank-you or a goodbye?

Nearest neighbour on the signal embedding over the phrases in `data/smalltalk.json` (per kind,
per language) against the built-in background of other messages (`tandem.triage.background`):
a message is small talk when it is short, its nearest neighbour is a phrase rather than a
background line, and it is at least `bar` similar to that phrase. The bar is derived from the
data when first needed, never typed by hand: the lowest similarity at which at most
`MAX_BACKGROUND_RATE` of the background (each line left out of its own neighbours) would be
taken for small talk. "hi, where is my order?" is not small talk: it states a need, so it is far
from every phrase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from tandem.triage.background import background_matrix
from tandem.triage.embedders import nearest_cosine
from tandem.triage.pipeline import SIGNAL_EMBEDDER

KINDS = ("greeting", "thanks", "goodbye")
# Share of background lines (trivia, nonsense, chatter) we accept being greeted back.
MAX_BACKGROUND_RATE = 0.01
LANGUAGE_TIE = 0.02


@dataclass(frozen=True)
class SmallTalk:
    """What a small-talk message is, in which language, and the phrase it is nearest to."""

    kind: str  # one of KINDS
    languages: tuple[str, ...]  # languages with (nearly) as close a phrase, closest first
    similarity: float
    phrase: str


@dataclass(frozen=True)
class SmallTalkModel:
    """The phrases, the background they compete with, and the bar derived from both."""

    phrases: tuple[str, ...]
    kinds: tuple[str, ...]
    languages: tuple[str, ...]
    matrix: np.ndarray  # phrases x dim, unit rows
    background: np.ndarray  # background x dim, unit rows
    bar: float
    max_words: int
    max_chars: int
    loo_recall: float  # share of phrases recognised with themselves left out

    def is_short(self, text: str) -> bool:
        """Return whether a text is no longer than the longest phrase (the short-message guard)."""
        stripped = text.strip()
        return 0 < len(stripped) <= self.max_chars and len(stripped.split()) <= self.max_words

    def detect(self, text: str, vector: np.ndarray) -> SmallTalk | None:
        """Return the small talk a message is, or None when it is anything else."""
        if not self.is_short(text):
            return None
        v = np.asarray(vector, dtype=np.float32)
        sims = self.matrix @ v
        best = int(np.argmax(sims))
        background = float((self.background @ v).max()) if len(self.background) else -1.0
        if sims[best] < self.bar or sims[best] <= background:
            return None
        # "hey" and "merci" are phrases in several languages: keep every one that is as close.
        per_language: dict[str, float] = {}
        for i in np.flatnonzero(sims >= sims[best] - LANGUAGE_TIE):
            lang = self.languages[int(i)]
            per_language[lang] = max(per_language.get(lang, -1.0), float(sims[i]))
        return SmallTalk(
            kind=self.kinds[best],
            languages=tuple(sorted(per_language, key=lambda lang: -per_language[lang])),
            similarity=round(float(sims[best]), 4),
            phrase=self.phrases[best],
        )


def load_phrases() -> list[tuple[str, str, str]]:
    """Return (kind, language, phrase) for every phrase in the shipped list."""
    path = resources.files("tandem.triage") / "data" / "smalltalk.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        (kind, lang, phrase.strip())
        for kind in KINDS
        for lang, phrases in data.get(kind, {}).items()
        for phrase in phrases
        if phrase.strip()
    ]


def choose_bar(background_won: np.ndarray, max_rate: float = MAX_BACKGROUND_RATE) -> float:
    """Return the lowest bar at which at most max_rate of the rows would pass.

    background_won holds, per background row, its similarity to the nearest phrase when that
    phrase is nearer than every other background row (else -inf: it never passes).
    """
    passing = np.sort(background_won[np.isfinite(background_won)])[::-1]
    allowed = int(np.floor(max_rate * len(background_won)))
    if len(passing) <= allowed:
        return 0.0
    return float(np.nextafter(np.float32(passing[allowed]), np.float32(np.inf)))


def build_model(
    phrases: list[tuple[str, str, str]], matrix: np.ndarray, background: np.ndarray
) -> SmallTalkModel:
    """Derive the bar by leave-one-out over the phrases and the background (pure numpy)."""
    to_phrases = nearest_cosine(background, matrix)
    to_background = nearest_cosine(background, background, same=True)
    won = np.where(to_phrases > to_background, to_phrases, -np.inf)
    bar = choose_bar(won)
    own = nearest_cosine(matrix, matrix, same=True)
    own_background = nearest_cosine(matrix, background)
    recall = float(np.mean((own >= bar) & (own > own_background))) if len(own) else 0.0
    return SmallTalkModel(
        phrases=tuple(p for _, _, p in phrases),
        kinds=tuple(k for k, _, _ in phrases),
        languages=tuple(lang for _, lang, _ in phrases),
        matrix=matrix,
        background=background,
        bar=bar,
        max_words=max(len(p.split()) for _, _, p in phrases),
        max_chars=max(len(p) for _, _, p in phrases),
        loo_recall=recall,
    )


@lru_cache(maxsize=1)
def smalltalk_model() -> SmallTalkModel:
    """Return the small-talk model for the signal embedder (built once per process)."""
    from tandem.triage.intent import embed_texts

    phrases = load_phrases()
    matrix = embed_texts(SIGNAL_EMBEDDER, [p for _, _, p in phrases])
    return build_model(phrases, matrix, background_matrix(SIGNAL_EMBEDDER))


def detect_small_talk(text: str, vector: np.ndarray | None) -> SmallTalk | None:
    """Return whether a message is only a greeting, thanks or goodbye (None otherwise)."""
    if vector is None or not text.strip() or len(text) > 200:
        return None  # long messages are never small talk: skip building the model for them
    return smalltalk_model().detect(text, vector)
