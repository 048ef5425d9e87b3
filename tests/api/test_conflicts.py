"""Duplicates answer 409 with a message that gives nothing of another workspace away."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ..factories import PASSWORD, login, make_workspace
from ..web.conftest import console_login


def test_user_email_of_another_workspace_is_a_409(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ours = make_workspace(factory)
    theirs = make_workspace(factory)
    auth = login(client, ours.admin_email)
    body = {"email": theirs.agent_email.upper(), "name": "Twin", "password": PASSWORD}
    response = client.post("/api/v1/users", headers=auth, json=body)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert theirs.id not in error["message"]
    # The same answer as for an address taken in our own workspace: nothing tells them apart.
    own = client.post(
        "/api/v1/users", headers=auth, json={**body, "email": ours.agent_email}
    ).json()["error"]["message"]
    assert own.replace(ours.agent_email, "X") == error["message"].replace(theirs.agent_email, "X")
    # The address still logs in to its own workspace only.
    other = TestClient(client.app)
    me = other.post("/api/v1/auth/login", json={"email": theirs.agent_email, "password": PASSWORD})
    assert me.status_code == 200
    assert me.json()["user"]["workspace_id"] == theirs.id


def test_console_user_email_of_another_workspace_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ours = make_workspace(factory)
    theirs = make_workspace(factory)
    web = TestClient(client.app, follow_redirects=False)
    csrf = console_login(web, ours.admin_email)
    response = web.post(
        "/console/admin/agents",
        headers={**csrf, "HX-Request": "true"},
        data={"email": theirs.agent_email, "name": "Twin", "password": PASSWORD},
    )
    assert response.status_code == 422, response.text
    assert "already in use" in response.text
    assert theirs.id not in response.text


def test_renaming_a_queue_to_an_existing_name_is_a_409(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    auth = login(client, ws.admin_email)
    first = client.post("/api/v1/queues", headers=auth, json={"name": "Billing"})
    second = client.post("/api/v1/queues", headers=auth, json={"name": "Shipping"})
    assert first.status_code == second.status_code == 201
    response = client.patch(
        f"/api/v1/queues/{second.json()['id']}", headers=auth, json={"name": " Billing "}
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "conflict"
    queues = {q["name"] for q in client.get("/api/v1/queues", headers=auth).json()}
    assert {"Billing", "Shipping"} <= queues
    # Renaming a queue to its own name is not a conflict.
    same = client.patch(
        f"/api/v1/queues/{second.json()['id']}", headers=auth, json={"name": "Shipping"}
    )
    assert same.status_code == 200, same.text
