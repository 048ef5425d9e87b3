"""Moving a conversation to another queue from the console: header select and co-pilot button."""

from __future__ import annotations

import html
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.db.session import transaction
from tandem.events.models import Event
from tandem.routing import service as routing

from ..factories import make_workspace
from .conftest import console_login, escalated_conversation


def add_queue(factory: sessionmaker[Session], workspace_id: str, name: str, intent: str) -> str:
    with transaction(factory, workspace_id) as session:
        routing.ensure_default_setup(session, workspace_id)
        return routing.create_queue(
            session, workspace_id=workspace_id, name=name, intents=[intent]
        ).id


def triage_as(factory: sessionmaker[Session], workspace_id: str, conv_id: str, intent: str) -> None:
    # The front line's worker does not run in these tests; record what it would have found.
    with transaction(factory, workspace_id) as session:
        for message in session.scalars(
            select(Message).where(Message.conversation_id == conv_id, Message.author == "customer")
        ):
            message.meta = {**message.meta, "triage": {"intent": intent, "confidence": 0.9}}


def test_the_header_moves_the_conversation_only_with_the_csrf_header(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    billing = add_queue(factory, ws.id, "Billing & Refunds", "get_refund")
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "I want my money back")
    headers = console_login(web, ws.agent_email)
    # Logged in means online; away, the mover is not offered the conversation in Billing.
    assert web.post("/console/presence", data={"presence": "away"}, headers=headers).is_success

    page = web.get(f"/console/c/{conv.id}").text
    assert 'id="transfer-form"' in page
    assert f'<option value="{billing}" >Billing &amp; Refunds</option>' in page
    assert "Queue: General" in page

    for bad in ({"HX-Request": "true"}, {"HX-Request": "true", "X-CSRF-Token": "0" * 64}):
        refused = web.post(
            f"/console/c/{conv.id}/transfer", data={"queue_id": billing}, headers=bad
        )
        assert refused.status_code == 403
    with factory() as session:
        assert conversations.get_conversation(session, conv.id).queue_id != billing

    moved = web.post(
        f"/console/c/{conv.id}/transfer",
        data={"queue_id": billing, "note": "Refund, not shipping"},
        headers=headers,
    )

    assert moved.status_code == 200, moved.text
    assert "Queue: Billing &amp; Refunds" in moved.text
    assert f'<option value="{billing}" disabled>Billing &amp; Refunds (current)</option>' in (
        moved.text
    )
    trigger = json.loads(moved.headers["HX-Trigger-After-Swap"])
    assert trigger["tandem:toast"] == {"message": "Moved to Billing & Refunds", "kind": "success"}
    assert trigger["tandem:transferred"] == {"queue_id": billing}
    side = web.get(f"/console/c/{conv.id}/side").text
    packet_queue = re.search(r'<dd id="packet-queue">(.*?)</dd>', side, re.S)
    assert packet_queue
    packet_text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", packet_queue.group(1))).split())
    assert packet_text == "Billing & Refunds · moved from General"
    thread = web.get(f"/console/c/{conv.id}/messages").text
    assert 'class="msg msg-note"' in thread and "Refund, not shipping" in thread
    with factory() as session:
        types = session.scalars(select(Event.type).where(Event.conversation_id == conv.id)).all()
    assert "conversation.transferred" in types

    again = web.post(f"/console/c/{conv.id}/transfer", data={"queue_id": billing}, headers=headers)
    assert again.status_code == 409 and again.headers["X-Tandem-Error"] == "1"
    assert "already in the Billing & Refunds queue" in again.text
    assert web.post(f"/console/c/{conv.id}/transfer", headers=headers).status_code == 422


def test_the_copilot_queue_action_is_a_button_that_moves_the_conversation(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    billing = add_queue(factory, ws.id, "Billing", "get_refund")
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "Refund my order please")
    triage_as(factory, ws.id, conv.id, "get_refund")
    headers = console_login(web, ws.agent_email)

    panel = web.get(f"/console/c/{conv.id}/copilot").text
    button = re.search(r'<button[^>]*data-transfer-to="([0-9a-f]{32})"[^>]*>', panel)
    assert button and button.group(1) == billing
    assert f'hx-post="/console/c/{conv.id}/transfer"' in button.group(0)
    vals = re.search(r"hx-vals='([^']*)'", button.group(0))
    assert vals and json.loads(html.unescape(vals.group(1))) == {"queue_id": billing}

    moved = web.post(f"/console/c/{conv.id}/transfer", data={"queue_id": billing}, headers=headers)
    assert moved.status_code == 200 and "Queue: Billing" in moved.text
    # Once there, the co-pilot no longer suggests the queue the conversation is in.
    assert "data-transfer-to" not in web.get(f"/console/c/{conv.id}/copilot").text


def test_another_workspaces_queue_or_conversation_cannot_be_used(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    mine, theirs = make_workspace(factory), make_workspace(factory)
    their_queue = add_queue(factory, theirs.id, "Their billing", "get_refund")
    add_queue(factory, mine.id, "Billing", "get_refund")
    own = escalated_conversation(web, factory, mine.id, mine.widget_key, "refund please")
    their_conv = escalated_conversation(web, factory, theirs.id, theirs.widget_key, "theirs")
    headers = console_login(web, mine.agent_email)

    page = web.get(f"/console/c/{own.id}").text
    assert "Their billing" not in page and their_queue not in page
    cross_queue = web.post(
        f"/console/c/{own.id}/transfer", data={"queue_id": their_queue}, headers=headers
    )
    assert cross_queue.status_code == 404 and "queue not found" in cross_queue.text
    cross_conv = web.post(
        f"/console/c/{their_conv.id}/transfer", data={"queue_id": their_queue}, headers=headers
    )
    assert cross_conv.status_code == 404
    with factory() as session:
        theirs_now = session.get(Conversation, their_conv.id)
        their_general = routing.list_queues(session, theirs.id)[0]
    assert theirs_now is not None and theirs_now.queue_id == their_general.id
