"""Writes to conversations: ownership rules, sequencing, the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service
from tandem.conversations.service import Author
from tandem.conversations.state import Action, AISilencedError, Status
from tandem.core.errors import NotFoundError, ValidationError
from tandem.db.session import scope_session, transaction
from tandem.events.models import Event
from tandem.jobs.models import Job
from tandem.users.models import User

from ..factories import make_workspace

LIMIT = 10_000


def _start(session: Session, workspace_id: str) -> service.StartedConversation:
    scope_session(session, workspace_id)
    return service.start_conversation(session, workspace_id=workspace_id, customer_name="Kim")


def test_ai_cannot_speak_once_a_human_owns_the_conversation(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = _start(session, ws.id).conversation
        service.post_message(
            session, conversation, author=Author.CUSTOMER, text="hi", max_chars=LIMIT
        )
        service.post_message(
            session, conversation, author=Author.AI, text="Hello!", max_chars=LIMIT
        )
        service.change_status(session, conversation, Action.ESCALATE, actor_type="ai")
        with pytest.raises(AISilencedError):
            service.post_message(session, conversation, author=Author.AI, text="x", max_chars=LIMIT)
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        service.post_message(
            session,
            conversation,
            author=Author.AGENT,
            text="I'm here",
            user_id=agent.id,
            max_chars=LIMIT,
        )
        assert conversation.status == Status.HUMAN
        assert conversation.assignee_id == agent.id
        assert conversation.first_human_response_at is not None
        with pytest.raises(AISilencedError):
            service.post_message(session, conversation, author=Author.AI, text="x", max_chars=LIMIT)
        service.change_status(
            session, conversation, Action.HAND_BACK, actor_type="user", actor_id=agent.id
        )
        message = service.post_message(
            session, conversation, author=Author.AI, text="Back!", max_chars=LIMIT
        )
        assert message.seq == 4
        assert [m.author for m in service.list_messages(session, conversation.id)] == [
            "customer",
            "ai",
            "agent",
            "ai",
        ]


def test_agent_reply_in_an_ai_conversation_takes_it_over(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = _start(session, ws.id).conversation
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        service.post_message(
            session,
            conversation,
            author=Author.AGENT,
            text="Hi, Alex here",
            user_id=agent.id,
            max_chars=LIMIT,
        )
        assert conversation.status == Status.HUMAN


def test_private_note_does_not_take_ownership_or_reach_the_customer(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = _start(session, ws.id).conversation
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        service.post_message(
            session,
            conversation,
            author=Author.AGENT,
            text="note to self",
            user_id=agent.id,
            is_private=True,
            max_chars=LIMIT,
        )
        assert conversation.status == Status.AI
        assert service.list_messages(session, conversation.id) == []
        assert len(service.list_messages(session, conversation.id, include_private=True)) == 1


def test_customer_message_reopens_a_resolved_conversation_to_its_human(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = _start(session, ws.id).conversation
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        service.post_message(
            session,
            conversation,
            author=Author.AGENT,
            text="Done",
            user_id=agent.id,
            max_chars=LIMIT,
        )
        service.change_status(
            session, conversation, Action.RESOLVE, actor_type="user", actor_id=agent.id
        )
        service.post_message(
            session, conversation, author=Author.CUSTOMER, text="One more thing", max_chars=LIMIT
        )
        assert conversation.status == Status.HUMAN
        assert conversation.assignee_id == agent.id
        types = session.scalars(
            select(Event.type).where(Event.conversation_id == conversation.id).order_by(Event.id)
        ).all()
        assert types == [
            "conversation.created",
            "conversation.assign",
            "conversation.resolve",
            "conversation.reopen",
        ]


def test_customer_message_enqueues_processing_in_the_same_transaction(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = _start(session, ws.id).conversation
        message = service.post_message(
            session, conversation, author=Author.CUSTOMER, text="where is my order", max_chars=LIMIT
        )
        job = session.scalars(select(Job)).one()
        assert job.kind == "process_customer_message"
        assert job.payload == {"message_id": message.id}


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("   \n", "empty"), ("x" * (LIMIT + 1), "limit"), ("a\x00b", "NUL")],
)
def test_bad_text_is_refused_with_a_reason(
    factory: sessionmaker[Session], text: str, problem: str
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = _start(session, ws.id).conversation
        with pytest.raises(ValidationError, match=problem):
            service.post_message(
                session, conversation, author=Author.CUSTOMER, text=text, max_chars=LIMIT
            )


def test_scoped_session_cannot_read_another_workspaces_conversation(
    factory: sessionmaker[Session],
) -> None:
    first, second = make_workspace(factory), make_workspace(factory)
    with transaction(factory, first.id) as session:
        conversation_id = _start(session, first.id).conversation.id
    with transaction(factory, second.id) as session:
        with pytest.raises(NotFoundError):
            service.get_conversation(session, conversation_id)
        assert service.list_conversations(session) == []
        assert service.list_messages(session, conversation_id) == []


def test_audit_events_cannot_be_changed(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        _start(session, ws.id)
    session = factory()
    try:
        event = session.scalars(select(Event).where(Event.type == "conversation.created")).one()
        event.type = "tampered"
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
    finally:
        session.rollback()
        session.close()
