"""Sentiment and frustration: VADER compound plus a logistic model on the shared embedding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from tandem.triage.signals._common import compile_any, ensure_vector, fold_message, head_tail
from tandem.triage.signals.language import detect_language

MODEL_RESOURCE = "frustration.npz"
# Cues the logistic model learns a weight for, next to the embedding.
CUE_NAMES: tuple[str, ...] = ("caps", "exclaim", "irritation")
# Support-desk priors added to the logit with fixed weights: Reddit comments (the training data)
# never complain about contacting support for the third time, and shout in joy as often as in
# anger, so these weights cannot be learned there. Their effect is measured on support messages
# by scripts/measure_signals.py.
SUPPORT_PRIORS: dict[str, float] = {"repeat_contact": 3.0, "all_caps": 1.5}

# Labels: "frustrated" wins over polarity because it is the one that changes routing.
FRUSTRATED, NEGATIVE, NEUTRAL, POSITIVE = "frustrated", "negative", "neutral", "positive"
_COMPOUND_CUT = 0.05  # VADER's own recommended neutral band
VADER_CHARS = 800  # the part of a long message VADER reads: opening and close
_VADER_WHOLE_CHARS = 300
_VADER_SENTENCES = 12
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_VALENCE_CUT = 0.3  # the embedding valence is smoother than VADER and rarely exactly zero
_LANGUAGE_CONFIDENCE = 0.5  # below this, keep VADER: short texts are mostly English anyway


@dataclass(frozen=True)
class Sentiment:
    """Polarity (-1..1), frustration probability (0..1) and a coarse label."""

    compound: float
    frustration: float
    label: str


# Acronyms are written in capitals without anyone shouting.
_ACRONYMS = frozenset(
    {"USA", "USD", "EUR", "GBP", "API", "PDF", "FAQ", "SMS", "ATM", "VAT", "IBAN", "ISBN", "CEO"}
    | {"LOL", "ASAP", "DHL", "UPS", "USPS", "FEDEX", "TNT", "GPS", "WIFI", "IOS", "CSV", "URL"}
    | {"HTML", "PIN", "OTP", "SIM", "DVD", "NYC", "SSN", "VPN", "PAYPAL", "IMEI", "SKU"}
)
_WORD = re.compile(r"[^\W\d_]{3,}")
_BANG_RUN = re.compile(r"[!?¡¿]*![!?¡¿]*")
_QUESTION_RUN = re.compile(r"\?{2,}")

# Words of irritation that support customers use; folded (accent-free, lower-case) text.
_IRRITATION = compile_any(
    [
        r"\b(ridiculous|unacceptable|outrageous|pathetic|absurd|disgrace(ful)?|appalling)\b",
        r"\b(useless|incompetent|joke|scam|rip ?off|terrible|horrible|awful|worst)\b",
        r"\b(fed up|sick (and tired )?of|had enough|waste of (my )?time|fuming|furious)\b",
        r"\b(wtf|ffs|seriously\?)",
        r"\b(ridiculo|inaceptable|vergonzoso|harto|harta|indignante|pesimo|estafa)\b",
        r"\b(lacherlich|unverschamt|inakzeptabel|frechheit|katastrophe|sauer|zumutung)\b",
        r"\b(ridicule|inadmissible|inacceptable|honteux|scandaleux|marre|arnaque|nul)\b",
        r"\b(ridicolo|inaccettabile|vergognoso|assurdo|stufo|stufa|truffa)\b",
        r"\b(ridiculo|inaceitavel|absurdo|vergonha|palhacada|cansado de)\b",
        r"\b(belachelijk|onacceptabel|schandalig|waardeloos|oplichting)\b",
    ]
)
# Having to come back again is the strongest support-specific frustration marker.
_REPEAT_CONTACT = compile_any(
    [
        r"\b(second|third|fourth|fifth|sixth|\d+(st|nd|rd|th)) time\b",
        r"\b(\d+|two|three|four|five|several|multiple|many|countless) times\b",
        r"\bhow many times\b|\b(yet|once) again\b|\bagain and again\b",
        r"\bstill (waiting|haven't|hasn't|have not|has not|not|no|nothing|can't|cannot)\b",
        r"\b(for|since|over) (\d+|two|three|four|several|many) (days|weeks|months)\b",
        r"\b(llevo|hace) (\d+|dos|tres|un|una) (dias|semanas?|mes|meses)\b|"
        r"\bseit (\d+|zwei|drei|vier|einer|einem) (tagen|wochen?|monaten?)\b|"
        r"\bdepuis (\d+|deux|trois|une|un) (jours|semaines?|mois)\b|"
        r"\bda (\d+|due|tre|una|un) (giorni|settimane?|mesi?)\b|"
        r"\b(ha|faz) (\d+|duas|tres|uma|um) (dias|semanas?|mes|meses)\b|"
        r"\bal (\d+|twee|drie|een) (dagen|weken|week|maanden?)\b",
        r"\b(no ?one|nobody) (has |ever )?(answered|replied|responded|respond|helped|called|gets)",
        r"\b(tercera|cuarta|quinta) vez\b|\b(dos|tres|cuatro|varias) veces\b|\bsigo esperando\b",
        r"\b(zweite|dritte|vierte|funfte)n? mal\b|\b(zwei|drei|vier|mehrere) ?mal\b|"
        r"\bimmer noch (nicht|kein|keine)\b|\bschon wieder\b",
        r"\b(troisieme|quatrieme) fois\b|\b(deux|trois|quatre|plusieurs) fois\b|"
        r"\btoujours pas\b|\bpersonne ne (repond|m'a repondu)",
        r"\b(terza|quarta) volta\b|\b(due|tre|quattro|diverse) volte\b|\bnessuno (mi )?risponde",
        r"\b(terceira|quarta) vez\b|\b(duas|tres|quatro|varias) vezes\b|\bainda nao\b",
        r"\b(derde|vierde) keer\b|\b(twee|drie|vier|meerdere) keer\b|\bnog steeds (geen|niet)\b",
    ]
)


def typographic_cues(text: str) -> np.ndarray:
    """Return the learned cue features (CUE_NAMES order) that embeddings tend to smooth away."""
    text = head_tail(text)
    words = _WORD.findall(text)
    shouted = [w for w in words if w.isupper() and w not in _ACRONYMS]
    caps = 1.0 if _all_caps(text) else min(1.0, len(shouted) / 3)
    bangs = sum(1 for run in _BANG_RUN.findall(text) if len(run) >= 2)
    exclaim = min(1.0, bangs / 2 + 0.25 * len(_QUESTION_RUN.findall(text)))
    irritation = min(1.0, len(_IRRITATION.findall(fold_message(text))) / 2)
    return np.array([caps, exclaim, irritation], dtype=np.float32)


def support_cues(text: str) -> dict[str, float]:
    """Return the support-desk prior cues (SUPPORT_PRIORS keys), each 0 or 1."""
    text = head_tail(text)
    return {
        "repeat_contact": 1.0 if _REPEAT_CONTACT.search(fold_message(text)) else 0.0,
        "all_caps": 1.0 if _all_caps(text) else 0.0,
    }


def _all_caps(text: str) -> bool:
    upper, lower = sum(map(str.isupper, text)), sum(map(str.islower, text))
    return upper + lower >= 10 and upper >= 0.9 * (upper + lower)


class _FrustrationModel:
    """Logistic regression over [embedding, cues] loaded from the packaged .npz."""

    def __init__(self, data: Any) -> None:
        self.coef = np.asarray(data["coef"], dtype=np.float32)
        self.intercept = float(data["intercept"])
        self.threshold = float(data["threshold"])
        self.dim = int(data["embedding_dim"])
        self.cue_names = tuple(str(n) for n in data["cue_names"])
        if self.cue_names != CUE_NAMES or self.coef.shape[0] != self.dim + len(CUE_NAMES):
            raise RuntimeError(f"{MODEL_RESOURCE} does not match this code; retrain it")
        self.valence_coef = np.asarray(data["valence_coef"], dtype=np.float32)
        self.valence_intercept = np.asarray(data["valence_intercept"], dtype=np.float32)
        if tuple(str(c) for c in data["valence_classes"]) != ("negative", "neutral", "positive"):
            raise RuntimeError(f"{MODEL_RESOURCE} has unexpected valence classes; retrain it")

    def valence(self, vector: np.ndarray) -> float:
        """Return P(positive) - P(negative) from the 3-class valence model."""
        logits = self.valence_coef @ vector + self.valence_intercept
        proba = np.exp(logits - logits.max())
        proba /= proba.sum()
        return float(proba[2] - proba[0])

    def logit(self, vector: np.ndarray, cues: np.ndarray) -> float:
        if vector.shape[0] != self.dim:
            raise ValueError(f"vector has {vector.shape[0]} dims, the model expects {self.dim}")
        learned = float(self.coef[: self.dim] @ vector) + float(self.coef[self.dim :] @ cues)
        return learned + self.intercept


@cache
def _model() -> _FrustrationModel:
    resource = resources.files(__package__).joinpath(MODEL_RESOURCE)
    with resource.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        return _FrustrationModel(data)


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _vader_compound(text: str) -> float:
    # VADER is quadratic in the words of one text; long messages are scored sentence by
    # sentence and averaged, as VADER's authors suggest for paragraphs.
    text = head_tail(text, VADER_CHARS)
    if len(text) <= _VADER_WHOLE_CHARS:
        return float(_vader().polarity_scores(text)["compound"])
    sentences = [s for s in _SENTENCE_END.split(text) if any(ch.isalpha() for ch in s)]
    scores = [_vader().polarity_scores(s)["compound"] for s in sentences[:_VADER_SENTENCES]]
    return float(np.mean(scores)) if scores else 0.0


def model_metadata() -> dict[str, str]:
    """Return the training metadata stored with the frustration model."""
    resource = resources.files(__package__).joinpath(MODEL_RESOURCE)
    with resource.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        return {k: str(data[k]) for k in data.files if data[k].ndim == 0}


def frustration_threshold() -> float:
    """Return the decision threshold chosen on validation data at training time."""
    return _model().threshold


def score_frustration(text: str, vector: np.ndarray | None = None) -> float:
    """Return the probability (0..1) that the message expresses anger or annoyance."""
    if not text.strip():
        return 0.0
    logit = _model().logit(ensure_vector(text, vector), typographic_cues(text))
    logit += sum(SUPPORT_PRIORS[name] * value for name, value in support_cues(text).items())
    return float(1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0))))


def score_sentiment(
    text: str, vector: np.ndarray | None = None, language: str | None = None
) -> Sentiment:
    """Score polarity (VADER for English) and frustration (embedding model, any language)."""
    if not text.strip():
        return Sentiment(compound=0.0, frustration=0.0, label=NEUTRAL)
    vector = ensure_vector(text, vector)
    if language is None:
        language, confidence = detect_language(text)
        if confidence < _LANGUAGE_CONFIDENCE:
            language = None
    if language in (None, "en"):
        compound = _vader_compound(text)
        cut = _COMPOUND_CUT
    else:
        # VADER reads English words only ("die" in German scores as death).
        compound = _model().valence(vector)
        cut = _VALENCE_CUT
    frustration = score_frustration(text, vector)
    if frustration >= _model().threshold:
        label = FRUSTRATED
    elif compound <= -cut:
        label = NEGATIVE
    elif compound >= cut:
        label = POSITIVE
    else:
        label = NEUTRAL
    return Sentiment(compound=round(compound, 4), frustration=round(frustration, 4), label=label)
