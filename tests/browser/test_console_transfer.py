"""Moving a conversation to another queue in a real browser: select, confirmation toast, panels."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from tandem.app import create_app
from tandem.config import Settings
from tandem.conversations import service as conversations
from tandem.conversations.service import Author
from tandem.db.session import transaction
from tandem.handoff.service import request_human
from tandem.routing import service as routing

from ..conftest import LiveServer
from ..factories import PASSWORD, make_workspace
from ..web.conftest import with_console


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    """Serve the console without the worker: nothing but the agent changes the conversation."""
    live = LiveServer(with_console(create_app(settings, run_worker=False)))
    live.start()
    yield live
    live.stop()


def waiting_conversation(factory: sessionmaker[Session], workspace_id: str) -> str:
    with transaction(factory, workspace_id) as session:
        routing.ensure_default_setup(session, workspace_id)
        routing.create_queue(session, workspace_id=workspace_id, name="Billing")
        # The agent who logs in is online; without auto-assign the move stays a move.
        routing.update_routing_settings(session, workspace_id=workspace_id, auto_assign=False)
        conversation = conversations.start_conversation(
            session, workspace_id=workspace_id, customer_name="Dana"
        ).conversation
        conversations.post_message(
            session, conversation, author=Author.CUSTOMER, text="Refund please", max_chars=1000
        )
        assert request_human(session, conversation, trigger="customer")
        return conversation.id


def test_agent_moves_a_conversation_from_the_header(  # type: ignore[no-untyped-def]
    server: LiveServer, factory: sessionmaker[Session], new_page
) -> None:
    ws = make_workspace(factory)
    conversation_id = waiting_conversation(factory, ws.id)
    page = new_page()
    page.goto(f"{server.url}/login?next=/console/c/{conversation_id}")
    page.get_by_label("Email").fill(ws.agent_email)
    page.get_by_label("Password").fill(PASSWORD)
    # The page tells the live stream what it shows, so no "status" reload wipes a choice the
    # agent is making in the header (the queue is chosen right after the page loads).
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(rf"/console/c/{conversation_id}$"))
    head = page.locator("#conv-head")
    expect(head).to_contain_text("Queue: General")
    expect(page.locator("#packet-queue")).to_contain_text("General")

    page.get_by_label("Move to queue").select_option(label="Billing")
    page.locator("#transfer").click()

    expect(page.locator("#toasts .toast-success")).to_have_text("Moved to Billing")
    expect(head).to_contain_text("Queue: Billing")
    expect(page.locator("#packet-queue")).to_contain_text("Billing · moved from General")
    with factory() as session:
        billing = {q.name: q.id for q in routing.list_queues(session, ws.id)}["Billing"]
        assert conversations.get_conversation(session, conversation_id).queue_id == billing
