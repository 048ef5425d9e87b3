"""Routing fixtures: an app with the routing API, and builders for agents and escalations."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tandem.app import create_app
from tandem.config import Settings
from tandem.conversations.service import change_status, get_conversation, start_conversation
from tandem.conversations.state import Action
from tandem.db.session import transaction
from tandem.routing.service import RoutingOutcome, route_escalation
from tandem.routing.views import router
from tandem.users.models import Role, User
from tandem.users.service import create_user

from ..factories import PASSWORD

_n = itertools.count(1)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """Return the app with the routing API included (the lead wires it into create_app)."""
    application = create_app(settings, run_worker=False)
    application.include_router(router)
    return application


def add_agent(
    factory: sessionmaker[Session],
    workspace_id: str,
    *,
    presence: str = "online",
    capacity: int = 5,
    role: Role = Role.AGENT,
) -> str:
    """Create a team member with a presence and capacity; return their id."""
    with transaction(factory, workspace_id=workspace_id) as session:
        user = create_user(
            session,
            workspace_id=workspace_id,
            email=f"agent{next(_n)}@routing.test",
            name="Agent",
            password=PASSWORD,
            role=role,
        )
        user.presence, user.capacity = presence, capacity
        return user.id


def set_user(
    factory: sessionmaker[Session], workspace_id: str, user_id: str, **fields: Any
) -> None:
    """Change fields of a user (presence, capacity, is_active)."""
    with transaction(factory, workspace_id=workspace_id) as session:
        user = session.get(User, user_id)
        assert user is not None
        for name, value in fields.items():
            setattr(user, name, value)


def escalate(
    factory: sessionmaker[Session],
    workspace_id: str,
    *,
    vip: bool = False,
    now: datetime | None = None,
) -> str:
    """Open a conversation and escalate it to waiting_for_human; return its id."""
    with transaction(factory, workspace_id=workspace_id) as session:
        started = start_conversation(session, workspace_id=workspace_id)
        conversation = started.conversation
        conversation.customer.is_vip = vip
        change_status(session, conversation, Action.ESCALATE, actor_type="ai")
        if now is not None:
            conversation.escalated_at = now
        return conversation.id


def route(
    factory: sessionmaker[Session],
    workspace_id: str,
    conversation_id: str,
    *,
    reasons: list[str] | None = None,
    intent: str | None = None,
    language: str | None = None,
    frustration: float | None = None,
    now: datetime | None = None,
) -> RoutingOutcome:
    """Route an escalated conversation in its own committed transaction."""
    with transaction(factory, workspace_id=workspace_id) as session:
        conversation = get_conversation(session, conversation_id, lock=True)
        return route_escalation(
            session,
            conversation,
            reasons=reasons or ["human_requested"],
            intent=intent,
            language=language,
            frustration=frustration,
            now=now,
        )


def escalate_and_route(
    factory: sessionmaker[Session], workspace_id: str, **kwargs: Any
) -> tuple[str, RoutingOutcome]:
    """Escalate a new conversation and route it."""
    vip = kwargs.pop("vip", False)
    conversation_id = escalate(factory, workspace_id, vip=vip, now=kwargs.get("now"))
    return conversation_id, route(factory, workspace_id, conversation_id, **kwargs)
