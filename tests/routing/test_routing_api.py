"""The routing API: roles, workspace isolation and readable 4xx answers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.routing import service

from ..factories import MadeWorkspace, login, make_workspace
from .conftest import add_agent, escalate_and_route


def setup_workspace(factory: sessionmaker[Session]) -> MadeWorkspace:
    ws = make_workspace(factory)
    with transaction(factory, workspace_id=ws.id) as session:
        service.ensure_default_setup(session, ws.id)
    return ws


def test_any_member_lists_queues_and_policies_of_their_own_workspace(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ours, theirs = setup_workspace(factory), setup_workspace(factory)
    with transaction(factory, workspace_id=theirs.id) as session:
        service.create_queue(session, workspace_id=theirs.id, name="Secret team")
    headers = login(client, ours.agent_email)
    queues = client.get("/api/v1/queues", headers=headers)
    assert queues.status_code == 200
    assert [(q["name"], q["is_default"]) for q in queues.json()] == [("General", True)]
    policies = client.get("/api/v1/sla-policies", headers=headers).json()
    assert [p["name"] for p in policies] == ["Standard", "Urgent"]


def test_only_admins_create_change_and_delete_queues(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = setup_workspace(factory)
    body = {"name": "Billing", "intents": ["refund", "invoice"], "languages": ["de"]}
    for email in (ws.agent_email, ws.supervisor_email):
        headers = login(client, email)
        assert client.post("/api/v1/queues", json=body, headers=headers).status_code == 403
    headers = login(client, ws.admin_email)
    created = client.post("/api/v1/queues", json=body, headers=headers)
    assert created.status_code == 201, created.text
    queue = created.json()
    assert (queue["intents"], queue["languages"], queue["is_default"]) == (
        ["refund", "invoice"],
        ["de"],
        False,
    )
    duplicate = client.post("/api/v1/queues", json=body, headers=headers)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["error"]["message"]
    patched = client.patch(f"/api/v1/queues/{queue['id']}", json={"languages": []}, headers=headers)
    assert patched.status_code == 200 and patched.json()["languages"] == []
    assert client.delete(f"/api/v1/queues/{queue['id']}", headers=headers).status_code == 204
    names = [q["name"] for q in client.get("/api/v1/queues", headers=headers).json()]
    assert names == ["General"]


def test_bad_queue_input_gets_a_readable_4xx(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = setup_workspace(factory)
    headers = login(client, ws.admin_email)
    bad_code = client.post(
        "/api/v1/queues", json={"name": "X", "intents": ["not a code"]}, headers=headers
    )
    assert bad_code.status_code == 422 and "not a valid code" in bad_code.text
    extra = client.post("/api/v1/queues", json={"name": "X", "owner": "me"}, headers=headers)
    assert extra.status_code == 422
    general = client.get("/api/v1/queues", headers=headers).json()[0]
    undeletable = client.delete(f"/api/v1/queues/{general['id']}", headers=headers)
    assert undeletable.status_code == 409 and "default" in undeletable.json()["error"]["message"]
    missing = client.patch("/api/v1/queues/nope", json={"name": "Y"}, headers=headers)
    assert missing.status_code == 404


def test_another_workspaces_queue_cannot_be_touched(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ours, theirs = setup_workspace(factory), setup_workspace(factory)
    with transaction(factory, workspace_id=theirs.id) as session:
        their_queue = service.create_queue(session, workspace_id=theirs.id, name="Theirs").id
    headers = login(client, ours.admin_email)
    patch = client.patch(f"/api/v1/queues/{their_queue}", json={"name": "Mine"}, headers=headers)
    assert patch.status_code == 404
    assert client.delete(f"/api/v1/queues/{their_queue}", headers=headers).status_code == 404
    members = client.put(
        f"/api/v1/queues/{their_queue}/members", json={"user_ids": []}, headers=headers
    )
    assert members.status_code == 404


def test_supervisors_set_members_from_their_own_team(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws, other = setup_workspace(factory), setup_workspace(factory)
    ours = add_agent(factory, ws.id)
    stranger = add_agent(factory, other.id)
    headers = login(client, ws.agent_email)
    general = client.get("/api/v1/queues", headers=headers).json()[0]
    url = f"/api/v1/queues/{general['id']}/members"
    assert client.put(url, json={"user_ids": [ours]}, headers=headers).status_code == 403
    headers = login(client, ws.supervisor_email)
    done = client.put(url, json={"user_ids": [ours, ours]}, headers=headers)
    assert done.status_code == 200 and done.json()["member_ids"] == [ours]
    refused = client.put(url, json={"user_ids": [stranger]}, headers=headers)
    assert refused.status_code == 422 and "unknown users" in refused.text


def test_sla_policies_are_written_by_admins_and_validated(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = setup_workspace(factory)
    body = {"name": "VIP", "min_priority": 2, "first_response_minutes": 10}
    agent = login(client, ws.agent_email)
    assert client.post("/api/v1/sla-policies", json=body, headers=agent).status_code == 403
    admin = login(client, ws.admin_email)
    created = client.post("/api/v1/sla-policies", json=body, headers=admin)
    assert created.status_code == 201, created.text
    policy_id = created.json()["id"]
    bad_ratio = client.patch(
        f"/api/v1/sla-policies/{policy_id}", json={"warn_ratio": 1.2}, headers=admin
    )
    assert bad_ratio.status_code == 422
    shorter = client.patch(
        f"/api/v1/sla-policies/{policy_id}", json={"resolution_minutes": 5}, headers=admin
    )
    assert shorter.status_code == 422 and "shorter" in shorter.text
    bad_priority = client.post(
        "/api/v1/sla-policies", json={**body, "name": "Z", "min_priority": 7}, headers=admin
    )
    assert bad_priority.status_code == 422
    assert client.delete(f"/api/v1/sla-policies/{policy_id}", headers=admin).status_code == 204


def test_presence_is_set_by_any_user_with_csrf(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = setup_workspace(factory)
    headers = login(client, ws.agent_email)
    no_csrf = client.put("/api/v1/me/presence", json={"presence": "online"})
    assert no_csrf.status_code == 403
    bad = client.put("/api/v1/me/presence", json={"presence": "busy"}, headers=headers)
    assert bad.status_code == 422
    done = client.put("/api/v1/me/presence", json={"presence": "online"}, headers=headers)
    assert done.status_code == 200 and done.json()["presence"] == "online"
    assert done.json()["last_seen_at"] is not None


def test_overview_counts_what_waits_and_what_is_mine(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = setup_workspace(factory)
    headers = login(client, ws.agent_email)
    client.put("/api/v1/me/presence", json={"presence": "online"}, headers=headers)
    escalate_and_route(factory, ws.id)  # the only online agent takes it
    escalate_and_route(factory, ws.id, intent="refund")
    overview = client.get("/api/v1/queues/overview", headers=headers)
    assert overview.status_code == 200, overview.text
    data = overview.json()
    assert (data["mine"], data["all_open"], data["presence"]) == (2, 2, "online")
    assert data["waiting"] == 0 and data["queues"][0]["name"] == "General"


def test_routing_settings_read_by_members_written_by_admins(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = setup_workspace(factory)
    agent = login(client, ws.agent_email)
    current = client.get("/api/v1/routing/settings", headers=agent)
    assert current.status_code == 200
    assert current.json() == {
        "auto_assign": True,
        "business_hours": None,
        "open_now": True,
        "next_open_at": None,
    }
    hours = {"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "17:00"]]}}
    body = {"auto_assign": False, "business_hours": hours}
    assert client.put("/api/v1/routing/settings", json=body, headers=agent).status_code == 403
    admin = login(client, ws.admin_email)
    saved = client.put("/api/v1/routing/settings", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["business_hours"] == hours and saved.json()["auto_assign"] is False
    # Omitting a field keeps it; null business hours means always open again.
    kept = client.put("/api/v1/routing/settings", json={"auto_assign": True}, headers=admin)
    assert kept.json()["business_hours"] == hours
    cleared = client.put("/api/v1/routing/settings", json={"business_hours": None}, headers=admin)
    assert cleared.json()["business_hours"] is None and cleared.json()["open_now"] is True
    bad_zone = {"business_hours": {"timezone": "Atlantis/Capital", "days": {}}}
    refused = client.put("/api/v1/routing/settings", json=bad_zone, headers=admin)
    assert refused.status_code == 422 and "unknown timezone" in refused.text
    bad_time = {"business_hours": {"timezone": "UTC", "days": {"mon": [["9am", "5pm"]]}}}
    assert client.put("/api/v1/routing/settings", json=bad_time, headers=admin).status_code == 422
