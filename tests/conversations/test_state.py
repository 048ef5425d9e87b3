"""The ownership state machine, as plain data."""

from __future__ import annotations

import pytest

from tandem.conversations.state import (
    Action,
    AISilencedError,
    Status,
    TransitionError,
    ai_may_speak,
    allowed_actions,
    apply,
    ensure_ai_may_speak,
)


def test_only_the_ai_status_lets_the_ai_speak() -> None:
    assert [s for s in Status if ai_may_speak(s)] == [Status.AI]
    for status in (Status.WAITING_FOR_HUMAN, Status.HUMAN, Status.RESOLVED):
        with pytest.raises(AISilencedError):
            ensure_ai_may_speak(status)


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [
        (Status.AI, Action.ESCALATE, Status.WAITING_FOR_HUMAN),
        (Status.WAITING_FOR_HUMAN, Action.ASSIGN, Status.HUMAN),
        (Status.HUMAN, Action.HAND_BACK, Status.AI),
        (Status.HUMAN, Action.RESOLVE, Status.RESOLVED),
        (Status.AI, Action.RESOLVE, Status.RESOLVED),
    ],
)
def test_allowed_transitions(before: Status, action: Action, after: Status) -> None:
    transition = apply(before, action)
    assert transition.after is after
    assert transition.changed


@pytest.mark.parametrize(
    ("before", "action"),
    [
        (Status.WAITING_FOR_HUMAN, Action.ESCALATE),
        (Status.HUMAN, Action.ESCALATE),
        (Status.RESOLVED, Action.HAND_BACK),
        (Status.RESOLVED, Action.ASSIGN),
        (Status.AI, Action.REOPEN),
        (Status.AI, Action.HAND_BACK),
    ],
)
def test_forbidden_transitions_raise(before: Status, action: Action) -> None:
    with pytest.raises(TransitionError, match=before.value):
        apply(before, action)


def test_reopen_returns_to_the_previous_owner() -> None:
    assert apply(Status.RESOLVED, Action.REOPEN, had_human_owner=True).after is Status.HUMAN
    assert apply(Status.RESOLVED, Action.REOPEN, had_human_owner=False).after is Status.AI


def test_allowed_actions_match_apply() -> None:
    for status in Status:
        for action in Action:
            allowed = action in allowed_actions(status)
            try:
                apply(status, action)
                assert allowed, (status, action)
            except TransitionError:
                assert not allowed, (status, action)
