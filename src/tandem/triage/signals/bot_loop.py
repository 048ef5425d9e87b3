"""Detect a customer stuck with the bot: asking again, low confidence, or saying so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np

from tandem.triage.signals._common import (
    ExemplarBank,
    compile_any,
    embed_texts,
    fold,
    head_tail,
    load_exemplars,
    ramp,
)

REPHRASED_QUESTION = "rephrased_question"
SAME_INTENT_AGAIN = "same_intent_again"
LOW_CONFIDENCE_STREAK = "low_confidence_streak"
BOT_DISSATISFACTION = "bot_dissatisfaction"

# Cosine similarity between two customer messages, mapped onto 0..1. On Bitext pairs, USE puts
# two wordings of the same need at a median of 0.49 (90th percentile 0.73) and different needs at
# a median of 0.21 (95th percentile 0.43): the score reaches 0.5 at a similarity of 0.675.
REPHRASE_LOW, REPHRASE_HIGH = 0.55, 0.80
SAME_INTENT_MIN_SIMILARITY = 0.45
LOW_CONFIDENCE = 0.5  # a classifier confidence below this counts as "the bot was unsure"
MIN_WORDS = 3  # "hi" / "thanks" twice is not a loop
LOOKBACK_TURNS = 10
DISSATISFIED_SIM_LOW, DISSATISFIED_SIM_HIGH = 0.62, 0.82
REPORT_FROM = 0.3  # a component below this is not named in the reasons


@dataclass(frozen=True, eq=False)
class Turn:
    """One customer message of the conversation and what the bot made of it."""

    text: str
    vector: np.ndarray | None = None
    intent: str | None = None
    confidence: float | None = None
    ai_answered: bool = False


@dataclass(frozen=True)
class BotLoop:
    """How likely (0..1) the customer is going round in circles with the bot, and why."""

    score: float
    reasons: list[str] = field(default_factory=list)


_DISSATISFIED = compile_any(
    [
        r"\b(that'?s|this is|it'?s|thats) not what i (asked|meant|said|wanted)\b",
        r"\b(you'?re|you are|your|this|it|that)( is|'s|s)? (not|no|never) (helping|helpful|useful|"
        r"any help)\b|\b(isn'?t|aren'?t) (helping|helpful|useful)\b|\bunhelpful\b",
        r"\bnothing to do with (my|what)\b|\bkeep (sending|giving|saying|showing)( me)? the same\b",
        r"\b(doesn'?t|does not|didn'?t|did not|don'?t|do not) (answer|help|address|solve|"
        r"understand)\b",
        r"\b(useless|stupid|dumb|pointless|worthless|broken) (bot|robot|chatbot|ai|machine|answer)",
        r"\b(you|bot) (don'?t|do not|doesn'?t|does not|never) (understand|listen|get it|read)\b",
        r"\bi (already|just) (said|told you|asked|explained)\b|\bread my (message|question)\b",
        r"\b(wrong|irrelevant) answer\b|\bsame (answer|thing|link|reply) (again|over)\b|"
        r"\bstop (repeating|sending the same)\b|\bare you (even )?(reading|listening)\b",
        r"\bno es lo que (pregunte|pedi)\b|\bno me (ayudas|ayuda|estas ayudando|sirve)\b|"
        r"\bno (me )?entiendes\b|\bbot inutil\b|\bya te lo (dije|he dicho)\b",
        r"\bdas habe ich nicht gefragt\b|\b(du verstehst|sie verstehen) (mich )?nicht\b|"
        r"\bdas hilft (mir )?nicht\b|\bnutzlose[rs]? bot\b|\bich habe (doch|schon) gesagt\b",
        r"\bce n'est pas ce que j'ai demande\b|\b(vous ne|tu ne) (m'aidez|m'aides|comprenez|"
        r"comprends) pas\b|\bca ne (repond|m'aide) pas\b|\bje l'ai deja dit\b",
        r"\bnon e quello che ho chiesto\b|\bnon mi (stai aiutando|aiuti|aiuta)\b|"
        r"\bnon capisci\b|\bte l'ho gia detto\b",
        r"\bnao (foi|e) isso que (eu )?perguntei\b|\bvoce nao (esta ajudando|entende|ajuda)\b|"
        r"\beu ja disse\b",
        r"\bdat vroeg ik niet\b|\bje (helpt|begrijpt) (me |het )?niet\b|\bnutteloze bot\b|"
        r"\bdat heb ik al gezegd\b",
        r"\bbot inutile\b|\bbot inutil\b|\bbot nutteloos\b",
    ]
)


@cache
def _bank() -> ExemplarBank:
    return ExemplarBank({"dissatisfied": load_exemplars()["bot_dissatisfaction"]})


def _words(text: str) -> int:
    return len(text.split())


def _vectors(turns: Sequence[Turn]) -> list[np.ndarray]:
    missing = [i for i, t in enumerate(turns) if t.vector is None]
    computed = embed_texts([turns[i].text for i in missing]) if missing else None
    result: list[np.ndarray] = []
    for i, turn in enumerate(turns):
        if turn.vector is not None:
            result.append(np.asarray(turn.vector, dtype=np.float32).reshape(-1))
        else:
            assert computed is not None
            result.append(computed[missing.index(i)])
    return result


def _rephrase(history: Sequence[Turn], current: Turn) -> tuple[float, float, bool]:
    """Return (best similarity to an AI-answered turn, its score, same intent seen)."""
    answered = [t for t in history if t.ai_answered and _words(t.text) >= MIN_WORDS]
    if not answered or _words(current.text) < MIN_WORDS:
        return 0.0, 0.0, False
    vectors = _vectors([*answered, current])
    now = vectors[-1]
    sims = [float(v @ now) for v in vectors[:-1]]
    best = max(sims)
    same_intent = current.intent is not None and any(
        t.intent == current.intent and s >= SAME_INTENT_MIN_SIMILARITY
        for t, s in zip(answered, sims, strict=True)
    )
    return best, ramp(best, REPHRASE_LOW, REPHRASE_HIGH), same_intent


def _low_confidence_streak(history: Sequence[Turn], current: Turn) -> int:
    turns = [*history, current] if current.confidence is not None else list(history)
    streak = 0
    for turn in reversed(turns):
        if turn.confidence is None or turn.confidence >= LOW_CONFIDENCE:
            break
        streak += 1
    return streak


def _dissatisfaction(current: Turn, bot_has_answered: bool) -> float:
    text = head_tail(current.text)
    if not any(ch.isalpha() for ch in text):
        return 0.0
    if _DISSATISFIED.search(fold(text)):
        score = 0.85
    else:
        vector = _vectors([current])[0]
        sim = _bank().similarities(vector)["dissatisfied"]
        score = 0.7 * ramp(sim, DISSATISFIED_SIM_LOW, DISSATISFIED_SIM_HIGH)
    # Before the bot has said anything the complaint is about bots in general, not this one.
    return score if bot_has_answered else score * 0.6


def detect_bot_loop(history: Sequence[Turn], current: Turn) -> BotLoop:
    """Score whether the customer is looping with the bot, from their earlier messages."""
    history = list(history)[-LOOKBACK_TURNS:]
    if current.vector is None and any(ch.isalpha() for ch in current.text):
        # Embed once here rather than separately for each component that needs it.
        current = replace(current, vector=embed_texts([current.text])[0])
    components: dict[str, float] = {}
    _, rephrase, same_intent = _rephrase(history, current)
    components[REPHRASED_QUESTION] = rephrase
    components[SAME_INTENT_AGAIN] = 0.5 if same_intent else 0.0
    streak = _low_confidence_streak(history, current)
    components[LOW_CONFIDENCE_STREAK] = {0: 0.0, 1: 0.2, 2: 0.6}.get(streak, 0.8)
    bot_has_answered = any(t.ai_answered for t in history)
    components[BOT_DISSATISFACTION] = _dissatisfaction(current, bot_has_answered)
    # Noisy-or: independent pieces of evidence add up without exceeding 1.
    score = 1.0 - float(np.prod([1.0 - s for s in components.values()]))
    reasons = [
        name for name, s in sorted(components.items(), key=lambda kv: -kv[1]) if s >= REPORT_FROM
    ]
    return BotLoop(score=round(score, 4), reasons=reasons)
