"""Console pages for API tokens, the audit log and two-factor login."""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.events.models import Event
from tandem.users import totp
from tandem.users.models import ApiToken, User
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import update_settings

from ..factories import PASSWORD, make_workspace
from .conftest import FORM_TOKEN, console_login

NEW_TOKEN = re.compile(r'data-testid="new-token">([^<]+)<')
SECRET = re.compile(r'data-testid="totp-secret">([A-Z2-7]+)<')


class Clock:
    """The time codes are checked at (a code works once, so tests move on a step)."""

    def __init__(self) -> None:
        self.now = 1_900_000_020.0

    def code(self, secret: str) -> str:
        self.now += 30
        return pyotp.TOTP(secret).at(self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(totp, "_clock", lambda: fake.now)
    return fake


def test_admins_create_list_and_revoke_tokens(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    page = web.get("/console/admin/tokens")
    assert page.status_code == 200
    assert "No API tokens yet" in page.text
    assert 'href="/console/admin/audit"' in page.text  # in the sidebar
    created = web.post(
        "/console/admin/tokens",
        data={"name": "CRM sync", "scope": "read", "expires_in_days": "30"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    assert created.headers["cache-control"] == "no-store"
    found = NEW_TOKEN.search(created.text)
    assert found and found.group(1).startswith("tdm_")
    secret = found.group(1)
    assert "read-only" in created.text and "never" in created.text  # scope, last used
    # The list never shows the secret again.
    listing = web.get("/console/admin/tokens")
    assert "CRM sync" in listing.text and secret not in listing.text
    # The token works on the API, read-only.
    api = {"Authorization": f"Bearer {secret}"}
    assert web.get("/api/v1/conversations", headers=api).status_code == 200
    assert web.post("/api/v1/queues", headers=api, json={"name": "X"}).status_code == 403
    with factory() as session:
        record = session.scalars(select(ApiToken).where(ApiToken.name == "CRM sync")).one()
    assert record.last_used_at is not None and record.scope == "read"
    row = web.get("/console/admin/tokens").text.split('data-token="CRM sync"')[1].split("</tr>")[0]
    assert "never" not in row.split("<td>")[5]  # "Last used" now has a time
    # Revoking needs the CSRF header, like every console form.
    forged = web.post(f"/console/admin/tokens/{record.id}/revoke", headers={"HX-Request": "true"})
    assert forged.status_code == 403
    revoked = web.post(f"/console/admin/tokens/{record.id}/revoke", headers=headers)
    assert revoked.status_code == 200 and "revoked" in revoked.text
    assert "No API tokens yet" in revoked.text
    web.cookies.clear()
    assert web.get("/api/v1/conversations", headers=api).status_code == 401


def test_token_form_explains_mistakes(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    for data, message in [
        ({"name": ""}, "give the token a name"),
        ({"name": "x", "expires_in_days": "soon"}, "whole number"),
        ({"name": "x", "scope": "root"}, "scope must be"),
    ]:
        refused = web.post("/console/admin/tokens", data=data, headers=headers)
        assert refused.status_code == 422, data
        assert message in refused.text
    with factory() as session:
        assert session.scalars(select(ApiToken).where(ApiToken.kind == "api")).all() == []


def test_agents_and_supervisors_see_no_token_or_audit_page(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    for email in (ws.agent_email, ws.supervisor_email):
        headers = console_login(web, email)
        for url in ("/console/admin/tokens", "/console/admin/audit"):
            assert web.get(url).status_code == 403, (email, url)
        assert (
            web.post("/console/admin/tokens", data={"name": "x"}, headers=headers).status_code
            == 403
        )
        web.cookies.clear()


def test_the_audit_page_shows_who_changed_what(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    for n in range(3):
        web.post("/console/admin/queues", data={"name": f"Team {n}"}, headers=headers)
    with factory() as session:
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        admin = session.scalars(select(User).where(User.email == ws.admin_email)).one()
    web.post(
        f"/console/admin/agents/{agent.id}",
        data={"role": "supervisor", "capacity": "5", "active": "on"},
        headers=headers,
    )
    page = web.get("/console/admin/audit")
    assert page.status_code == 200
    rows = re.findall(r'data-event="([^"]+)"', page.text)
    assert rows[:4] == ["user.updated", "queue.created", "queue.created", "queue.created"]
    assert admin.name in page.text and "Team 2" in page.text
    assert page.text.index("Team 2") < page.text.index("Team 0")  # newest first
    filtered = web.get("/console/admin/audit", params={"type": "user.updated"})
    assert set(re.findall(r'data-event="([^"]+)"', filtered.text)) == {"user.updated"}
    assert "supervisor" in filtered.text
    admin_only = web.get("/console/admin/audit", params={"type": "admin"})
    assert "conversation." not in "".join(re.findall(r'data-event="([^"]+)"', admin_only.text))


def test_the_audit_page_is_paginated(
    web: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tandem.web import admin_views

    monkeypatch.setattr(admin_views, "AUDIT_PAGE_SIZE", 2)
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    for n in range(3):
        web.post("/console/admin/queues", data={"name": f"Team {n}"}, headers=headers)
    page = web.get("/console/admin/audit", params={"type": "queue.created"})
    assert "Team 2" in page.text and "Team 1" in page.text and "Team 0" not in page.text
    older = re.search(r'id="audit-older" href="([^"]+)"', page.text)
    assert older
    second = web.get(older.group(1).replace("&amp;", "&"))
    assert "Team 0" in second.text and "Team 2" not in second.text
    assert "Newest" in second.text


def _start_enrolment(web: TestClient, headers: dict[str, str]) -> str:
    started = web.post("/console/account/two-factor", headers=headers)
    assert started.status_code == 200
    assert 'src="data:image/svg+xml' in started.text  # the QR code, rendered here
    assert "otpauth://totp/" in started.text
    found = SECRET.search(started.text)
    assert found
    return found.group(1)


def _login_form(web: TestClient, **data: str) -> Response:
    page = web.get("/login")
    token = FORM_TOKEN.search(page.text)
    assert token
    return web.post("/login", data={**data, "form_token": token.group(1)})


def test_two_factor_in_the_console(
    web: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.agent_email)
    page = web.get("/console/account/two-factor")
    assert page.status_code == 200 and "Two-factor login is off" in page.text
    secret = _start_enrolment(web, headers)
    wrong = web.post(
        "/console/account/two-factor/confirm", data={"code": "000000"}, headers=headers
    )
    assert wrong.status_code == 422 and "not right" in wrong.text
    on = web.post(
        "/console/account/two-factor/confirm", data={"code": clock.code(secret)}, headers=headers
    )
    assert on.status_code == 200 and "Two-factor login is on" in on.text
    web.cookies.clear()
    # Logging in now takes a second field: the code.
    asked = _login_form(web, email=ws.agent_email, password=PASSWORD)
    assert asked.status_code == 401
    assert 'name="totp"' in asked.text
    wrong_code = _login_form(web, email=ws.agent_email, password=PASSWORD, totp="123456")
    assert wrong_code.status_code == 401
    assert "Wrong email, password or code" in wrong_code.text
    ok = _login_form(web, email=ws.agent_email, password=PASSWORD, totp=clock.code(secret))
    assert ok.status_code == 303 and ok.headers["location"] == "/console"
    # And it can be switched off again with a code.
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', web.get("/console").text)
    assert csrf
    off = web.post(
        "/console/account/two-factor/disable",
        data={"code": clock.code(secret)},
        headers={"X-CSRF-Token": csrf.group(1), "HX-Request": "true"},
    )
    assert off.status_code == 200 and "Two-factor login is off" in off.text


def test_admins_who_must_use_two_factor_are_sent_to_set_it_up(
    web: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        update_settings(session, workspace, {"security": {"require_admin_two_factor": True}})
    login = _login_form(web, email=ws.admin_email, password=PASSWORD)
    assert login.status_code == 303
    assert login.headers["location"] == "/console/account/two-factor"
    blocked = web.get("/console/admin/agents")
    assert blocked.status_code == 303
    assert blocked.headers["location"] == "/console/account/two-factor"
    page = web.get("/console/account/two-factor")
    assert "requires two-factor login for admins" in page.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert csrf
    headers = {"X-CSRF-Token": csrf.group(1), "HX-Request": "true"}
    htmx_blocked = web.post("/console/admin/queues", data={"name": "X"}, headers=headers)
    assert htmx_blocked.headers.get("hx-redirect") == "/console/account/two-factor"
    secret = _start_enrolment(web, headers)
    web.post(
        "/console/account/two-factor/confirm", data={"code": clock.code(secret)}, headers=headers
    )
    assert web.get("/console/admin/agents").status_code == 200
    # The queue page for agents is untouched by the admin rule.
    web.cookies.clear()
    console_login(web, ws.agent_email)
    assert web.get("/console").status_code == 200


def test_admins_toggle_the_two_factor_rule(
    web: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    refused = web.post(
        "/console/admin/security", data={"require_admin_two_factor": "on"}, headers=headers
    )
    assert refused.status_code == 422 and "for yourself" in refused.text
    secret = _start_enrolment(web, headers)
    web.post(
        "/console/account/two-factor/confirm", data={"code": clock.code(secret)}, headers=headers
    )
    saved = web.post(
        "/console/admin/security", data={"require_admin_two_factor": "on"}, headers=headers
    )
    assert saved.status_code == 200 and "Admins must use two-factor login" in saved.text
    with factory() as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        assert totp.admin_two_factor_required(workspace)


def test_admins_see_who_uses_two_factor_and_reset_it_after_a_lost_phone(
    web: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    ws = make_workspace(factory)
    agent = console_login(web, ws.agent_email)
    secret = _start_enrolment(web, agent)
    web.post(
        "/console/account/two-factor/confirm", data={"code": clock.code(secret)}, headers=agent
    )
    web.cookies.clear()
    admin = console_login(web, ws.admin_email)
    with factory() as session:
        agent_id = session.scalars(select(User.id).where(User.email == ws.agent_email)).one()
    team = web.get("/console/admin/agents").text
    row = team[team.index(f'data-user="{ws.agent_email}"') :].split("</tr>")[0]
    assert '<span class="badge">on</span>' in row and "two-factor/reset" in row
    reset = web.post(f"/console/admin/agents/{agent_id}/two-factor/reset", headers=admin)
    assert reset.status_code == 200 and "Two-factor login for" in reset.text
    row = reset.text[reset.text.index(f'data-user="{ws.agent_email}"') :].split("</tr>")[0]
    assert "two-factor/reset" not in row and ">off<" in row
    # The agent logs in with the password alone now, and the reset is in the audit log.
    web.cookies.clear()
    assert _login_form(web, email=ws.agent_email, password=PASSWORD).status_code == 303
    with factory() as session:
        user = session.get(User, agent_id)
        assert user is not None and not user.has_totp
        types = session.scalars(select(Event.type).where(Event.workspace_id == ws.id)).all()
        assert "two_factor.reset" in types
    # An agent cannot reset anyone's two-factor login.
    agent = console_login(web, ws.agent_email)
    refused = web.post(f"/console/admin/agents/{agent_id}/two-factor/reset", headers=agent)
    assert refused.status_code in (303, 403)
