"""Shared fixtures: a real database (SQLite, or PostgreSQL via TANDEM_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tandem.app import create_app
from tandem.config import Settings
from tandem.core import security
from tandem.db.base import Base
from tandem.db.migrate import upgrade
from tandem.db.models import Base as _AllTables  # noqa: F401 - every table in the metadata
from tandem.db.session import dispose_engines, get_engine, session_factory

PG_ENV = "TANDEM_TEST_DATABASE_URL"

# Hashing stays argon2id, but with minimal cost: the suite creates hundreds of users, and
# production strength (~0.25 s a hash here) would only make it slower, not more honest.
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run browser tests last: Playwright's sync API holds an event loop in the main thread
    for as long as the shared browser lives, which other tests' asyncio.run() cannot share."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("browser") is not None
            or "/tests/browser/" in str(item.path).replace(os.sep, "/")
        )
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield a migrated database URL: a private PostgreSQL schema, or a SQLite file."""
    base = os.environ.get(PG_ENV)
    if not base:
        path = tmp_path_factory.mktemp("db") / "tandem.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        dispose_engines()
        return
    # Each run gets its own schema so parallel or repeated runs never see each other's rows.
    schema = f"tandem_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    dispose_engines()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Return settings pointing at the test database and a private data directory."""
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        auto_migrate=False,
        cookie_secure=False,  # the test clients speak plain http://
    )


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after each test that used the database."""
    yield
    if "database_url" not in request.fixturenames:
        return
    url = request.getfixturevalue("database_url")
    engine = get_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    """Return a session factory on the test database."""
    return session_factory(get_engine(database_url))


@pytest.fixture
def db(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session; the test decides when to commit."""
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    """Return the app without its background worker (tests drain jobs explicitly)."""
    return create_app(settings, run_worker=False)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """Yield an HTTP client talking to the app in-process."""
    with TestClient(app) as test_client:
        yield test_client


class LiveServer:
    """A real uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        import socket
        import threading

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        import time

        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """Yield a running server (with its in-process worker) for tests that need real sockets."""
    server = LiveServer(create_app(settings, run_worker=True))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_model():  # type: ignore[no-untyped-def]
    """Train the demo store's intent model once per test session (real embeddings, ~20 s)."""
    from tandem.demo.knowledge import faq_entries
    from tandem.demo.seed import load_demo_content
    from tandem.triage.intent import IntentModel

    entries = faq_entries(load_demo_content())
    texts = [t for e in entries for t in e["examples"]]
    labels = [e["intent"] for e in entries for _ in e["examples"]]
    return IntentModel.train(texts, labels)


@pytest.fixture
def shop(factory: sessionmaker[Session], demo_model):  # type: ignore[no-untyped-def]
    """Return a workspace with the demo FAQ, its trained model and default routing."""
    from tandem.db.session import transaction
    from tandem.demo.knowledge import load_faq
    from tandem.demo.seed import load_demo_content
    from tandem.triage.service import store_model

    from .factories import make_workspace

    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        load_faq(session, workspace_id=ws.id, content=load_demo_content())
        store_model(session, workspace_id=ws.id, model=demo_model, activate=True)
    return ws
