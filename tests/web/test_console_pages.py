"""Queue and conversation pages: what they show, escaping, isolation, the agent's actions."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.db.base import utcnow
from tandem.db.session import transaction
from tandem.handoff.service import request_human
from tandem.users.models import User

from ..factories import PASSWORD, make_workspace, open_conversation
from .conftest import FORM_TOKEN, console_login, escalated_conversation

XSS_NAME = '<img src=x onerror="window.__xss=1">'
XSS_TEXT = "My order <script>window.__xss=1</script> never arrived"


def _row_ids(html: str) -> list[str]:
    return re.findall(r'data-conversation="([0-9a-f]{32})"', html)


def test_customer_html_is_escaped_in_queue_and_conversation(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, XSS_TEXT, name=XSS_NAME)
    console_login(web, ws.agent_email)
    for url in ("/console?tab=waiting", "/console/queue?tab=all", f"/console/c/{conv.id}"):
        html = web.get(url).text
        assert "<script>window.__xss" not in html, url
        assert "<img src=x" not in html, url
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html, url
        assert "&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;" in html, url


def test_tabs_show_waiting_mine_and_all(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    waiting = escalated_conversation(web, factory, ws.id, ws.widget_key, "I need a person")
    taken = escalated_conversation(web, factory, ws.id, ws.widget_key, "Refund please")
    with_ai = open_conversation(web, ws.widget_key)
    headers = console_login(web, ws.agent_email)
    assert web.post(f"/console/c/{taken.id}/assign", headers=headers).status_code == 200

    waiting_tab = web.get("/console/queue?tab=waiting").text
    mine_tab = web.get("/console/queue?tab=mine").text
    all_tab = web.get("/console/queue?tab=all").text
    assert _row_ids(waiting_tab) == [waiting.id]
    assert _row_ids(mine_tab) == [taken.id]
    assert set(_row_ids(all_tab)) == {waiting.id, taken.id, with_ai.id}
    assert "I need a person" in waiting_tab
    assert web.get("/console/queue?tab=nope").status_code == 422


def test_queue_sorts_by_priority_then_wait(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    ids = [
        escalated_conversation(web, factory, ws.id, ws.widget_key, f"question {n}").id
        for n in range(3)
    ]
    now = utcnow()
    with transaction(factory, ws.id) as session:
        rows = {c.id: c for c in session.scalars(select(Conversation))}
        rows[ids[0]].priority, rows[ids[0]].escalated_at = 1, now - timedelta(minutes=5)
        rows[ids[1]].priority, rows[ids[1]].escalated_at = 1, now - timedelta(minutes=50)
        rows[ids[2]].priority, rows[ids[2]].escalated_at = 3, now - timedelta(minutes=1)
    console_login(web, ws.agent_email)
    html = web.get("/console/queue?tab=waiting").text
    assert _row_ids(html) == [ids[2], ids[1], ids[0]]
    assert "Urgent" in html and "50m" in html


def test_other_workspaces_stay_invisible(web: TestClient, factory: sessionmaker[Session]) -> None:
    mine, theirs = make_workspace(factory), make_workspace(factory)
    secret = escalated_conversation(
        web, factory, theirs.id, theirs.widget_key, "their secret", name="Other Customer"
    )
    own = escalated_conversation(web, factory, mine.id, mine.widget_key, "our question")
    headers = console_login(web, mine.agent_email)
    for tab in ("waiting", "mine", "all"):
        html = web.get(f"/console/queue?tab={tab}").text
        assert secret.id not in html and "their secret" not in html
    assert own.id in web.get("/console/queue?tab=all").text
    for suffix in ("", "/messages", "/head", "/side", "/copilot"):
        assert web.get(f"/console/c/{secret.id}{suffix}").status_code == 404
    for suffix, data in (
        ("/reply", {"text": "hi"}),
        ("/assign", {}),
        ("/status", {"action": "resolve"}),
        ("/check", {"text": "x"}),
    ):
        assert (
            web.post(f"/console/c/{secret.id}{suffix}", data=data, headers=headers).status_code
            == 404
        )
    with factory() as session:
        their_agent = session.scalars(select(User.id).where(User.email == theirs.agent_email)).one()
    cross = web.post(f"/console/c/{own.id}/assign", data={"user_id": their_agent}, headers=headers)
    assert cross.status_code == 404
    page = web.get(f"/console/c/{own.id}").text
    assert theirs.agent_email not in page and "Other Customer" not in page


def test_agent_replies_notes_and_moves_the_conversation(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "Where is order 12345?")
    headers = console_login(web, ws.agent_email)
    page = web.get(f"/console/c/{conv.id}")
    assert page.status_code == 200
    assert "Handoff packet" in page.text and "human requested" in page.text

    note = web.post(
        f"/console/c/{conv.id}/reply",
        data={"text": "VIP, be quick", "mode": "note"},
        headers=headers,
    )
    assert 'class="msg msg-note"' in note.text
    reply = web.post(
        f"/console/c/{conv.id}/reply",
        data={"text": "It ships today.", "mode": "reply"},
        headers=headers,
    )
    assert reply.status_code == 200 and 'class="msg msg-agent"' in reply.text
    customer_view = web.get(
        f"/api/v1/widget/conversations/{conv.id}", headers={"Authorization": f"Bearer {conv.token}"}
    ).json()
    texts = [m["text"] for m in customer_view["messages"]]
    assert "It ships today." in texts and "VIP, be quick" not in texts
    assert customer_view["status"] == "human"

    resolved = web.post(f"/console/c/{conv.id}/status", data={"action": "resolve"}, headers=headers)
    assert 'data-status="resolved"' in resolved.text and 'id="reopen"' in resolved.text
    again = web.post(f"/console/c/{conv.id}/status", data={"action": "resolve"}, headers=headers)
    assert again.status_code == 409
    assert again.headers["X-Tandem-Error"] == "1" and "cannot resolve" in again.text
    reopened = web.post(f"/console/c/{conv.id}/status", data={"action": "reopen"}, headers=headers)
    assert 'data-status="human"' in reopened.text
    back = web.post(f"/console/c/{conv.id}/status", data={"action": "hand_back"}, headers=headers)
    assert 'data-status="ai"' in back.text
    bad = web.post(f"/console/c/{conv.id}/status", data={"action": "explode"}, headers=headers)
    assert bad.status_code == 422


def test_blocking_compliance_flag_stops_the_reply(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "Can you charge my card?")
    headers = console_login(web, ws.agent_email)
    draft = "Sure, I charged 4111 1111 1111 1111 for you."
    check = web.post(f"/console/c/{conv.id}/check", data={"text": draft}, headers=headers)
    assert 'data-severity="block"' in check.text
    assert "4111 1111 1111 1111" in check.text
    refused = web.post(f"/console/c/{conv.id}/reply", data={"text": draft}, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["HX-Retarget"] == "#flags"
    assert "Not sent" in refused.text
    with factory() as session:
        assert not session.scalars(select(Message).where(Message.author == "agent")).all()
    fixed = web.post(
        f"/console/c/{conv.id}/reply",
        data={"text": "Sure, I charged the card ending in 1111."},
        headers=headers,
    )
    assert fixed.status_code == 200
    # A private note is for the team, so it is not blocked, but the card is masked there too.
    note = web.post(
        f"/console/c/{conv.id}/reply", data={"text": draft, "mode": "note"}, headers=headers
    )
    assert note.status_code == 200
    assert "4111 1111 1111 1111" not in note.text and "•••• •••• •••• 1111" in note.text
    assert "card number hidden" in note.text


def test_a_card_number_a_customer_sent_is_shown_masked_with_a_flag(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(
        web, factory, ws.id, ws.widget_key, "Charge 5555 5555 5555 4444 again please"
    )
    console_login(web, ws.agent_email)
    page = web.get(f"/console/c/{conv.id}").text
    assert "5555 5555 5555 4444" not in page and "5555555555554444" not in page
    assert "Charge •••• •••• •••• 4444 again please" in page
    assert "card number hidden" in page
    assert "For your security we hid the card number" in page  # what the customer was told


def test_assign_to_a_teammate_and_presence(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "Hello")
    headers = console_login(web, ws.supervisor_email)
    with factory() as session:
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
    head = web.post(f"/console/c/{conv.id}/assign", data={"user_id": agent.id}, headers=headers)
    assert head.status_code == 200
    assert f"Assigned to <strong>{agent.name}</strong>" in head.text
    with transaction(factory, ws.id) as session:
        assert conversations.get_conversation(session, conv.id).assignee_id == agent.id

    away = web.post("/console/presence", data={"presence": "away"}, headers=headers)
    assert 'data-presence="away"' in away.text and 'aria-pressed="true"' in away.text
    with factory() as session:
        me = session.scalars(select(User).where(User.email == ws.supervisor_email)).one()
        assert me.presence == "away"
    assert (
        web.post("/console/presence", data={"presence": "gone"}, headers=headers).status_code == 422
    )


def test_the_queue_shows_what_the_customer_needs_not_their_first_hello(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(web, ws.widget_key)
    for text in (
        "hi",
        "My parcel NW-551234 still hasn't arrived",
        "This is ridiculous, third time I'm asking, nobody helps!!!",
    ):
        sent = web.post(
            f"/api/v1/widget/conversations/{conv.id}/messages",
            headers=conv.headers,
            json={"text": text},
        )
        assert sent.status_code == 201
    with_ai = open_conversation(web, ws.widget_key)  # never handed over: no packet
    for text in ("hello", "Can I change the delivery address of my order?"):
        web.post(
            f"/api/v1/widget/conversations/{with_ai.id}/messages",
            headers=with_ai.headers,
            json={"text": text},
        )
    with transaction(factory, ws.id) as session:
        conversation = conversations.get_conversation(session, conv.id, lock=True)
        assert request_human(session, conversation, trigger="customer")
    console_login(web, ws.agent_email)

    rows = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(
            r'data-conversation="([0-9a-f]{32})".*?<td class="cell-line">(.*?)</td>',
            web.get("/console/queue?tab=all").text,
            re.S,
        )
    }
    assert rows[conv.id] == "My parcel NW-551234 still hasn&#39;t arrived"
    assert rows[with_ai.id] == "Can I change the delivery address of my order?"

    side = web.get(f"/console/c/{conv.id}/side").text
    need = re.search(r'<dd id="packet-need">(.*?)</dd>', side, re.S)
    assert need and "My parcel NW-551234" in need.group(1)
    assert 'id="packet-intent"' not in side  # nothing was triaged: no intent label at all


def test_intent_labels_show_only_with_a_confidence_above_the_bar(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "My jacket has a hole")
    with transaction(factory, ws.id) as session:
        [message] = session.scalars(
            select(Message).where(Message.conversation_id == conv.id, Message.author == "customer")
        )
        message.meta = {"triage": {"intent": "legal_complaint", "confidence": 0.41}}
    console_login(web, ws.agent_email)
    thread = web.get(f"/console/c/{conv.id}/messages").text
    assert "legal_complaint" not in thread and "legal complaint" not in thread
    with transaction(factory, ws.id) as session:
        [message] = session.scalars(
            select(Message).where(Message.conversation_id == conv.id, Message.author == "customer")
        )
        message.meta = {"triage": {"intent": "damaged_item", "confidence": 0.92}}
    assert "damaged_item 92%" in web.get(f"/console/c/{conv.id}/messages").text


def test_the_login_form_lets_an_agent_start_away(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    page = web.get("/login")
    assert 'name="presence"' in page.text
    token = FORM_TOKEN.search(page.text)
    assert token
    form = {"email": ws.agent_email, "password": PASSWORD, "form_token": token.group(1)}
    assert web.post("/login", data={**form, "presence": "away"}).status_code == 303
    with factory() as session:
        me = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        assert me.presence == "away"  # logged in, but routing gives no chats


def test_a_mistyped_console_address_gets_a_page_not_json(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    before = web.get("/console/nope", headers={"Accept": "text/html"})
    assert before.status_code == 404 and "There is no page at this address." in before.text
    console_login(web, ws.agent_email)
    page = web.get("/console/conversations/nope", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text
    # The team API keeps its JSON errors, whatever the client accepts.
    api = web.get("/api/v1/nope", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
