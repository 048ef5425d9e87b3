"""API tokens: scopes, expiry, listing, revoking and last-used time on the team API."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.base import utcnow
from tandem.events.models import Event
from tandem.users.models import ApiToken, User

from ..factories import login, make_workspace, open_conversation

TOKENS = "/api/v1/tokens"


def _token(client: TestClient, email: str, **body: object) -> dict[str, object]:
    csrf = login(client, email)
    response = client.post(TOKENS, headers=csrf, json={"name": "crm", **body})
    assert response.status_code == 201, response.text
    client.cookies.clear()
    data: dict[str, object] = response.json()
    return data


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_read_only_token_reads_but_never_writes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    made = _token(client, ws.admin_email, scope="read")
    assert made["scope"] == "read"
    auth = _bearer(made["token"])
    assert client.get("/api/v1/conversations", headers=auth).status_code == 200
    for method, url, body in [
        ("POST", f"/api/v1/conversations/{conv.id}/messages", {"text": "hi"}),
        ("POST", "/api/v1/queues", {"name": "Sneaky"}),
        ("POST", TOKENS, {"name": "escalate"}),
        ("DELETE", f"{TOKENS}/{made['id']}", None),
        ("PUT", "/api/v1/me/presence", {"presence": "away"}),
    ]:
        refused = client.request(method, url, headers=auth, json=body)
        assert refused.status_code == 403, (method, url, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
        assert "read-only" in refused.json()["error"]["message"]
    # A full token of the same user may write.
    full = _bearer(_token(client, ws.admin_email)["token"])
    assert client.post("/api/v1/queues", headers=full, json={"name": "Billing"}).status_code == 201


def test_tokens_expire(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    made = _token(client, ws.agent_email, expires_in_days=7)
    expires = made["expires_at"]
    assert isinstance(expires, str)
    with factory() as session:
        record = session.get(ApiToken, made["id"])
        assert record is not None and record.expires_at is not None
        assert abs(record.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)
    auth = _bearer(made["token"])
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    with factory() as session:
        record = session.get(ApiToken, made["id"])
        assert record is not None
        record.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    expired = client.get("/api/v1/me", headers=auth)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "unauthenticated"


def test_expiry_must_be_sane(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    csrf = login(client, ws.agent_email)
    at = (utcnow() + timedelta(days=30)).isoformat()
    ok = client.post(TOKENS, headers=csrf, json={"name": "a", "expires_at": at})
    assert ok.status_code == 201 and ok.json()["expires_at"].startswith(at[:16])
    naive = (utcnow() + timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert (
        client.post(TOKENS, headers=csrf, json={"name": "n", "expires_at": naive}).status_code
        == 201
    )
    for body in [
        {"name": "past", "expires_at": (utcnow() - timedelta(days=1)).isoformat()},
        {"name": "both", "expires_at": at, "expires_in_days": 3},
        {"name": "zero", "expires_in_days": 0},
        {"name": "forever", "expires_in_days": 100_000},
        {"name": "scope", "scope": "admin"},
    ]:
        refused = client.post(TOKENS, headers=csrf, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["code"] == "invalid"


def test_listing_shows_no_secrets_and_respects_roles(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    other = make_workspace(factory)
    agents = _token(client, ws.agent_email, scope="read")
    admins = _token(client, ws.admin_email)
    _token(client, other.admin_email)  # another workspace: never listed
    csrf = login(client, ws.admin_email)
    listed = client.get(TOKENS, headers=csrf).json()
    assert {t["id"] for t in listed} == {agents["id"], admins["id"]}
    for row in listed:
        assert "token" not in row and "token_hash" not in row
        assert set(row) >= {"name", "scope", "created_at", "last_used_at", "expires_at", "expired"}
    assert {t["user_email"] for t in listed} == {ws.agent_email, ws.admin_email}
    # Session cookies are tokens too, but they are not API tokens.
    assert all(t["name"] == "crm" for t in listed)
    login(client, ws.agent_email)
    mine = client.get(TOKENS).json()
    assert [t["id"] for t in mine] == [agents["id"]]


def test_revoking_stops_a_token_at_once(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    agents = _token(client, ws.agent_email)
    admins = _token(client, ws.admin_email)
    auth = _bearer(agents["token"])
    # An agent cannot revoke someone else's token (and cannot tell it exists).
    assert client.delete(f"{TOKENS}/{admins['id']}", headers=auth).status_code == 404
    assert client.delete(f"{TOKENS}/{agents['id']}", headers=auth).status_code == 204
    assert client.get("/api/v1/me", headers=auth).status_code == 401
    # An admin revokes anyone's token in the workspace.
    again = _token(client, ws.agent_email)
    admin_auth = _bearer(admins["token"])
    assert client.delete(f"{TOKENS}/{again['id']}", headers=admin_auth).status_code == 204
    assert client.get("/api/v1/me", headers=_bearer(again["token"])).status_code == 401
    assert client.delete(f"{TOKENS}/{again['id']}", headers=admin_auth).status_code == 404


def test_admins_cannot_revoke_another_workspaces_token(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    other = make_workspace(factory)
    theirs = _token(client, other.agent_email)
    mine = _bearer(_token(client, ws.admin_email)["token"])
    assert client.delete(f"{TOKENS}/{theirs['id']}", headers=mine).status_code == 404
    assert client.get("/api/v1/me", headers=_bearer(theirs["token"])).status_code == 200


def test_last_used_is_recorded_at_most_once_a_minute(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    made = _token(client, ws.agent_email)
    auth = _bearer(made["token"])

    def last_used() -> object:
        with factory() as session:
            record = session.get(ApiToken, made["id"])
            assert record is not None
            return record.last_used_at

    assert last_used() is None
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    first = last_used()
    assert first is not None
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert last_used() == first  # within the minute: no write
    with factory() as session:
        record = session.get(ApiToken, made["id"])
        assert record is not None
        record.last_used_at = utcnow() - timedelta(minutes=5)
        session.commit()
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    latest = last_used()
    assert isinstance(latest, type(utcnow())) and utcnow() - latest < timedelta(minutes=1)
    csrf = login(client, ws.agent_email)
    listed = client.get(TOKENS, headers=csrf).json()
    assert listed[0]["last_used_at"] is not None


def test_token_changes_are_audited(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    made = _token(client, ws.agent_email, scope="read")
    csrf = login(client, ws.admin_email)
    assert client.delete(f"{TOKENS}/{made['id']}", headers=csrf).status_code == 204
    with factory() as session:
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        admin = session.scalars(select(User).where(User.email == ws.admin_email)).one()
        events = session.scalars(
            select(Event).where(Event.type.like("token.%")).order_by(Event.id)
        ).all()
    assert [(e.type, e.actor_id) for e in events] == [
        ("token.created", agent.id),
        ("token.revoked", admin.id),
    ]
    assert events[0].data["scope"] == "read" and events[0].data["name"] == "crm"
    assert "token" not in events[0].data and made["token"] not in str(events[0].data)
