"""Which customer message states the need: the one place both handoff and co-pilot ask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

# Above this, a message is mainly "let me talk to a person": it names who should answer,
# not what the need is, so its intent is a guess about the wrong thing.
HUMAN_REQUEST_ONLY = 0.5


class TriagedMessage(Protocol):
    """A stored message as far as this module needs it."""

    author: str
    meta: dict[str, Any]


M = TypeVar("M", bound=TriagedMessage)


def states_need(triage: object) -> bool:
    """Return whether a message's triage names an in-scope need (not just a wish for a human)."""
    return (
        isinstance(triage, dict)
        and bool(triage.get("intent"))
        and not triage.get("out_of_scope")
        and float(triage.get("human_request") or 0.0) < HUMAN_REQUEST_ONLY
    )


def latest_need(messages: Sequence[M]) -> M | None:
    """Return the customer's newest message that states a need (skipping untriaged ones)."""
    for message in reversed(messages):
        if message.author == "customer" and states_need(message.meta.get("triage")):
            return message
    return None


def latest_need_triage(messages: Sequence[TriagedMessage]) -> dict[str, Any]:
    """Return that message's triage, or {} when no message states a need."""
    message = latest_need(messages)
    return dict(message.meta["triage"]) if message is not None else {}


def latest_question_triage(messages: Sequence[TriagedMessage]) -> dict[str, Any]:
    """Return the stated need's triage, else that of the newest untaught store question.

    An untaught question (out of scope, not off-topic: no intent covers it, yet it is a real
    need) names its nearest intent with that intent's own probability; a person may judge it.
    """
    stated = latest_need_triage(messages)
    if stated:
        return stated
    for message in reversed(messages):
        triage = message.meta.get("triage") if message.author == "customer" else None
        if (
            isinstance(triage, dict)
            and triage.get("intent")
            and triage.get("out_of_scope")
            and not triage.get("off_topic")
            and float(triage.get("human_request") or 0.0) < HUMAN_REQUEST_ONLY
        ):
            return dict(triage)
    return {}


def need_to_learn_from(messages: Sequence[M]) -> M | None:
    """Return the customer message to label when a human resolves the conversation.

    The newest one that states an in-scope need; else the newest that names one while asking
    for a person ("where is my order? a human please"); else the first that is more than a wish
    for a person (an out-of-scope need is exactly what the AI should learn). None when the
    customer only asked for a person.
    """
    stated = latest_need(messages)
    if stated is not None:
        return stated
    customer = [m for m in messages if m.author == "customer"]
    for message in reversed(customer):
        triage = message.meta.get("triage")
        if isinstance(triage, dict) and triage.get("intent") and not triage.get("out_of_scope"):
            return message
    for message in customer:
        triage = message.meta.get("triage")
        wish = isinstance(triage, dict) and float(triage.get("human_request") or 0.0) >= (
            HUMAN_REQUEST_ONLY
        )
        if not wish:
            return message
    return None
