"""The public widget contract, its bad-input handling and its isolation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.models import Message

from ..factories import make_workspace, open_conversation

WIDGET = "/api/v1/widget/conversations"


def test_contract_start_post_read(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    started = client.post(
        WIDGET,
        headers={"X-Tandem-Widget-Key": ws.widget_key},
        json={"customer": {"name": "Kim", "email": "Kim@Example.com"}},
    )
    assert started.status_code == 201
    body = started.json()
    assert set(body) == {"conversation_id", "customer_token", "status"}
    assert body["status"] == "ai"
    auth = {"Authorization": f"Bearer {body['customer_token']}"}

    posted = client.post(
        f"{WIDGET}/{body['conversation_id']}/messages",
        headers=auth,
        json={"text": "Where is my order?"},
    )
    assert posted.status_code == 201
    message = posted.json()
    assert message["author"] == "customer"
    assert message["text"] == "Where is my order?"
    assert {"id", "created_at"} <= set(message)

    read = client.get(f"{WIDGET}/{body['conversation_id']}", headers=auth)
    assert read.status_code == 200
    data = read.json()
    assert data["conversation_id"] == body["conversation_id"]
    assert data["status"] == "ai"
    assert [(m["id"], m["author"], m["text"]) for m in data["messages"]] == [
        (message["id"], "customer", "Where is my order?")
    ]
    assert set(data["messages"][0]) >= {"id", "author", "text", "created_at"}


def test_start_without_body(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    response = client.post(WIDGET, headers={"X-Tandem-Widget-Key": ws.widget_key})
    assert response.status_code == 201


@pytest.mark.parametrize("key", [None, "", "wk_nope"])
def test_unknown_widget_key_is_404(client: TestClient, key: str | None) -> None:
    headers = {"X-Tandem-Widget-Key": key} if key is not None else {}
    response = client.post(WIDGET, headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "unknown widget key"


def test_tokens_open_only_their_own_conversation(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws, other_ws = make_workspace(factory), make_workspace(factory)
    mine = open_conversation(client, ws.widget_key)
    theirs = open_conversation(client, ws.widget_key)
    foreign = open_conversation(client, other_ws.widget_key)
    client.post(
        f"{WIDGET}/{theirs.id}/messages", headers=theirs.headers, json={"text": "secret stuff"}
    )
    for target in (theirs, foreign):
        read = client.get(f"{WIDGET}/{target.id}", headers=mine.headers)
        assert read.status_code == 404
        assert "secret" not in read.text
        post = client.post(
            f"{WIDGET}/{target.id}/messages", headers=mine.headers, json={"text": "hi"}
        )
        assert post.status_code == 404
    assert client.get(f"{WIDGET}/{mine.id}").status_code == 404
    assert (
        client.get(f"{WIDGET}/{mine.id}", headers={"Authorization": "Bearer wrong"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("content", "content_type", "status", "fragment"),
    [
        (b'{"text": ""}', "application/json", 422, "empty"),
        (b'{"text": "   "}', "application/json", 422, "empty"),
        (b'{"text": 42}', "application/json", 422, "text"),
        (b'{"nope": "x"}', "application/json", 422, "text"),
        (b'{"text": "hi"', "application/json", 400, "not valid JSON"),
        (b"not json at all", "application/json", 400, "not valid JSON"),
        (b'{"text": "caf\xe9"}', "application/json", 400, "JSON"),
        (b"[]", "application/json", 422, "must be a JSON object"),
        (b'{"text": "hi"}', "text/plain", 422, "Content-Type: application/json"),
        (b'{"text": "a\\u0000b"}', "application/json", 422, "NUL"),
    ],
)
def test_malformed_messages_get_readable_4xx(
    client: TestClient,
    factory: sessionmaker[Session],
    content: bytes,
    content_type: str,
    status: int,
    fragment: str,
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    response = client.post(
        f"{WIDGET}/{conv.id}/messages",
        headers={**conv.headers, "Content-Type": content_type},
        content=content,
    )
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    assert response.json()["error"]["code"] == "invalid"
    # A parse error points at a character, not at a field named after its offset.
    assert all(not d["field"].isdigit() for d in response.json()["error"].get("details", []))
    with factory() as session:
        assert session.scalars(select(Message)).all() == []


def test_oversized_text_is_refused_and_limit_is_exact(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    url = f"{WIDGET}/{conv.id}/messages"
    assert client.post(url, headers=conv.headers, json={"text": "x" * 10_000}).status_code == 201
    too_long = client.post(url, headers=conv.headers, json={"text": "x" * 10_001})
    assert too_long.status_code == 422
    assert "limit is 10000" in too_long.json()["error"]["message"]
    huge = client.post(url, headers=conv.headers, json={"text": "x" * 2_000_000})
    assert huge.status_code == 413


def test_customer_text_is_stored_verbatim_including_markup(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    text = '<script>alert("x")</script> 😀 ¿dónde está? 你好'
    client.post(f"{WIDGET}/{conv.id}/messages", headers=conv.headers, json={"text": text})
    assert (
        client.get(f"{WIDGET}/{conv.id}", headers=conv.headers).json()["messages"][0]["text"]
        == text
    )


def test_201_means_committed(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    response = client.post(
        f"{WIDGET}/{conv.id}/messages", headers=conv.headers, json={"text": "durable?"}
    )
    # A separate connection sees the row as soon as the response is in hand.
    with factory() as session:
        stored = session.scalars(select(Message).where(Message.id == response.json()["id"])).one()
        assert stored.text == "durable?"


def test_concurrent_posts_keep_order_and_lose_nothing(
    live_server, factory: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    ws = make_workspace(factory)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        started = http.post(WIDGET, headers={"X-Tandem-Widget-Key": ws.widget_key}).json()
        headers = {"Authorization": f"Bearer {started['customer_token']}"}
        url = f"{WIDGET}/{started['conversation_id']}/messages"

        def post(i: int) -> dict[str, object]:
            response = http.post(url, headers=headers, json={"text": f"message {i}"})
            assert response.status_code == 201, response.text
            return dict(response.json())

        with ThreadPoolExecutor(max_workers=8) as pool:
            acked = list(pool.map(post, range(40)))
        stored = http.get(f"{WIDGET}/{started['conversation_id']}", headers=headers).json()[
            "messages"
        ]
    customer_messages = [m for m in stored if m["author"] == "customer"]
    assert sorted(m["text"] for m in customer_messages) == sorted(f"message {i}" for i in range(40))
    # Every acknowledged message is stored with the sequence number it was acknowledged with,
    # and the stored order has no gaps or ties.
    by_id = {m["id"]: m for m in stored}
    assert all(by_id[a["id"]]["seq"] == a["seq"] for a in acked)
    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(1, len(stored) + 1))
