"""Admin pages: who may open them, and forms that explain what is wrong."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.knowledge.models import Answer
from tandem.knowledge.service import upsert_answer
from tandem.routing.admin import ensure_default_setup
from tandem.routing.models import Queue, QueueMember, SlaPolicy
from tandem.users.models import User
from tandem.workspaces.models import Workspace

from ..factories import make_workspace
from .conftest import console_login

ADMIN_ONLY = ["/console/admin/agents", "/console/admin/sla", "/console/admin/ai"]


def test_agents_see_no_admin_page(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.agent_email)
    for url in [*ADMIN_ONLY, "/console/admin/queues"]:
        page = web.get(url)
        assert page.status_code == 403, url
        assert "needs the" in page.text
    assert "/console/admin" not in web.get("/console").text  # no admin links either
    created = web.post("/console/admin/queues", data={"name": "Sneaky"}, headers=headers)
    assert created.status_code == 403


def test_supervisors_manage_members_but_not_queues(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        ensure_default_setup(session, ws.id)
    headers = console_login(web, ws.supervisor_email)
    for url in ADMIN_ONLY:
        assert web.get(url).status_code == 403, url
    page = web.get("/console/admin/queues")
    assert page.status_code == 200
    assert "New queue" not in page.text
    assert web.post("/console/admin/queues", data={"name": "X"}, headers=headers).status_code == 403
    with factory() as session:
        queue = session.scalars(select(Queue).where(Queue.workspace_id == ws.id)).first()
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
    assert queue is not None
    saved = web.post(
        f"/console/admin/queues/{queue.id}/members", data={"user_ids": [agent.id]}, headers=headers
    )
    assert saved.status_code == 200 and "Members saved (1)" in saved.text
    with factory() as session:
        assert session.scalars(select(QueueMember.user_id)).all() == [agent.id]


def test_admin_creates_queues_with_readable_errors(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    bad = web.post(
        "/console/admin/queues",
        data={"name": "Billing", "intents": "refund request!", "languages": "en"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "not a valid code" in bad.text
    assert 'value="Billing"' in bad.text  # the form keeps what was typed
    ok = web.post(
        "/console/admin/queues",
        data={"name": "Billing", "intents": "get_refund, check_invoice", "languages": "en de"},
        headers=headers,
    )
    assert ok.status_code == 200 and "Queue “Billing” created." in ok.text
    duplicate = web.post("/console/admin/queues", data={"name": "Billing"}, headers=headers)
    assert duplicate.status_code == 422 and "already exists" in duplicate.text
    with factory() as session:
        billing = session.scalars(select(Queue).where(Queue.name == "Billing")).one()
        assert billing.intents == ["get_refund", "check_invoice"]
        assert billing.languages == ["en", "de"]
    renamed = web.post(
        f"/console/admin/queues/{billing.id}",
        data={"name": "", "intents": "get_refund"},
        headers=headers,
    )
    assert renamed.status_code == 422 and "name must be 1-100 characters" in renamed.text
    with factory() as session:  # a refused edit leaves nothing half-done
        assert session.get(Queue, billing.id).intents == ["get_refund", "check_invoice"]  # type: ignore[union-attr]


def test_admin_manages_the_team(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    bad = web.post(
        "/console/admin/agents",
        data={"name": "Nia", "email": "not-an-email", "password": "long-enough-1", "role": "agent"},
        headers=headers,
    )
    assert bad.status_code == 422 and "is not a valid email address" in bad.text
    short = web.post(
        "/console/admin/agents",
        data={"name": "Nia", "email": "nia@x.test", "password": "short", "capacity": "3"},
        headers=headers,
    )
    assert short.status_code == 422 and "at least 8 characters" in short.text
    ok = web.post(
        "/console/admin/agents",
        data={"name": "Nia", "email": "nia@x.test", "password": "long-enough-1", "capacity": "3"},
        headers=headers,
    )
    assert ok.status_code == 200 and "Nia can now log in" in ok.text
    with factory() as session:
        nia = session.scalars(select(User).where(User.email == "nia@x.test")).one()
        admin = session.scalars(select(User).where(User.email == ws.admin_email)).one()
    assert nia.capacity == 3 and nia.workspace_id == ws.id

    too_many = web.post(
        f"/console/admin/agents/{nia.id}",
        data={"role": "agent", "capacity": "500", "active": "on"},
        headers=headers,
    )
    assert too_many.status_code == 422 and "Capacity must be between 0 and 50" in too_many.text
    deactivated = web.post(
        f"/console/admin/agents/{nia.id}",
        data={"role": "supervisor", "capacity": "4"},
        headers=headers,
    )
    assert deactivated.status_code == 200
    with factory() as session:
        stored = session.get(User, nia.id)
        assert stored is not None
        assert (stored.role, stored.capacity, stored.is_active) == ("supervisor", 4, False)
    last_admin = web.post(
        f"/console/admin/agents/{admin.id}",
        data={"role": "agent", "capacity": "5"},
        headers=headers,
    )
    assert last_admin.status_code == 422 and "at least one active admin" in last_admin.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_response_minutes", "0", "First response (minutes) must be between"),
        ("first_response_minutes", "soon", "must be a whole number"),
        ("warn_percent", "120", "Warn at must be between 1 and 99"),
        ("resolution_minutes", "5", "must not be shorter than first_response_minutes"),
    ],
)
def test_sla_form_explains_mistakes(
    web: TestClient, factory: sessionmaker[Session], field: str, value: str, message: str
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    data = {
        "name": "Premium",
        "min_priority": "3",
        "first_response_minutes": "10",
        "resolution_minutes": "120",
        "warn_percent": "75",
        "active": "on",
        field: value,
    }
    response = web.post("/console/admin/sla", data=data, headers=headers)
    assert response.status_code == 422
    assert message in response.text


def test_sla_policy_is_created(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    data = {
        "name": "Premium",
        "min_priority": "3",
        "first_response_minutes": "10",
        "resolution_minutes": "120",
        "warn_percent": "75",
        "active": "on",
    }
    response = web.post("/console/admin/sla", data=data, headers=headers)
    assert response.status_code == 200, response.text
    with factory() as session:
        policy = session.scalars(select(SlaPolicy).where(SlaPolicy.name == "Premium")).one()
    assert (policy.min_priority, policy.first_response_minutes, policy.warn_ratio) == (3, 10, 0.75)


def test_ai_settings(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        answer = upsert_answer(
            session, workspace_id=ws.id, intent="return_policy", title="Returns", body="30 days."
        )
        answer_id = answer.id
    headers = console_login(web, ws.admin_email)
    page = web.get("/console/admin/ai")
    assert page.status_code == 200 and "return_policy" in page.text
    assert 'value="95.0"' in page.text  # the default precision target
    # The placeholders show what customers get when the fields stay empty, in each language.
    assert "Soy el asistente de" in page.text and "Ich bin der Assistent von" in page.text
    assert " assistant, un asistente" not in page.text  # no English name inside Spanish

    off = web.post(f"/console/admin/ai/answers/{answer_id}", data={}, headers=headers)
    assert off.status_code == 200 and "Only humans answer" in off.text
    with factory() as session:
        stored = session.get(Answer, answer_id)
        assert stored is not None and stored.ai_allowed is False and stored.body == "30 days."

    wrong = web.post(
        "/console/admin/ai/precision", data={"precision_percent": "120"}, headers=headers
    )
    assert wrong.status_code == 422 and "between 50 and 99.9" in wrong.text
    ok = web.post(
        "/console/admin/ai/precision", data={"precision_percent": "97.5"}, headers=headers
    )
    assert ok.status_code == 200
    bad_zone = web.post(
        "/console/admin/ai/routing",
        data={"timezone": "Mars/Olympus", "open_mon": "09:00", "close_mon": "17:00"},
        headers=headers,
    )
    assert bad_zone.status_code == 422 and "unknown timezone" in bad_zone.text
    half = web.post(
        "/console/admin/ai/routing", data={"timezone": "UTC", "open_tue": "09:00"}, headers=headers
    )
    assert half.status_code == 422 and "Tue: give both" in half.text
    hours = web.post(
        "/console/admin/ai/routing",
        data={"timezone": "Europe/Berlin", "open_mon": "09:00", "close_mon": "17:00"},
        headers=headers,
    )
    assert hours.status_code == 200 and "Routing settings saved." in hours.text
    with factory() as session:
        settings = session.get(Workspace, ws.id).settings  # type: ignore[union-attr]
    assert settings["precision_target"] == 0.975
    assert settings["routing"]["auto_assign"] is False
    assert settings["routing"]["business_hours"]["days"] == {"mon": [["09:00", "17:00"]]}
