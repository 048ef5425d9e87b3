"""Login, CSRF, API tokens, roles and workspace isolation on the team API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.users.models import ApiToken, User

from ..factories import PASSWORD, login, make_workspace, open_conversation

CONVERSATIONS = "/api/v1/conversations"


def test_passwords_and_tokens_are_stored_hashed(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    csrf = login(client, ws.agent_email)
    token = client.post("/api/v1/tokens", headers=csrf, json={"name": "crm"}).json()["token"]
    with factory() as session:
        user = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        assert user.password_hash.startswith("$argon2")
        assert PASSWORD not in user.password_hash
        hashes = session.scalars(select(ApiToken.token_hash)).all()
        assert token not in hashes and all(len(h) == 64 for h in hashes)


def test_wrong_password_and_unknown_email_look_the_same(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    wrong = client.post(
        "/api/v1/auth/login", json={"email": ws.agent_email, "password": "nope-nope"}
    )
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "ghost@x.test", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_cookie_writes_need_the_csrf_token(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    csrf = login(client, ws.agent_email)
    url = f"{CONVERSATIONS}/{conv.id}/messages"
    refused = client.post(url, json={"text": "hello"})
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["error"]["message"]
    assert (
        client.post(url, headers={"X-CSRF-Token": "forged"}, json={"text": "hello"}).status_code
        == 403
    )
    assert client.post(url, headers=csrf, json={"text": "hello"}).status_code == 201
    # Reads need no CSRF token.
    assert client.get(f"{CONVERSATIONS}/{conv.id}").status_code == 200


def test_api_token_works_without_cookie_or_csrf(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    csrf = login(client, ws.agent_email)
    token = client.post("/api/v1/tokens", headers=csrf, json={"name": "crm"}).json()["token"]
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get(CONVERSATIONS, headers=auth)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [conv.id]
    assert (
        client.post(
            f"{CONVERSATIONS}/{conv.id}/messages", headers=auth, json={"text": "hi"}
        ).status_code
        == 201
    )
    assert (
        client.get(CONVERSATIONS, headers={"Authorization": "Bearer tdm_forged"}).status_code == 401
    )
    assert client.get(CONVERSATIONS).status_code == 401


def test_logout_revokes_the_session(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    csrf = login(client, ws.agent_email)
    cookie = client.cookies.get("tandem_session")
    assert client.post("/api/v1/auth/logout", headers=csrf).status_code == 204
    client.cookies.set("tandem_session", cookie)
    assert client.get("/api/v1/me").status_code == 401


def test_only_admins_create_users(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    new_user = {"email": "new@x.test", "name": "New", "password": "long-enough-pw", "role": "agent"}
    for email in (ws.agent_email, ws.supervisor_email):
        client.cookies.clear()
        csrf = login(client, email)
        assert client.post("/api/v1/users", headers=csrf, json=new_user).status_code == 403
    client.cookies.clear()
    csrf = login(client, ws.admin_email)
    created = client.post("/api/v1/users", headers=csrf, json=new_user)
    assert created.status_code == 201
    assert created.json()["workspace_id"] == ws.id
    duplicate = client.post("/api/v1/users", headers=csrf, json=new_user)
    assert duplicate.status_code == 409


def test_team_api_never_crosses_workspaces(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    mine, theirs = make_workspace(factory), make_workspace(factory)
    their_conv = open_conversation(client, theirs.widget_key)
    client.post(
        f"/api/v1/widget/conversations/{their_conv.id}/messages",
        headers=their_conv.headers,
        json={"text": "private matter"},
    )
    with factory() as session:
        their_agent = session.scalars(select(User.id).where(User.email == theirs.agent_email)).one()
    csrf = login(client, mine.admin_email)
    assert client.get(CONVERSATIONS).json() == []
    for method, path, body in [
        ("GET", f"{CONVERSATIONS}/{their_conv.id}", None),
        ("POST", f"{CONVERSATIONS}/{their_conv.id}/messages", {"text": "hi"}),
        ("POST", f"{CONVERSATIONS}/{their_conv.id}/assign", {}),
        ("POST", f"{CONVERSATIONS}/{their_conv.id}/status", {"action": "resolve"}),
    ]:
        response = client.request(method, path, headers=csrf, json=body)
        assert response.status_code == 404, (path, response.text)
        assert "private matter" not in response.text
    # Nor can one assign a conversation of one's own to another workspace's agent.
    my_conv = open_conversation(client, mine.widget_key)
    response = client.post(
        f"{CONVERSATIONS}/{my_conv.id}/assign", headers=csrf, json={"user_id": their_agent}
    )
    assert response.status_code == 404
    assert {u["email"] for u in client.get("/api/v1/users").json()} == {
        mine.admin_email,
        mine.supervisor_email,
        mine.agent_email,
    }


def test_api_login_makes_the_agent_online_and_logout_offline(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)

    def presence() -> str:
        with factory() as session:
            return session.scalars(select(User.presence).where(User.email == ws.agent_email)).one()

    assert presence() == "offline"
    csrf = login(client, ws.agent_email)
    assert presence() == "online"
    assert client.post("/api/v1/auth/logout", headers=csrf).status_code == 204
    assert presence() == "offline"
    csrf = login(client, ws.agent_email)
    assert client.put("/api/v1/me/presence", headers=csrf, json={"presence": "away"}).is_success
    assert client.post("/api/v1/auth/logout", headers=csrf).status_code == 204
    login(client, ws.agent_email)
    assert presence() == "away"  # the agent's own choice is kept


def test_api_login_can_start_away_so_routing_gives_no_chats(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    body = {"email": ws.agent_email, "password": PASSWORD, "presence": "away"}
    logged_in = client.post("/api/v1/auth/login", json=body)
    assert logged_in.status_code == 200 and logged_in.json()["user"]["presence"] == "away"
    assert client.get("/api/v1/me").json()["user"]["presence"] == "away"
    with factory() as session:
        assert session.scalars(select(User.presence).where(User.email == ws.agent_email)).one() == (
            "away"
        )
    bad = client.post("/api/v1/auth/login", json={**body, "presence": "busy"})
    assert bad.status_code == 422 and "presence" in bad.text
