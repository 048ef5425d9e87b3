"""Workspace isolation has one contract: a scoped session reads and writes only its workspace.

Two workspaces get rows in (nearly) every tenant table the ordinary way; then, with one
workspace in scope, every tenant table is read, fetched by the other's primary keys, bulk
updated and deleted, inserted into and changed: none of it reaches the other workspace.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import Author
from tandem.db.base import Base, TenantScoped
from tandem.db.session import CrossWorkspaceWriteError, scope_session, transaction
from tandem.demo.knowledge import load_faq
from tandem.demo.seed import load_demo_content
from tandem.handoff.service import request_human
from tandem.knowledge.service import create_article
from tandem.routing.admin import ensure_default_setup, list_queues, set_queue_members
from tandem.triage.embedders import get_embedder
from tandem.triage.pipeline import SIGNAL_EMBEDDER
from tandem.users.models import TokenKind, User
from tandem.users.service import issue_token

from ..factories import make_workspace

TENANT_CLASSES: list[type[Any]] = sorted(
    (m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)),
    key=lambda cls: cls.__name__,
)


def _populate(factory: sessionmaker[Session], workspace_id: str) -> None:
    content = load_demo_content()
    with transaction(factory, workspace_id) as session:
        ensure_default_setup(session, workspace_id)
        load_faq(session, workspace_id=workspace_id, content=content)
        create_article(
            session,
            workspace_id=workspace_id,
            title="Gift cards",
            body="Gift cards never expire and can be used online.",
            embedder=get_embedder(SIGNAL_EMBEDDER),
        )
        admin = session.scalars(select(User).order_by(User.created_at)).first()
        assert admin is not None
        issue_token(session, user=admin, kind=TokenKind.API, name="integration")
        queue = list_queues(session, workspace_id)[0]
        set_queue_members(
            session, workspace_id=workspace_id, queue_id=queue.id, user_ids=[admin.id]
        )
        started = conversations.start_conversation(
            session, workspace_id=workspace_id, customer_name="Kim", customer_email="k@x.test"
        )
        conversation = started.conversation
        conversations.post_message(
            session, conversation, author=Author.CUSTOMER, text="Where is my order?", max_chars=99
        )
        assert request_human(session, conversation, trigger="customer")


@pytest.fixture
def two(factory: sessionmaker[Session]) -> tuple[str, str]:
    mine, theirs = make_workspace(factory), make_workspace(factory)
    _populate(factory, mine.id)
    _populate(factory, theirs.id)
    return mine.id, theirs.id


def _rows_by_workspace(factory: sessionmaker[Session], cls: type[Any]) -> dict[str, int]:
    with factory() as session:  # unscoped: sees everything
        rows = session.execute(select(cls.workspace_id, func.count()).group_by(cls.workspace_id))
        return {workspace_id: count for workspace_id, count in rows}


def test_both_workspaces_have_rows_in_most_tenant_tables(
    factory: sessionmaker[Session], two: tuple[str, str]
) -> None:
    mine, theirs = two
    covered = [
        cls.__name__
        for cls in TENANT_CLASSES
        if {mine, theirs} <= set(_rows_by_workspace(factory, cls))
    ]
    # Model versions, training runs, resolved cases and proposed answers need a trained model,
    # a worker or a human resolution.
    missing = sorted({cls.__name__ for cls in TENANT_CLASSES} - set(covered))
    assert missing == ["AnswerCandidate", "ModelVersion", "ResolvedCase", "TrainingRun"], missing


def test_reads_and_gets_see_only_the_scoped_workspace(
    factory: sessionmaker[Session], two: tuple[str, str]
) -> None:
    mine, theirs = two
    for cls in TENANT_CLASSES:
        counts = _rows_by_workspace(factory, cls)
        with factory() as unscoped:
            their_keys = [inspect(o).identity for o in unscoped.scalars(select(cls)).all()]
            their_keys = [
                key
                for key, obj in zip(their_keys, unscoped.scalars(select(cls)).all(), strict=True)
                if obj.workspace_id == theirs
            ]
        with factory() as session:
            scope_session(session, mine)
            seen = session.scalars(select(cls)).all()
            assert {o.workspace_id for o in seen} <= {mine}, cls.__name__
            assert len(seen) == counts.get(mine, 0), cls.__name__
            counted = session.scalar(select(func.count()).select_from(cls))
            assert counted == counts.get(mine, 0), cls.__name__
            for key in their_keys:
                assert session.get(cls, key) is None, cls.__name__


def test_relationship_loads_stay_in_the_workspace(
    factory: sessionmaker[Session], two: tuple[str, str]
) -> None:
    mine, _ = two
    with factory() as session:
        scope_session(session, mine)
        for conversation in session.scalars(select(Conversation)).all():
            assert conversation.customer.workspace_id == mine


def test_bulk_updates_and_deletes_change_only_the_scoped_workspace(
    factory: sessionmaker[Session], two: tuple[str, str]
) -> None:
    mine, theirs = two
    for cls in TENANT_CLASSES:
        if cls.__name__ == "Event":
            continue  # append-only: updates and deletes are refused for everyone
        counts = _rows_by_workspace(factory, cls)
        with factory() as session:
            scope_session(session, mine)
            result = session.execute(
                update(cls)
                .values(workspace_id=cls.workspace_id)
                .execution_options(synchronize_session=False)
            )
            assert result.rowcount == counts.get(mine, 0), cls.__name__  # type: ignore[attr-defined]
            session.rollback()
    their_messages = _rows_by_workspace(factory, Message)[theirs]
    with transaction(factory, mine) as session:
        session.execute(delete(Message).execution_options(synchronize_session=False))
    after = _rows_by_workspace(factory, Message)
    assert after.get(mine, 0) == 0 and after[theirs] == their_messages


def test_inserts_take_the_scope_and_refuse_another_workspace(
    factory: sessionmaker[Session], two: tuple[str, str]
) -> None:
    mine, theirs = two
    with transaction(factory, mine) as session:
        conversation = session.scalars(select(Conversation)).first()
        assert conversation is not None
        stray = Conversation(
            customer_id=conversation.customer_id,
            channel="api",
            status="ai",
            customer_token_hash="x",
        )
        session.add(stray)
        session.flush()
        assert stray.workspace_id == mine
    with factory() as session:
        scope_session(session, mine)
        customer_id = session.scalars(select(Conversation.customer_id)).first()
        session.add(
            Conversation(
                workspace_id=theirs,
                customer_id=customer_id,
                channel="api",
                status="ai",
                customer_token_hash="x",
            )
        )
        with pytest.raises(CrossWorkspaceWriteError, match="cannot insert a Conversation"):
            session.flush()
        session.rollback()


def test_changing_or_deleting_another_workspaces_row_fails_loudly(
    factory: sessionmaker[Session], two: tuple[str, str]
) -> None:
    mine, theirs = two
    with factory() as session:
        theirs_row = session.scalars(select(User).where(User.workspace_id == theirs)).first()
        assert theirs_row is not None
        scope_session(session, mine)  # loaded before scoping: the write check still holds
        theirs_row.name = "Renamed"
        with pytest.raises(CrossWorkspaceWriteError, match="cannot change a User"):
            session.flush()
        session.rollback()
    with factory() as session:
        theirs_row = session.scalars(select(User).where(User.workspace_id == theirs)).first()
        scope_session(session, mine)
        session.delete(theirs_row)
        with pytest.raises(CrossWorkspaceWriteError):
            session.flush()
        session.rollback()
    with factory() as session:
        mine_row = session.scalars(select(User).where(User.workspace_id == mine)).first()
        assert mine_row is not None
        scope_session(session, mine)
        mine_row.workspace_id = theirs  # moving a row out of the workspace is a write to both
        with pytest.raises(CrossWorkspaceWriteError):
            session.flush()
        session.rollback()
