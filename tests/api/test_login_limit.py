"""One login limiter for the API and the console form: per address+email, per account, shared."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.app import create_app
from tandem.config import Settings

from ..factories import PASSWORD, make_workspace
from ..web.conftest import FORM_TOKEN

REDIS_URL = "redis://127.0.0.1:6379/0"
LOGIN = "/api/v1/auth/login"


def _api_login(client: TestClient, email: str, password: str) -> int:
    return client.post(LOGIN, json={"email": email, "password": password}).status_code


def _form_login(client: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    token = FORM_TOKEN.search(client.get("/login").text)
    assert token
    return client.post(
        "/login", data={"email": email, "password": password, "form_token": token.group(1)}
    )


def _assert_limited(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) > 0
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert "too many failed login attempts" in error["message"]


def test_api_login_is_limited_per_address_and_email(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    for _ in range(5):
        assert _api_login(client, ws.agent_email, "wrong-password") == 401
    # Even the right password waits now: the limit is checked before the password.
    _assert_limited(client.post(LOGIN, json={"email": ws.agent_email, "password": PASSWORD}))
    # Same address, another account: not locked out by someone else's typos.
    assert _api_login(client, ws.admin_email, PASSWORD) == 200


def test_a_success_clears_the_failures(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    for _ in range(4):
        assert _api_login(client, ws.agent_email, "wrong-password") == 401
    assert _api_login(client, ws.agent_email, PASSWORD) == 200
    for _ in range(4):
        assert _api_login(client, ws.agent_email, "wrong-password") == 401
    assert _api_login(client, ws.agent_email, PASSWORD) == 200


def test_the_account_is_limited_across_addresses(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    app = create_app(
        settings.model_copy(update={"login_attempts_per_account": 6}), run_worker=False
    )
    ws = make_workspace(factory)
    for n in range(6):  # a guesser spreading attempts over six addresses
        with TestClient(app, client=(f"203.0.113.{n}", 5000)) as client:
            assert _api_login(client, ws.agent_email, "wrong-password") == 401
    with TestClient(app, client=("198.51.100.7", 5000)) as fresh:
        _assert_limited(fresh.post(LOGIN, json={"email": ws.agent_email, "password": PASSWORD}))
        assert _api_login(fresh, ws.admin_email, PASSWORD) == 200


def test_api_and_console_form_share_one_limiter(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    for _ in range(3):
        assert _api_login(client, ws.agent_email, "wrong-password") == 401
    for _ in range(2):
        assert _form_login(client, ws.agent_email, "wrong-password").status_code == 401
    blocked = _form_login(client, ws.agent_email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.text
    _assert_limited(client.post(LOGIN, json={"email": ws.agent_email, "password": PASSWORD}))


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def two_instances(settings: Settings) -> Iterator[tuple[FastAPI, FastAPI]]:
    """Yield two app instances (as two processes would be) sharing one Redis."""
    if not _redis_available():
        pytest.skip(f"Redis at {REDIS_URL} is not reachable")
    shared = settings.model_copy(update={"redis_url": REDIS_URL})
    yield create_app(shared, run_worker=False), create_app(shared, run_worker=False)


def test_limits_are_shared_through_redis(
    two_instances: tuple[FastAPI, FastAPI], factory: sessionmaker[Session]
) -> None:
    first, second = two_instances
    # A fresh workspace name: keys in Redis outlive the test database.
    ws = make_workspace(factory, name=f"ws-{uuid.uuid4().hex[:12]}")
    with TestClient(first) as one, TestClient(second) as other:
        for _ in range(5):
            assert _api_login(one, ws.agent_email, "wrong-password") == 401
        _assert_limited(other.post(LOGIN, json={"email": ws.agent_email, "password": PASSWORD}))
        # The other account on the same address is not affected.
        assert _api_login(one, ws.admin_email, PASSWORD) == 200
