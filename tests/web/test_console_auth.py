"""Logging in and out of the console, redirects, the login form's defences, and CSRF."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.api.deps import SESSION_COOKIE
from tandem.conversations.models import Message
from tandem.users.models import User
from tandem.web import admin_views, conversation_views, views

from ..factories import PASSWORD, make_workspace
from .conftest import FORM_TOKEN, console_login, escalated_conversation


def _form_token(client: TestClient) -> str:
    match = FORM_TOKEN.search(client.get("/login").text)
    assert match
    return match.group(1)


def test_logged_out_visitors_are_sent_to_login(web: TestClient) -> None:
    page = web.get("/console")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/console"
    fragment = web.get("/console/queue", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"].startswith("/login")
    stream = web.get("/console/events", headers={"Accept": "text/event-stream"})
    assert stream.status_code == 401
    assert web.get("/console/c/anything").headers["location"] == "/login?next=/console/c/anything"


def test_login_then_console_then_logout(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    token = _form_token(web)
    wrong = web.post(
        "/login", data={"email": ws.agent_email, "password": "nope-nope", "form_token": token}
    )
    assert wrong.status_code == 401
    assert "Wrong email or password." in wrong.text
    assert SESSION_COOKIE not in web.cookies
    assert f'value="{ws.agent_email}"' in wrong.text  # the email is kept for the next try

    ok = web.post(
        "/login",
        data={
            "email": ws.agent_email,
            "password": PASSWORD,
            "form_token": _form_token(web),
            "next": "/console?tab=mine",
        },
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/console?tab=mine"
    console = web.get("/console")
    assert console.status_code == 200
    assert "Agent" in console.text and "Waiting" in console.text
    csrf = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', console.text)
    assert csrf
    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf.group(1)}"}}\'' in console.text

    out = web.post("/logout", headers={"X-CSRF-Token": csrf.group(1), "HX-Request": "true"})
    assert out.status_code == 204
    assert out.headers["HX-Redirect"] == "/login"
    assert web.get("/console").status_code == 303


def test_console_login_shows_the_agent_online_and_logout_takes_them_offline(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)

    def presence() -> str:
        with factory() as session:
            return session.scalars(select(User.presence).where(User.email == ws.agent_email)).one()

    headers = console_login(web, ws.agent_email)
    assert presence() == "online"
    assert 'data-presence="online" aria-pressed="true"' in re.sub(
        r"\s+", " ", web.get("/console").text
    )
    assert web.post("/logout", headers=headers).status_code == 204
    assert presence() == "offline"
    headers = console_login(web, ws.agent_email)
    web.post("/console/presence", data={"presence": "away"}, headers=headers)
    web.post("/logout", headers=headers)
    console_login(web, ws.agent_email)
    assert presence() == "away"  # the agent chose it; logging in again does not undo it


def test_login_form_needs_its_own_token_and_origin(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    creds = {"email": ws.agent_email, "password": PASSWORD}
    missing = web.post("/login", data=creds)
    assert missing.status_code == 403
    assert "did not come from this site" in missing.text
    forged = web.post("/login", data={**creds, "form_token": "0" * 64})
    assert forged.status_code == 403
    cross_site = web.post(
        "/login",
        data={**creds, "form_token": _form_token(web)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert SESSION_COOKIE not in web.cookies
    same_site = web.post(
        "/login",
        data={**creds, "form_token": _form_token(web)},
        headers={"Origin": "http://testserver"},
    )
    assert same_site.status_code == 303


def test_repeated_failures_are_throttled(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    for _ in range(5):
        response = web.post(
            "/login",
            data={
                "email": ws.agent_email,
                "password": "wrong-pass",
                "form_token": _form_token(web),
            },
        )
        assert response.status_code == 401
    blocked = web.post(
        "/login",
        data={"email": ws.agent_email, "password": PASSWORD, "form_token": _form_token(web)},
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.text
    # Another account from the same address is not locked out by someone else's typos.
    other = web.post(
        "/login",
        data={"email": ws.admin_email, "password": PASSWORD, "form_token": _form_token(web)},
    )
    assert other.status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil", ""])
def test_after_login_only_local_paths(
    web: TestClient, factory: sessionmaker[Session], target: str
) -> None:
    ws = make_workspace(factory)
    response = web.post(
        "/login",
        data={
            "email": ws.agent_email,
            "password": PASSWORD,
            "form_token": _form_token(web),
            "next": target,
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console"


def _post_routes() -> list[str]:
    paths = []
    routes = [*views.router.routes, *conversation_views.router.routes, *admin_views.router.routes]
    for route in routes:
        if isinstance(route, APIRoute) and "POST" in route.methods and route.path != "/login":
            paths.append(route.path)
    return paths


def test_every_console_post_needs_the_csrf_header(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "where is my parcel?")
    headers = console_login(web, ws.admin_email)
    paths = _post_routes()
    assert len(paths) >= 15  # reply, note, assign, status, presence, logout, every admin form…
    for path in paths:
        url = re.sub(r"\{conversation_id\}", conv.id, path)
        url = re.sub(r"\{[a-z_]+\}", "0" * 32, url)
        body = {"text": "sent without proof", "mode": "reply", "action": "resolve"}
        for bad in ({}, {"X-CSRF-Token": "0" * 64}):
            response = web.post(url, data=body, headers={**bad, "HX-Request": "true"})
            assert response.status_code == 403, (url, response.status_code, response.text)
            assert "X-CSRF-Token" in response.text
    # Nothing was written by the refused requests; the same request with the token works.
    with factory() as session:
        texts = session.scalars(select(Message.text)).all()
    assert "sent without proof" not in texts
    ok = web.post(f"/console/c/{conv.id}/reply", data={"text": "sent with proof"}, headers=headers)
    assert ok.status_code == 200
    assert "sent with proof" in ok.text
