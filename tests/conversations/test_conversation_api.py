"""The team's conversation API end to end over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ..factories import login, make_workspace, open_conversation

CONVERSATIONS = "/api/v1/conversations"
WIDGET = "/api/v1/widget/conversations"


def test_agent_claims_replies_resolves_and_customer_sees_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key, name="Kim")
    client.post(f"{WIDGET}/{conv.id}/messages", headers=conv.headers, json={"text": "I need help"})
    csrf = login(client, ws.agent_email)
    # Logged in means online; away, routing assigns nothing and the agent claims it instead.
    client.put("/api/v1/me/presence", headers=csrf, json={"presence": "away"})

    listed = client.get(CONVERSATIONS, params={"status": "ai"}).json()
    assert [c["id"] for c in listed] == [conv.id]
    assert listed[0]["customer_name"] == "Kim"

    escalated = client.post(
        f"{CONVERSATIONS}/{conv.id}/status", headers=csrf, json={"action": "escalate"}
    )
    assert escalated.json()["status"] == "waiting_for_human"
    claimed = client.post(f"{CONVERSATIONS}/{conv.id}/assign", headers=csrf, json={})
    assert claimed.status_code == 200
    assert claimed.json()["status"] == "human"
    me = client.get("/api/v1/me").json()["user"]["id"]
    assert claimed.json()["assignee_id"] == me
    assert [c["id"] for c in client.get(CONVERSATIONS, params={"mine": True}).json()] == [conv.id]

    client.post(
        f"{CONVERSATIONS}/{conv.id}/messages", headers=csrf, json={"text": "note", "private": True}
    )
    reply = client.post(
        f"{CONVERSATIONS}/{conv.id}/messages", headers=csrf, json={"text": "Happy to help"}
    )
    assert reply.status_code == 201
    assert reply.json()["author"] == "agent"

    customer_view = client.get(f"{WIDGET}/{conv.id}", headers=conv.headers).json()
    # The escalation told the customer a person is coming; the private note stays private.
    assert [m["author"] for m in customer_view["messages"]] == ["customer", "system", "agent"]
    assert customer_view["messages"][1]["text"].startswith("I'm passing this conversation")
    assert [m["text"] for m in customer_view["messages"]][::2] == ["I need help", "Happy to help"]
    team_view = client.get(f"{CONVERSATIONS}/{conv.id}").json()
    assert [m["is_private"] for m in team_view["messages"]] == [False, False, True, False]

    resolved = client.post(
        f"{CONVERSATIONS}/{conv.id}/status", headers=csrf, json={"action": "resolve"}
    )
    assert resolved.json()["status"] == "resolved"
    again = client.post(
        f"{CONVERSATIONS}/{conv.id}/status", headers=csrf, json={"action": "resolve"}
    )
    assert again.status_code == 409
    assert "cannot resolve" in again.json()["error"]["message"]


def test_bad_requests_are_4xx(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    csrf = login(client, ws.agent_email)
    assert (
        client.post(
            f"{CONVERSATIONS}/{conv.id}/status", headers=csrf, json={"action": "explode"}
        ).status_code
        == 422
    )
    assert client.get(CONVERSATIONS, params={"status": "bogus"}).status_code == 422
    assert client.get(CONVERSATIONS, params={"limit": 0}).status_code == 422
    # An empty user id is a mistake, not "claim it yourself" (that is omitting the field).
    empty = client.post(f"{CONVERSATIONS}/{conv.id}/assign", headers=csrf, json={"user_id": ""})
    assert empty.status_code == 422 and "user_id" in empty.text
    assert client.get(f"{CONVERSATIONS}/does-not-exist").status_code == 404
    assert (
        client.post(
            f"{CONVERSATIONS}/{conv.id}/messages", headers=csrf, json={"text": ""}
        ).status_code
        == 422
    )
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/api/v1/nope").status_code == 404


def test_a_time_without_a_zone_is_read_as_utc_not_a_500(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    # Found by a newcomer check: updated_before=2026-12-07T00:00:00 answered 500.
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    login(client, ws.agent_email)
    for value in ("2000-01-01T00:00:00", "2000-01-01"):
        old = client.get(CONVERSATIONS, params={"updated_before": value})
        assert old.status_code == 200, old.text
        assert old.json() == []
    for value in ("9999-12-31T23:59:59", "9999-12-31T23:59:59+02:00"):
        later = client.get(CONVERSATIONS, params={"updated_before": value})
        assert [c["id"] for c in later.json()] == [conv.id]
    bad = client.get(CONVERSATIONS, params={"updated_before": "yesterday"})
    assert bad.status_code == 422 and "updated_before" in bad.text
