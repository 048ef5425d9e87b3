"""The audit log of admin changes: recorded by the services (who and when), read by admins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.events import service as audit_log
from tandem.events.models import Event
from tandem.users import service as users
from tandem.users.models import Role, User

from ..factories import login, make_workspace

AUDIT = "/api/v1/audit"


def _user_id(factory: sessionmaker[Session], email: str) -> str:
    with factory() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def test_admin_changes_through_the_api_are_recorded_with_who_and_when(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    admin_id = _user_id(factory, ws.admin_email)
    csrf = login(client, ws.admin_email)
    queue = client.post("/api/v1/queues", headers=csrf, json={"name": "Billing"}).json()
    assert client.patch(
        f"/api/v1/queues/{queue['id']}", headers=csrf, json={"name": "Billing EU"}
    ).is_success
    assert client.put(
        f"/api/v1/queues/{queue['id']}/members", headers=csrf, json={"user_ids": [admin_id]}
    ).is_success
    policy = client.post("/api/v1/sla-policies", headers=csrf, json={"name": "VIP"}).json()
    assert client.patch(
        f"/api/v1/sla-policies/{policy['id']}", headers=csrf, json={"first_response_minutes": 5}
    ).is_success
    assert client.delete(f"/api/v1/sla-policies/{policy['id']}", headers=csrf).is_success
    assert client.delete(f"/api/v1/queues/{queue['id']}", headers=csrf).is_success
    assert client.put(
        "/api/v1/routing/settings", headers=csrf, json={"auto_assign": False}
    ).is_success
    assert client.put(
        "/api/v1/ai/settings", headers=csrf, json={"assistant_name": "Robin"}
    ).is_success
    assert client.put(
        "/api/v1/copilot/rules", headers=csrf, json={"forbidden_phrases": ["guaranteed refund"]}
    ).is_success
    assert client.post(
        "/api/v1/users",
        headers=csrf,
        json={"email": "new@x.test", "name": "New", "password": "long-enough-1", "role": "agent"},
    ).is_success

    page = client.get(AUDIT, params={"admin_only": True, "limit": 200}).json()
    mine = [e for e in page["events"] if e["actor_id"] == admin_id]
    assert [e["type"] for e in reversed(mine)] == [
        "queue.created",
        "queue.updated",
        "queue.members_set",
        "sla_policy.created",
        "sla_policy.updated",
        "sla_policy.deleted",
        "queue.deleted",
        "routing.settings_changed",
        "settings.changed",
        "compliance.rules_changed",
        "user.created",
    ]
    assert all(e["actor_type"] == "user" and e["created_at"] for e in mine)
    by_type = {e["type"]: e["data"] for e in mine}
    assert by_type["queue.updated"]["name"] == "Billing EU"
    assert by_type["sla_policy.updated"]["first_response_minutes"] == 5
    assert by_type["settings.changed"]["changes"] == {"assistant_name": "Robin"}
    assert by_type["compliance.rules_changed"]["forbidden_phrases"] == ["guaranteed refund"]
    assert by_type["user.created"]["email"] == "new@x.test"
    assert "password" not in str(by_type["user.created"])
    # The workspace's own set-up (default queue and policies) was the system's doing.
    system = [e for e in page["events"] if e["actor_type"] == "system"]
    assert {e["type"] for e in system} >= {"queue.created", "sla_policy.created"}


def test_role_changes_record_before_and_after(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    agent_id = _user_id(factory, ws.agent_email)
    admin_id = _user_id(factory, ws.admin_email)
    with transaction(factory, ws.id) as session:
        audit_log.set_actor(session, actor_type="user", actor_id=admin_id)
        users.update_user(session, users.get_user(session, agent_id), role=Role.SUPERVISOR)
        users.update_user(session, users.get_user(session, agent_id), role=Role.SUPERVISOR)
    with transaction(factory, ws.id) as session:
        page = audit_log.list_events(session, types=["user.updated"])
    assert len(page.events) == 1, "a save that changes nothing records nothing"
    event = page.events[0]
    assert event.actor_id == admin_id
    assert event.data["changes"] == {"role": ["agent", "supervisor"]}


def test_only_admins_read_the_audit_log(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    for email in (ws.agent_email, ws.supervisor_email):
        login(client, email)
        refused = client.get(AUDIT)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
    client.cookies.clear()
    assert client.get(AUDIT).status_code == 401


def test_the_log_is_newest_first_filtered_and_paginated(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    other = make_workspace(factory)
    csrf = login(client, other.admin_email)
    client.post("/api/v1/queues", headers=csrf, json={"name": "Elsewhere"})
    csrf = login(client, ws.admin_email)
    for n in range(5):
        assert client.post("/api/v1/queues", headers=csrf, json={"name": f"Q{n}"}).is_success
    first = client.get(AUDIT, params={"type": "queue.created", "limit": 2}).json()
    names = [e["data"]["name"] for e in first["events"]]
    assert names == ["Q4", "Q3"]
    assert first["next_before"] is not None
    second = client.get(
        AUDIT, params={"type": "queue.created", "limit": 2, "before": first["next_before"]}
    ).json()
    assert [e["data"]["name"] for e in second["events"]] == ["Q2", "Q1"]
    rest = client.get(
        AUDIT, params={"type": "queue.created", "limit": 10, "before": second["next_before"]}
    ).json()
    # Q0 and the default queue of this workspace; never the other workspace's.
    assert [e["data"]["name"] for e in rest["events"]] == ["Q0", "General"]
    assert rest["next_before"] is None
    every = client.get(AUDIT, params={"limit": 200}).json()["events"]
    ids = [e["id"] for e in every]
    assert ids == sorted(ids, reverse=True)
    assert "Elsewhere" not in str(every)
    both = client.get(AUDIT, params=[("type", "queue.created"), ("type", "sla_policy.created")])
    assert {e["type"] for e in both.json()["events"]} == {"queue.created", "sla_policy.created"}
    assert client.get(AUDIT, params={"limit": 0}).status_code == 422


def test_reading_needs_a_workspace_scope(factory: sessionmaker[Session]) -> None:
    make_workspace(factory)
    with factory() as session, pytest.raises(RuntimeError, match="workspace-scoped"):
        audit_log.list_events(session)


def test_audit_entries_stay_append_only(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with factory() as session:
        event = session.scalars(select(Event).where(Event.workspace_id == ws.id)).first()
        assert event is not None
        event.type = "forged"
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()


def test_what_the_ai_may_say_is_audited_answers_articles_and_model_versions(
    client: TestClient, factory: sessionmaker[Session], shop
) -> None:  # type: ignore[no-untyped-def]
    csrf = login(client, shop.admin_email)
    answer = {"title": "Returns", "body": "Send it back within 30 days.", "ai_allowed": False}
    assert client.put("/api/v1/intents/return_policy/answer", headers=csrf, json=answer).is_success
    article = client.post(
        "/api/v1/articles", headers=csrf, json={"title": "Care", "body": "Wash cold."}
    ).json()
    changed = {"title": "Care", "body": "Wash cold.", "ai_enabled": False}
    assert client.put(f"/api/v1/articles/{article['id']}", headers=csrf, json=changed).is_success
    assert client.post("/api/v1/ai/models/1/activate", headers=csrf).is_success
    page = client.get(AUDIT, params={"admin_only": True, "limit": 200}).json()
    admin_id = _user_id(factory, shop.admin_email)
    mine = {e["type"]: e["data"] for e in page["events"] if e["actor_id"] == admin_id}
    assert mine["answer.changed"] == {
        "intent": "return_policy",
        "title": "Returns",
        "ai_allowed": False,
    }
    assert mine["article.ai_disabled"]["article_id"] == article["id"]
    assert mine["model.activated"] == {"version": 1, "previous": 1}
