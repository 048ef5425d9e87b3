"""Co-pilot fixtures: the app with the co-pilot router, a small shop, and a desk driver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.app import create_app
from tandem.config import Settings
from tandem.conversations import service as conversations
from tandem.conversations.service import Author
from tandem.conversations.state import Action
from tandem.copilot import cases as _cases  # noqa: F401 - registers the conversation_resolved job
from tandem.copilot.views import router
from tandem.db.session import transaction
from tandem.demo.knowledge import faq_entries, load_faq
from tandem.demo.seed import load_demo_content
from tandem.jobs.worker import Worker
from tandem.triage.intent import IntentModel
from tandem.triage.service import store_model
from tandem.users.models import User

from ..factories import MadeWorkspace, make_workspace

LIMIT = 10_000
# A handful of the demo store's intents keeps the model quick to train; one is human-only.
SHOP_INTENTS = (
    "order_status",
    "return_policy",
    "password_reset",
    "shipping_times_costs",
    "damaged_or_wrong_item",
)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """Return the app with the co-pilot router (the lead mounts it in app.py)."""
    application = create_app(settings, run_worker=False)
    application.include_router(router)
    return application


@pytest.fixture(scope="session")
def shop_model() -> IntentModel:
    """Train a small intent model on part of the demo store's FAQ, once per session."""
    entries = [e for e in faq_entries(load_demo_content()) if e["intent"] in SHOP_INTENTS]
    texts = [t for e in entries for t in e["examples"]]
    labels = [e["intent"] for e in entries for _ in e["examples"]]
    return IntentModel.train(texts, labels)


def _shop_content() -> dict[str, Any]:
    content = load_demo_content()
    return {
        "faqs": [e for e in content["faqs"] if e["intent"] in SHOP_INTENTS],
        "human_only": [e for e in content["human_only"] if e["intent"] in SHOP_INTENTS],
    }


@dataclass
class Desk:
    """Drives one workspace's conversations through the real services and worker."""

    factory: sessionmaker[Session]
    ws: MadeWorkspace

    def agent_id(self) -> str:
        with transaction(self.factory, self.ws.id) as session:
            return session.scalars(select(User.id).where(User.email == self.ws.agent_email)).one()

    def start(self, *, email: str = "kim@example.com") -> str:
        with transaction(self.factory, self.ws.id) as session:
            started = conversations.start_conversation(
                session, workspace_id=self.ws.id, customer_name="Kim", customer_email=email
            )
            return started.conversation.id

    def customer(self, conversation_id: str, text: str) -> None:
        with transaction(self.factory, self.ws.id) as session:
            conversation = conversations.get_conversation(session, conversation_id, lock=True)
            conversations.post_message(
                session, conversation, author=Author.CUSTOMER, text=text, max_chars=LIMIT
            )
        Worker(self.factory).drain()  # the real front line triages it

    def agent(self, conversation_id: str, text: str, *, private: bool = False) -> None:
        agent_id = self.agent_id()
        with transaction(self.factory, self.ws.id) as session:
            conversation = conversations.get_conversation(session, conversation_id, lock=True)
            conversations.post_message(
                session,
                conversation,
                author=Author.AGENT,
                text=text,
                max_chars=LIMIT,
                user_id=agent_id,
                is_private=private,
            )

    def act(self, conversation_id: str, action: Action, *, drain: bool = True) -> None:
        agent_id = self.agent_id()
        with transaction(self.factory, self.ws.id) as session:
            conversation = conversations.get_conversation(session, conversation_id, lock=True)
            conversations.change_status(
                session,
                conversation,
                action,
                actor_type="user",
                actor_id=agent_id,
                assignee_id=agent_id if action is Action.ASSIGN else None,
            )
        if drain:
            Worker(self.factory).drain()

    def resolved_case(self, conversation_id: str, question: str, answer: str) -> None:
        """Play a conversation a human answered and resolved, then let the worker learn it."""
        self.customer(conversation_id, question)
        self.agent(conversation_id, answer)
        self.act(conversation_id, Action.RESOLVE)


@pytest.fixture
def shop(factory: sessionmaker[Session], shop_model: IntentModel) -> Iterator[Desk]:
    """Yield a desk for a workspace with part of the demo FAQ and its trained model."""
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        load_faq(session, workspace_id=ws.id, content=_shop_content())
        store_model(session, workspace_id=ws.id, model=shop_model, activate=True)
    yield Desk(factory, ws)


@pytest.fixture
def bare(factory: sessionmaker[Session]) -> Desk:
    """Return a desk for a workspace with no knowledge and no model."""
    return Desk(factory, make_workspace(factory))
