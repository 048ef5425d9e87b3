"""Answer, reply or escalate: a pure function of the triage result and the workspace's policy.

* answer: the intent's approved answer (or, decided by the flow, a knowledge-base extract);
* reply: the AI says something that is not an answer: small talk back, or "that is outside
  what I can help with" for an off-topic message (it costs no agent's time);
* escalate: a person takes over, with every reason that fired.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tandem.workspaces.settings import WorkspaceSettings


class Action(StrEnum):
    """What the front line does with a message."""

    ANSWER = "answer"
    REPLY = "reply"
    ESCALATE = "escalate"


class Reason(StrEnum):
    """Why the AI did what it did (recorded on the message and the escalation)."""

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
    NO_TRANSLATION = "no_translation"  # no answer in the customer's language; fallback: escalate
    REPEATED_MISS = "repeated_miss"  # off-topic again right after a scope reply
    OFF_TOPIC = "off_topic"  # reply: what the AI can help with, and how to reach a person
    SMALL_TALK_GREETING = "small_talk_greeting"
    SMALL_TALK_THANKS = "small_talk_thanks"
    SMALL_TALK_GOODBYE = "small_talk_goodbye"


SMALL_TALK_REASONS = {
    "greeting": Reason.SMALL_TALK_GREETING,
    "thanks": Reason.SMALL_TALK_THANKS,
    "goodbye": Reason.SMALL_TALK_GOODBYE,
}
# The intent model could not place the message: nothing about the customer asks for a person.
# Only these may turn into a scope reply, or be answered from the knowledge base instead.
MISSED = frozenset({Reason.OUT_OF_SCOPE, Reason.LOW_CONFIDENCE, Reason.NO_MODEL})
UNANSWERED_INTENT = MISSED | {Reason.NO_APPROVED_ANSWER}
# Where a message keeps the front line's decision when a human owned the conversation and the
# AI stayed silent ("decision" holds what the AI did when it owned it).
FRONT_LINE_KEY = "front_line"


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
    default_language: str = "en"
    language_fallback: str = "escalate"  # or "default_language" (AiSettings.language_fallback)

    @classmethod
    def from_settings(
        cls,
        settings: WorkspaceSettings,
        *,
        threshold: float,
        blocked_intents: Collection[str] = (),
    ) -> Policy:
        """Build from a workspace's settings and its model's derived threshold."""
        allowed = settings.ai_allowed_intents
        return cls(
            threshold=threshold,
            allowed_intents=frozenset(allowed) if allowed is not None else None,
            blocked_intents=frozenset(blocked_intents),
            human_only_topics=frozenset(settings.human_only_topics),
            languages=frozenset(settings.languages),
            frustration_threshold=settings.frustration_threshold,
            default_language=settings.answer_language,
            language_fallback=settings.language_fallback,
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
    small_talk: str | None = None  # "greeting" | "thanks" | "goodbye" (tandem.triage.smalltalk)
    off_topic: bool = False  # nothing this workspace's customers ask (tandem.triage.flows)
    scope_replies_before: int = 0  # scope replies to the customer's messages just before this


@dataclass(frozen=True)
class Decision:
    """The outcome: answer, reply (small talk, scope) or escalate, with the reasons."""

    action: Action
    reasons: tuple[Reason, ...]
    intent: str | None
    confidence: float
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def answer(self) -> bool:
        """Return whether the AI answers the customer's question."""
        return self.action is Action.ANSWER

    @property
    def missed(self) -> bool:
        """Return whether it escalates only because the intent model could not place it."""
        return (
            self.action is Action.ESCALATE
            and bool(self.reasons)
            and all(r in MISSED for r in self.reasons)
        )

    @property
    def may_answer_from_articles(self) -> bool:
        """Return whether only the intent model's miss stands between the customer and an answer."""
        return self.action is not Action.ANSWER and all(
            r in UNANSWERED_INTENT or r in (Reason.OFF_TOPIC, Reason.REPEATED_MISS)
            for r in self.reasons
        )

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able record of the decision."""
        return {
            "action": self.action.value,
            "reasons": [r.value for r in self.reasons],
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            **dict(self.details),
        }


def decide(
    signals: Signals,
    policy: Policy,
    *,
    answerable_intents: Collection[str],
    localized_intents: Collection[str] | None = None,
) -> Decision:
    """Return what the AI does; every trigger that fired is listed, in priority order.

    localized_intents: the answerable intents whose answer exists in the language the reply
    would be in (None: all of them).
    """
    reasons, details = _triggers(signals, policy)
    intent_reasons = _intent_reasons(signals, policy, answerable_intents)
    action = Action.ESCALATE if reasons or intent_reasons else Action.ANSWER
    if not reasons and signals.small_talk in SMALL_TALK_REASONS:
        # Only a hello, thanks or goodbye: nothing to answer and nothing for a person to do.
        action, intent_reasons = Action.REPLY, [SMALL_TALK_REASONS[signals.small_talk]]
    elif not reasons and intent_reasons and set(intent_reasons) <= MISSED and signals.off_topic:
        if signals.scope_replies_before:
            intent_reasons = [*intent_reasons, Reason.REPEATED_MISS]
        else:
            action, intent_reasons = Action.REPLY, [Reason.OFF_TOPIC, *intent_reasons]
    elif (
        action is Action.ANSWER
        and localized_intents is not None
        and signals.intent not in localized_intents
    ):
        details["answer_language"] = policy.default_language
        if policy.language_fallback != "default_language":
            action, intent_reasons = Action.ESCALATE, [Reason.NO_TRANSLATION]
    return Decision(
        action=action,
        reasons=(*reasons, *intent_reasons),
        intent=signals.intent,
        confidence=signals.confidence,
        details=details,
    )


def answered_from_article(decision: Decision, **details: Any) -> Decision:
    """Return the decision as a knowledge-base answer (what it replaced stays on record)."""
    return Decision(
        action=Action.ANSWER,
        reasons=(),
        intent=decision.intent,
        confidence=decision.confidence,
        details={
            **dict(decision.details),
            "source": "article",
            "instead_of": [r.value for r in decision.reasons],
            **details,
        },
    )


def _triggers(signals: Signals, policy: Policy) -> tuple[list[Reason], dict[str, Any]]:
    """Return the reasons a person must take over whatever the intent is."""
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
    return reasons, details


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


def front_line_decision(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return the decision the front line made (or would have made) on a stored message."""
    stored = meta.get("decision") or meta.get(FRONT_LINE_KEY) or {}
    return stored if isinstance(stored, Mapping) else {}


def would_answer(meta: Mapping[str, Any]) -> bool:
    """Return whether the front line answered (or would have answered) a stored message."""
    return front_line_decision(meta).get("action") == Action.ANSWER.value


def asked_for_human(meta: Mapping[str, Any]) -> bool:
    """Return whether the front line read a stored message as asking for a person."""
    return Reason.HUMAN_REQUESTED.value in (front_line_decision(meta).get("reasons") or [])
