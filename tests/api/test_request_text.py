"""NUL characters and lone surrogates are refused at the request layer, on every database."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tandem.api.middleware import RejectInvalidText
from tandem.conversations.models import Message
from tandem.customers.models import Customer

from ..factories import PASSWORD, login, make_workspace, open_conversation

NUL = "\u0000"


def _assert_refused(response, *, status: int = 422) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_nul_in_widget_customer_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    headers = {"X-Tandem-Widget-Key": ws.widget_key}
    for customer in ({"name": f"Ann{NUL}"}, {"email": f"ann{NUL}@example.com"}):
        response = client.post(
            "/api/v1/widget/conversations", headers=headers, json={"customer": customer}
        )
        _assert_refused(response)
        assert "NUL" in response.json()["error"]["message"]
    assert _count(factory, Customer) == 0


def test_nul_in_path_query_header_and_key_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    auth = login(client, ws.admin_email)
    _assert_refused(client.get("/api/v1/conversations/abc%00def"))
    _assert_refused(client.get("/api/v1/conversations?status=open%00"))
    _assert_refused(
        client.post(
            "/api/v1/widget/conversations", headers={"X-Tandem-Widget-Key": ws.widget_key + NUL}
        )
    )
    _assert_refused(client.patch("/api/v1/queues/x%00y", headers=auth, json={"name": "Q"}))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/queues", {"name": f"Billing{NUL}"}),
        ("/api/v1/tokens", {"name": f"ci{NUL}"}),
        ("/api/v1/sla-policies", {"name": f"Gold{NUL}"}),
        ("/api/v1/queues", {"name": "Billing", "intents": [f"refund{NUL}"]}),
        ("/api/v1/users", {"email": "x@y.test", "name": "X", "password": PASSWORD, NUL: 1}),
    ],
)
def test_nul_in_team_api_json_is_refused(
    client: TestClient, factory: sessionmaker[Session], path: str, body: dict[str, object]
) -> None:
    ws = make_workspace(factory)
    auth = login(client, ws.admin_email)
    _assert_refused(client.post(path, headers=auth, json=body))


def test_nul_in_login_json_and_form_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    _assert_refused(
        client.post("/api/v1/auth/login", json={"email": ws.agent_email + NUL, "password": "x"})
    )
    _assert_refused(client.post("/login", data={"email": ws.agent_email + NUL, "password": "x"}))
    # Raw bytes in a form body are refused the same way as the %00 escape.
    _assert_refused(
        client.post(
            "/login",
            content=b"email=a\x00b&password=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    )


def test_lone_surrogate_in_message_text_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    chat = open_conversation(client, ws.widget_key)
    raw = b'{"text": "\\ud800abc"}'
    json_headers = {"Content-Type": "application/json"}
    response = client.post(
        f"/api/v1/widget/conversations/{chat.id}/messages",
        content=raw,
        headers={**chat.headers, **json_headers},
    )
    _assert_refused(response)
    assert "surrogate" in response.json()["error"]["message"]
    auth = login(client, ws.agent_email)
    response = client.post(
        f"/api/v1/conversations/{chat.id}/messages",
        content=raw,
        headers={**auth, **json_headers},
    )
    _assert_refused(response)
    assert _count(factory, Message) == 0


def test_ordinary_text_still_passes(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    chat = open_conversation(client, ws.widget_key, name="Zoë \\u0000 literally")
    # An escaped backslash followed by "u0000" is text, not a NUL; a valid pair is an emoji.
    response = client.post(
        f"/api/v1/widget/conversations/{chat.id}/messages",
        content=b'{"text": "path C:\\\\u0000 and \\ud83d\\ude00"}',
        headers={**chat.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["text"] == "path C:\\u0000 and \U0001f600"


async def _run(app, messages: list[dict[str, object]], headers: list[tuple[bytes, bytes]]):  # type: ignore[no-untyped-def]
    """Drive an ASGI app with a request made of several body chunks; return what was sent."""
    queue = list(messages)
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "query_string": b"",
        "headers": headers,
    }
    await app(scope, receive, send)
    return sent


def test_middleware_replays_a_chunked_body_and_then_passes_receive_through() -> None:
    seen: list[object] = []

    async def downstream(scope, receive, send):  # type: ignore[no-untyped-def]
        first = await receive()
        seen.append(first["body"])
        seen.append(first.get("more_body", False))
        seen.append((await receive())["type"])  # a stream waiting for the client to leave
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RejectInvalidText(downstream)
    chunks = [
        {"type": "http.request", "body": b'{"text": "hel', "more_body": True},
        {"type": "http.request", "body": b'lo"}', "more_body": False},
    ]
    sent = asyncio.run(_run(app, chunks, [(b"content-type", b"application/json")]))
    assert sent[0]["status"] == 204
    assert seen == [b'{"text": "hello"}', False, "http.disconnect"]

    bad = [{"type": "http.request", "body": b'{"a": ["\\u0000"], "b": {"c": "\\udfff"}}'}]
    sent = asyncio.run(_run(app, bad, [(b"content-type", b"application/json")]))
    assert sent[0]["status"] == 422
    assert b"a.0" in sent[1]["body"]  # type: ignore[operator]
