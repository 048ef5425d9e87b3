"""A conversation's status changes only through the state machine: checked in the source, and
refused at run time by the model."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service
from tandem.conversations.models import (
    PENDING_STATUS_WRITERS,
    Conversation,
    StatusWriteError,
    apply_transition,
)
from tandem.conversations.state import Action, Status, Transition
from tandem.db.base import Base
from tandem.db.session import scope_session, transaction

from ..factories import make_workspace
from .rules import (
    OTHER_STATUS_OWNERS,
    STATUS_PENDING_LEAD,
    check_tree,
    conversation_rows,
    docstring_examples,
    report,
    status_assignments,
)


def test_src_changes_conversation_status_only_in_the_state_machine() -> None:
    """No module assigns a conversation's status except the state machine.

    The one write is `conversations.models.apply_transition`, called by
    `conversations.service.change_status` (which applies `state.apply`, logs and notifies); a
    new conversation gets its first status in `start_conversation`. ModelVersion and
    TrainingRun also have a `status`; their own modules (OTHER_STATUS_OWNERS) change them.

    Bad (`src/tandem/routing/service.py`)::

        def claim(session, conversation, user):
            conversation.assignee_id, conversation.status = user.id, "human"

    Good (`src/tandem/routing/service.py`)::

        def claim(session, conversation, user):
            conversations.change_status(
                session, conversation, Action.ASSIGN, actor_type="user", assignee_id=user.id
            )
    """
    found, stale = check_tree(status_assignments, STATUS_PENDING_LEAD)
    assert not found, report(found, "Move the change into a state-machine action.")
    assert not stale, f"remove these from STATUS_PENDING_LEAD, they are fixed: {stale}"


def test_status_rule_catches_the_bad_example_and_passes_the_good_one() -> None:
    doc = test_src_changes_conversation_status_only_in_the_state_machine.__doc__
    examples = docstring_examples(doc)
    (bad_path, bad), (good_path, good) = examples["bad"], examples["good"]
    caught = status_assignments(bad, bad_path)
    assert [v.line for v in caught] == [2]
    assert "change_status" in str(caught[0]) and str(caught[0]).startswith(f"{bad_path}:2:")
    assert status_assignments(good, good_path) == []


@pytest.mark.parametrize(
    "code",
    [
        'setattr(conversation, "status", "human")',
        "session.execute(update(Conversation).values(status='resolved'))",
        "Conversation(workspace_id=ws, status='human')",
        "apply_transition(conversation, transition)",
        "conversation.status += 'x'",
    ],
)
def test_status_rule_catches_the_other_ways_round(code: str) -> None:
    assert len(status_assignments(code, "src/tandem/handoff/service.py")) == 1


def test_owners_of_other_status_models_may_change_their_own() -> None:
    own = 'run.status, run.stage = "running", "preparing"'
    assert status_assignments(own, "src/tandem/triage/training.py") == []
    assert len(status_assignments("conversation.status = 'ai'", "src/tandem/triage/training.py"))
    assert len(status_assignments(own, "src/tandem/handoff/service.py")) == 1


def test_status_models_are_the_known_ones() -> None:
    """A new table with a `status` column needs an owner in OTHER_STATUS_OWNERS (or a guard)."""
    with_status = {t.name for t in Base.metadata.sorted_tables if "status" in t.columns}
    assert with_status == {
        "conversations",
        "model_versions",
        "training_runs",
        "answer_candidates",
    }, (
        "a table gained or lost a `status` column: name the module that owns its changes in "
        "tests/architecture/rules.py OTHER_STATUS_OWNERS"
    )
    assert len(OTHER_STATUS_OWNERS) == len(with_status) - 1


def _stored_conversation(factory: sessionmaker[Session]) -> tuple[str, str]:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        started = service.start_conversation(session, workspace_id=ws.id, customer_name="Kim")
        assert started.conversation.status == Status.AI.value  # built with it: allowed
    return ws.id, started.conversation.id


def test_assigning_status_outside_the_state_machine_fails_loudly(
    factory: sessionmaker[Session],
) -> None:
    workspace_id, conversation_id = _stored_conversation(factory)
    with (
        pytest.raises(StatusWriteError, match="change_status"),
        transaction(factory, workspace_id) as session,
    ):
        conversation = service.get_conversation(session, conversation_id)
        conversation.status = Status.HUMAN.value
    with transaction(factory, workspace_id) as session:
        conversation = service.get_conversation(session, conversation_id)
        assert conversation.status == Status.AI.value  # nothing was written
        service.change_status(session, conversation, Action.ESCALATE, actor_type="ai")
    with factory() as session:
        scope_session(session, workspace_id)
        stored = service.get_conversation(session, conversation_id)
        assert stored.status == Status.WAITING_FOR_HUMAN.value


def test_apply_transition_writes_only_a_transition_from_the_current_status(
    factory: sessionmaker[Session],
) -> None:
    workspace_id, conversation_id = _stored_conversation(factory)
    with transaction(factory, workspace_id) as session:
        conversation = service.get_conversation(session, conversation_id)
        wrong = Transition(before=Status.HUMAN, action=Action.RESOLVE, after=Status.RESOLVED)
        with pytest.raises(StatusWriteError, match="starts from 'human'"):
            apply_transition(conversation, wrong)
        right = Transition(before=Status.AI, action=Action.RESOLVE, after=Status.RESOLVED)
        apply_transition(conversation, right)
        assert conversation.status == Status.RESOLVED.value


def test_a_new_conversation_may_be_built_with_any_status() -> None:
    assert Conversation(status=Status.HUMAN.value).status == Status.HUMAN.value


def test_src_creates_conversations_and_messages_only_in_their_service() -> None:
    """Every conversation and message is created in `tandem.conversations.service` (which
    masks card numbers, checks compliance, numbers messages and enqueues triage), and nothing
    bulk-updates or deletes them elsewhere.

    Bad (`src/tandem/handoff/service.py`)::

        from tandem.conversations.models import Message

        session.add(Message(conversation_id=conversation.id, seq=n, author="system", text=notice))

    Good (`src/tandem/handoff/service.py`)::

        conversations.post_message(session, conversation, author=Author.SYSTEM, text=notice)
    """
    found, _ = check_tree(conversation_rows)
    assert not found, report(found, "Go through tandem.conversations.service.")
    examples = docstring_examples(
        test_src_creates_conversations_and_messages_only_in_their_service.__doc__
    )
    (bad_path, bad), (good_path, good) = examples["bad"], examples["good"]
    assert [v.line for v in conversation_rows(bad, bad_path)] == [3]
    assert conversation_rows(good, good_path) == []
    bulk = "from tandem.conversations.models import Message\nsession.execute(delete(Message))\n"
    assert [v.line for v in conversation_rows(bulk, bad_path)] == [2]


def test_the_run_time_and_source_allowlists_agree() -> None:
    """models.PENDING_STATUS_WRITERS (run time) and STATUS_PENDING_LEAD (source) empty together."""
    from_source = {
        (path.removeprefix("src/").removesuffix(".py").replace("/", "."), function)
        for path, function in STATUS_PENDING_LEAD
    }
    assert set(PENDING_STATUS_WRITERS) == from_source
