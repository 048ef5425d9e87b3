"""Test data builders: each returns plain values so tests stay readable."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.users.models import Role
from tandem.users.service import create_user
from tandem.workspaces.service import create_workspace

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class MadeWorkspace:
    """A workspace and one user of each role, by email."""

    id: str
    name: str
    widget_key: str
    admin_email: str
    supervisor_email: str
    agent_email: str


def make_workspace(factory: sessionmaker[Session], name: str | None = None) -> MadeWorkspace:
    """Create a workspace with an admin, a supervisor and an agent (password PASSWORD)."""
    n = next(_counter)
    name = name or f"ws-{n}"
    with transaction(factory) as session:
        ws = create_workspace(session, name=name)
        emails = {}
        for role in Role:
            email = f"{role.value}-{n}@{name}.test"
            create_user(
                session,
                workspace_id=ws.id,
                email=email,
                name=f"{role.value.title()} {n}",
                password=PASSWORD,
                role=role,
            )
            emails[role] = email
        return MadeWorkspace(
            id=ws.id,
            name=name,
            widget_key=ws.widget_key,
            admin_email=emails[Role.ADMIN],
            supervisor_email=emails[Role.SUPERVISOR],
            agent_email=emails[Role.AGENT],
        )


@dataclass(frozen=True)
class WidgetConversation:
    """A conversation as a widget client holds it."""

    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Return the customer's bearer header."""
        return {"Authorization": f"Bearer {self.token}"}


def open_conversation(client: TestClient, widget_key: str, **customer: str) -> WidgetConversation:
    """Open a conversation through the public widget API."""
    body = {"customer": customer} if customer else None
    response = client.post(
        "/api/v1/widget/conversations", headers={"X-Tandem-Widget-Key": widget_key}, json=body
    )
    assert response.status_code == 201, response.text
    data = response.json()
    return WidgetConversation(id=data["conversation_id"], token=data["customer_token"])


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in with the session cookie and return the CSRF header to send on writes."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


class FakeEmbedder:
    """A fast, deterministic bag-of-words embedder that counts what it was asked to embed."""

    name = "fake-bow"
    dim = 64

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit vector per text (words hashed into buckets)."""
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                bucket = int(hashlib.sha256(word.strip(".,!?").encode()).hexdigest(), 16)
                out[row, bucket % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    @property
    def texts(self) -> list[str]:
        """Return every text embedded so far."""
        return [text for call in self.calls for text in call]
