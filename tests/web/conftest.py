"""Console fixtures: the app with the console wired in, and a logged-in browser-like client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.app import create_app
from tandem.config import Settings
from tandem.conversations import service as conversations
from tandem.conversations.service import Author
from tandem.db.session import transaction
from tandem.handoff.service import request_human
from tandem.jobs.worker import Worker

from ..factories import PASSWORD, MadeWorkspace, open_conversation

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def with_console(app: FastAPI) -> FastAPI:
    """Return the app with the console's router and static files (unless create_app has them)."""
    from tandem.web import mount_static, router

    if not any(getattr(route, "path", None) == "/console" for route in app.routes):
        app.include_router(router)
        mount_static(app)
    return app


@pytest.fixture
def console_app(settings: Settings) -> FastAPI:
    """Return the app with the console, without the background worker."""
    return with_console(create_app(settings, run_worker=False))


@pytest.fixture
def web(console_app: FastAPI) -> Iterator[TestClient]:
    """Yield a client that does not follow redirects (tests look at them)."""
    with TestClient(console_app, follow_redirects=False) as client:
        yield client


def console_login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the login form; return the CSRF header the pages carry."""
    page = client.get("/login")
    token = FORM_TOKEN.search(page.text)
    assert token, page.text
    response = client.post(
        "/login", data={"email": email, "password": password, "form_token": token.group(1)}
    )
    assert response.status_code == 303, response.text
    console = client.get("/console")
    csrf = META_CSRF.search(console.text)
    assert csrf and csrf.group(1)
    return {"X-CSRF-Token": csrf.group(1), "HX-Request": "true"}


@dataclass(frozen=True)
class Escalated:
    """A conversation a customer opened and that now waits for a human."""

    id: str
    token: str


def escalated_conversation(
    client: TestClient,
    factory: sessionmaker[Session],
    workspace_id: str,
    widget_key: str,
    text: str,
    **customer: str,
) -> Escalated:
    """Open a widget conversation with one customer message and hand it to the humans."""
    conv = open_conversation(client, widget_key, **customer)
    response = client.post(
        f"/api/v1/widget/conversations/{conv.id}/messages",
        headers=conv.headers,
        json={"text": text},
    )
    assert response.status_code == 201, response.text
    with transaction(factory, workspace_id) as session:
        conversation = conversations.get_conversation(session, conv.id, lock=True)
        assert request_human(session, conversation, trigger="customer")
    return Escalated(id=conv.id, token=conv.token)


def triaged_conversation(
    client: TestClient, factory: sessionmaker[Session], ws: MadeWorkspace, *texts: str
) -> str:
    """Open a widget chat whose messages the real front line triages (and maybe escalates)."""
    chat = open_conversation(client, ws.widget_key, name="Kim")
    for text in texts:
        posted = client.post(
            f"/api/v1/widget/conversations/{chat.id}/messages",
            headers=chat.headers,
            json={"text": text},
        )
        assert posted.status_code == 201, posted.text
        Worker(factory).drain()
    return chat.id


def handle_in_console(
    client: TestClient, headers: dict[str, str], conversation_id: str, reply: str
) -> None:
    """Take the conversation and reply to the customer, as an agent does in the console."""
    assert client.post(f"/console/c/{conversation_id}/assign", headers=headers).status_code == 200
    sent = client.post(
        f"/console/c/{conversation_id}/reply",
        data={"text": reply, "mode": "reply"},
        headers=headers,
    )
    assert sent.status_code == 200, sent.text


__all__ = [
    "Author",
    "Escalated",
    "console_login",
    "escalated_conversation",
    "handle_in_console",
    "triaged_conversation",
    "with_console",
]
