"""Answer or escalate: a pure function of the triage result and the workspace's policy."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why the AI did not answer (recorded on the message and the escalation)."""

    EMPTY_MESSAGE = "empty_message"
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    HUMAN_REQUESTED = "human_requested"
    FRUSTRATION = "frustration"
    SENSITIVE_TOPIC = "sensitive_topic"
    BOT_LOOP = "bot_loop"
    OUT_OF_SCOPE = "out_of_scope"
    LOW_CONFIDENCE = "low_confidence"
    INTENT_NOT_ALLOWED = "intent_not_allowed"
    NO_APPROVED_ANSWER = "no_approved_answer"
    NO_MODEL = "no_model"


@dataclass(frozen=True)
class Policy:
    """A workspace's rules for when the AI may answer."""

    threshold: float
    allowed_intents: frozenset[str] | None = None  # None: every intent with an approved answer
    blocked_intents: frozenset[str] = frozenset()  # known intents only a human may handle
    human_only_topics: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset({"en"})
    human_request_threshold: float = 0.5
    frustration_threshold: float = 0.75
    bot_loop_threshold: float = 0.5

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        *,
        threshold: float,
        blocked_intents: Collection[str] = (),
    ) -> Policy:
        """Build from a workspace's settings and its model's derived threshold."""
        allowed = settings.get("ai_allowed_intents")
        return cls(
            threshold=threshold,
            allowed_intents=frozenset(allowed) if allowed is not None else None,
            blocked_intents=frozenset(blocked_intents),
            human_only_topics=frozenset(settings.get("human_only_topics", ())),
            languages=frozenset(settings.get("languages", ("en",))),
            frustration_threshold=float(settings.get("frustration_threshold", 0.75)),
        )


@dataclass(frozen=True)
class Signals:
    """What triage found in one message, as plain values."""

    text_is_empty: bool
    language: str | None
    intent: str | None
    confidence: float
    out_of_scope: bool
    human_request: float
    frustration: float
    sensitive_topics: Mapping[str, float] = field(default_factory=dict)
    bot_loop: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The outcome: answer with the intent's approved answer, or escalate with reasons."""

    answer: bool
    reasons: tuple[Reason, ...]
    intent: str | None
    confidence: float
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able record of the decision."""
        return {
            "action": "answer" if self.answer else "escalate",
            "reasons": [r.value for r in self.reasons],
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            **dict(self.details),
        }


def decide(signals: Signals, policy: Policy, *, answerable_intents: Collection[str]) -> Decision:
    """Return whether the AI may answer; every trigger that fired is listed, in priority order."""
    reasons: list[Reason] = []
    details: dict[str, Any] = {}
    if signals.text_is_empty:
        reasons.append(Reason.EMPTY_MESSAGE)
    if signals.language is not None and signals.language not in policy.languages:
        reasons.append(Reason.UNSUPPORTED_LANGUAGE)
        details["language"] = signals.language
    if signals.human_request >= policy.human_request_threshold:
        reasons.append(Reason.HUMAN_REQUESTED)
    if signals.frustration >= policy.frustration_threshold:
        reasons.append(Reason.FRUSTRATION)
    topics = sorted(t for t in signals.sensitive_topics if t in policy.human_only_topics)
    if topics:
        reasons.append(Reason.SENSITIVE_TOPIC)
        details["topics"] = topics
    if signals.bot_loop >= policy.bot_loop_threshold:
        reasons.append(Reason.BOT_LOOP)
    reasons.extend(_intent_reasons(signals, policy, answerable_intents))
    return Decision(
        answer=not reasons,
        reasons=tuple(reasons),
        intent=signals.intent,
        confidence=signals.confidence,
        details=details,
    )


def _intent_reasons(signals: Signals, policy: Policy, answerable: Collection[str]) -> list[Reason]:
    if signals.intent is None:
        return [] if signals.text_is_empty else [Reason.NO_MODEL]
    if signals.out_of_scope:
        return [Reason.OUT_OF_SCOPE]
    if signals.confidence < policy.threshold:
        return [Reason.LOW_CONFIDENCE]
    if signals.intent in policy.blocked_intents or (
        policy.allowed_intents is not None and signals.intent not in policy.allowed_intents
    ):
        return [Reason.INTENT_NOT_ALLOWED]
    if signals.intent not in answerable:
        return [Reason.NO_APPROVED_ANSWER]
    return []
