"""Who owns a conversation: the one state machine every status change goes through.

`ai` — the AI front line answers; `waiting_for_human` — escalated, the AI is silent;
`human` — an agent owns it, the AI is silent; `resolved` — closed until the customer writes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Ownership of a conversation."""

    AI = "ai"
    WAITING_FOR_HUMAN = "waiting_for_human"
    HUMAN = "human"
    RESOLVED = "resolved"


class Action(StrEnum):
    """Everything that can move a conversation between owners."""

    ESCALATE = "escalate"  # the AI (or the customer) asks for a human
    ASSIGN = "assign"  # an agent claims it or is assigned it
    HAND_BACK = "hand_back"  # a human returns it to the AI
    RESOLVE = "resolve"
    REOPEN = "reopen"  # the customer writes again, or a user reopens it


class TransitionError(Exception):
    """A status change the state machine does not allow."""


class AISilencedError(TransitionError):
    """The AI tried to speak in a conversation it does not own."""


_TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.AI, Action.ESCALATE): Status.WAITING_FOR_HUMAN,
    (Status.AI, Action.ASSIGN): Status.HUMAN,
    (Status.AI, Action.RESOLVE): Status.RESOLVED,
    (Status.WAITING_FOR_HUMAN, Action.ASSIGN): Status.HUMAN,
    (Status.WAITING_FOR_HUMAN, Action.HAND_BACK): Status.AI,
    (Status.WAITING_FOR_HUMAN, Action.RESOLVE): Status.RESOLVED,
    (Status.HUMAN, Action.ASSIGN): Status.HUMAN,
    (Status.HUMAN, Action.HAND_BACK): Status.AI,
    (Status.HUMAN, Action.RESOLVE): Status.RESOLVED,
    # Reopen's target depends on who had it; see `reopen_target`.
    (Status.RESOLVED, Action.REOPEN): Status.AI,
}


@dataclass(frozen=True)
class Transition:
    """The outcome of applying an action: where it goes and whether anything changed."""

    before: Status
    action: Action
    after: Status

    @property
    def changed(self) -> bool:
        """Return whether the status differs after the action."""
        return self.before != self.after


def reopen_target(*, had_human_owner: bool) -> Status:
    """Return the owner a reopened conversation goes back to: its human, or else the AI."""
    return Status.HUMAN if had_human_owner else Status.AI


def apply(status: Status, action: Action, *, had_human_owner: bool = False) -> Transition:
    """Return the transition for an action, or raise TransitionError if it is not allowed."""
    target = _TRANSITIONS.get((status, action))
    if target is None:
        raise TransitionError(f"cannot {action.value} a conversation that is {status.value}")
    if action is Action.REOPEN:
        target = reopen_target(had_human_owner=had_human_owner)
    return Transition(before=status, action=action, after=target)


def allowed_actions(status: Status) -> list[Action]:
    """Return the actions that are valid from a status."""
    return [action for (source, action) in _TRANSITIONS if source is status]


def ai_may_speak(status: Status) -> bool:
    """Return whether the AI may post to a conversation in this status (only while it owns it)."""
    return status is Status.AI


def ensure_ai_may_speak(status: Status) -> None:
    """Raise AISilencedError unless the AI owns the conversation."""
    if not ai_may_speak(status):
        raise AISilencedError(f"the AI must stay silent while the conversation is {status.value}")
