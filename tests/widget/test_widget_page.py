"""The chat page, its assets, the embed script, and the customer's "talk to a human" endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.app import create_app
from tandem.config import Settings
from tandem.conversations import service as conversations
from tandem.conversations.state import Action
from tandem.db.session import transaction
from tandem.widget.page import router as widget_page_router
from tandem.workspaces.service import create_workspace

from ..factories import make_workspace, open_conversation

WIDGET = "/api/v1/widget/conversations"


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """Return the app with the widget page router, as the lead mounts it."""
    application = create_app(settings, run_worker=False)
    application.include_router(widget_page_router)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _store(factory: sessionmaker[Session], name: str) -> str:
    with transaction(factory) as session:
        workspace = create_workspace(
            session,
            name=f"store-{abs(hash(name)) % 10_000}",
            settings={"store": {"name": name, "support_hours": "Mon–Fri 9:00–17:00"}},
        )
        return workspace.widget_key


def _csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers["content-security-policy"]
    parts = [p.strip().split(" ", 1) for p in policy.split(";") if p.strip()]
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


# --- the chat page ---------------------------------------------------------------------------


def test_page_renders_for_a_widget_key(client: TestClient, factory: sessionmaker[Session]) -> None:
    key = _store(factory, "Northwind Threads")
    response = client.get("/widget", params={"key": key})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'data-widget-key="{key}"' in html
    assert "<title>Chat with Northwind Threads</title>" in html
    assert "Talk to a human" in html
    assert 'role="log"' in html and 'aria-live="polite"' in html
    assert '<label class="visually-hidden" for="chat-text">Your message</label>' in html
    assert re.search(r'<button type="submit" class="chat__send" disabled', html)
    assert "Mon–Fri 9:00–17:00" in html
    # No inline script or handlers: the strict CSP would block them anyway.
    assert not re.search(r"<script>(?!</script>)|\son[a-z]+=", html)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts == [scripts[0]] and scripts[0].startswith("/widget/static/chat.js?v=")


def test_page_sends_a_strict_csp_that_still_allows_framing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    response = client.get("/widget", params={"key": _store(factory, "Shop")})
    csp = _csp(response)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "*"  # customers' sites embed it in an iframe
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_store_name_is_escaped(client: TestClient, factory: sessionmaker[Session]) -> None:
    key = _store(factory, '<script>alert("x")</script> & Co')
    html = client.get("/widget", params={"key": key}).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


@pytest.mark.parametrize("params", [{}, {"key": ""}, {"key": "wk_unknown"}])
def test_unknown_key_is_a_readable_404_page(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/widget", params=params)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "This chat isn't available" in response.text
    assert "data-widget-key" in response.text  # tells a site owner what to check
    assert "chat.js" not in response.text
    assert _csp(response)["default-src"] == "'none'"


def test_page_assets_are_served_with_types_and_validators(client: TestClient) -> None:
    css = client.get("/widget/static/widget.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    js = client.get("/widget/static/chat.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in js.text  # message text is only ever set with textContent
    assert "textContent" in js.text
    again = client.get("/widget/static/chat.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    missing = client.get("/widget/static/../page.py")
    assert missing.status_code == 404
    assert client.get("/widget/static/page.py").status_code == 404


# --- the embed script ------------------------------------------------------------------------


def test_embed_script_type_caching_and_no_secrets(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    key = _store(factory, "Shop")
    conversation = open_conversation(client, key)
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    cache = response.headers["cache-control"]
    assert "public" in cache and "max-age=" in cache
    assert response.headers["etag"]
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    body = response.text
    assert "data-widget-key" in body and "currentScript" in body
    for secret in (key, conversation.token, settings.secret_key):
        assert secret not in body
    assert not re.search(r"\b(wk|ct|tk)_[A-Za-z0-9_-]{16,}", body)  # no key or token of any kind
    # The same bytes for everyone: nothing about the caller is baked in.
    other = client.get("/widget.js", headers={"Cookie": "tandem_session=abc"})
    assert other.content == response.content
    assert (
        client.get("/widget.js", headers={"If-None-Match": response.headers["etag"]}).status_code
        == 304
    )


# --- POST /api/v1/widget/conversations/{id}/handoff ------------------------------------------


def _messages(client: TestClient, conversation) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    read = client.get(f"{WIDGET}/{conversation.id}", headers=conversation.headers)
    assert read.status_code == 200
    messages: list[dict[str, object]] = read.json()["messages"]
    return messages


def test_customer_asks_for_a_human(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conversation = open_conversation(client, ws.widget_key)
    response = client.post(f"{WIDGET}/{conversation.id}/handoff", headers=conversation.headers)
    assert response.status_code == 200
    assert response.json() == {"conversation_id": conversation.id, "status": "waiting_for_human"}
    messages = _messages(client, conversation)
    assert [m["author"] for m in messages] == ["system"]
    assert "support team" in str(messages[0]["text"])


def test_asking_twice_changes_nothing(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conversation = open_conversation(client, ws.widget_key)
    url = f"{WIDGET}/{conversation.id}/handoff"
    first = client.post(url, headers=conversation.headers, json={})
    second = client.post(url, headers=conversation.headers, json={})
    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "waiting_for_human"
    assert [m["author"] for m in _messages(client, conversation)] == ["system"]


def test_reason_is_kept_as_the_customers_message(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conversation = open_conversation(client, ws.widget_key)
    response = client.post(
        f"{WIDGET}/{conversation.id}/handoff",
        headers=conversation.headers,
        json={"reason": "The answer did not cover my case"},
    )
    assert response.status_code == 200
    messages = _messages(client, conversation)
    assert [(m["author"], m["text"]) for m in messages[:1]] == [
        ("customer", "The answer did not cover my case")
    ]
    assert messages[-1]["author"] == "system"


def test_a_resolved_conversation_reopens_to_the_humans(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conversation = open_conversation(client, ws.widget_key)
    with transaction(factory, ws.id) as session:
        conversations.change_status(
            session,
            conversations.get_conversation(session, conversation.id, lock=True),
            Action.RESOLVE,
            actor_type="user",
        )
    response = client.post(f"{WIDGET}/{conversation.id}/handoff", headers=conversation.headers)
    assert response.status_code == 200
    assert response.json()["status"] == "waiting_for_human"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, None),
        ({"Authorization": "Bearer ct_wrong"}, None),
    ],
)
def test_handoff_needs_the_conversations_token(
    client: TestClient, factory: sessionmaker[Session], headers: dict[str, str], body: object
) -> None:
    ws = make_workspace(factory)
    conversation = open_conversation(client, ws.widget_key)
    response = client.post(f"{WIDGET}/{conversation.id}/handoff", headers=headers, json=body)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "conversation not found"
    other = open_conversation(client, ws.widget_key)
    cross = client.post(f"{WIDGET}/{conversation.id}/handoff", headers=other.headers)
    assert cross.status_code == 404
    assert _messages(client, conversation) == []


def test_handoff_rejects_unknown_fields_readably(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conversation = open_conversation(client, ws.widget_key)
    response = client.post(
        f"{WIDGET}/{conversation.id}/handoff", headers=conversation.headers, json={"why": "x"}
    )
    assert response.status_code == 422
    assert "why" in response.json()["error"]["message"]
