"""Two-factor login (TOTP): set-up, login with a code, replay, switching off, the admin rule."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.config import Settings
from tandem.events.models import Event
from tandem.users import totp
from tandem.users.models import User

from ..factories import PASSWORD, login, make_workspace

LOGIN = "/api/v1/auth/login"
KEY = "test-secret-key-that-is-long-enough-0123456789"  # tests/conftest.py's settings


class Clock:
    """The time TOTP codes are checked at; each `tick` moves to the next 30-second step."""

    def __init__(self) -> None:
        self.now = 1_900_000_020.0

    def tick(self) -> None:
        self.now += 30


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Check codes at a controlled time (a code works once, so tests move time on)."""
    fake = Clock()
    monkeypatch.setattr(totp, "_clock", lambda: fake.now)
    return fake


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(totp._clock() + 30 * steps_ahead)


def _enrol(client: TestClient, email: str) -> str:
    """Switch two-factor on for a user through the API; return their TOTP secret."""
    csrf = login(client, email)
    started = client.post("/api/v1/me/two-factor", headers=csrf)
    assert started.status_code == 201, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Tandem:")
    confirmed = client.post(
        "/api/v1/me/two-factor/confirm", headers=csrf, json={"code": _code(secret)}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["enabled"] is True
    client.cookies.clear()
    return str(secret)


def test_the_secret_is_stored_encrypted() -> None:
    secret = pyotp.random_base32()
    stored = totp.encrypt_secret(KEY, secret)
    assert secret not in stored
    assert totp.decrypt_secret(KEY, stored) == secret
    assert totp.decrypt_secret("another-key-entirely-0123456789abcdef", stored) is None


def test_setup_needs_a_right_code(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    csrf = login(client, ws.agent_email)
    assert client.get("/api/v1/me/two-factor").json() == {
        "enabled": False,
        "pending": False,
        "required": False,
    }
    secret = client.post("/api/v1/me/two-factor", headers=csrf).json()["secret"]
    with factory() as session:
        user = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        assert user.totp_secret is not None and secret not in user.totp_secret
        assert not user.has_totp
    assert client.get("/api/v1/me/two-factor").json()["pending"] is True
    wrong = client.post("/api/v1/me/two-factor/confirm", headers=csrf, json={"code": "000000"})
    assert wrong.status_code == 422
    # Until confirmed, logging in needs no code.
    client.cookies.clear()
    assert (
        client.post(LOGIN, json={"email": ws.agent_email, "password": PASSWORD}).status_code == 200
    )


def test_login_asks_for_the_code(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    secret = _enrol(client, ws.agent_email)
    creds = {"email": ws.agent_email, "password": PASSWORD}
    missing = client.post(LOGIN, json=creds)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "totp_required"
    wrong = client.post(LOGIN, json={**creds, "totp": "123456"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthenticated"
    # A wrong password with a right code says nothing about the code.
    bad_password = client.post(
        LOGIN, json={**creds, "password": "wrong-password", "totp": _code(secret, 1)}
    )
    assert bad_password.json()["error"]["code"] == "unauthenticated"
    code = _code(secret, 1)  # the confirmation used the current step
    ok = client.post(LOGIN, json={**creds, "totp": code})
    assert ok.status_code == 200, ok.text
    assert ok.json()["user"]["two_factor"] is True
    client.cookies.clear()
    replay = client.post(LOGIN, json={**creds, "totp": code})
    assert replay.status_code == 401, "a code works once"


def test_switching_off_needs_a_code_and_is_audited(
    client: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    ws = make_workspace(factory)
    secret = _enrol(client, ws.agent_email)
    creds = {"email": ws.agent_email, "password": PASSWORD}
    used = _code(secret, 1)
    response = client.post(LOGIN, json={**creds, "totp": used})
    csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
    disable = "/api/v1/me/two-factor/disable"
    assert client.post(disable, headers=csrf, json={"code": "000000"}).status_code == 422
    assert client.post(disable, headers=csrf, json={"code": used}).status_code == 422  # replay
    clock.tick()
    clock.tick()
    off = client.post(disable, headers=csrf, json={"code": _code(secret)})
    assert off.status_code == 200 and off.json()["enabled"] is False
    client.cookies.clear()
    assert client.post(LOGIN, json=creds).status_code == 200
    with factory() as session:
        user = session.scalars(select(User).where(User.email == ws.agent_email)).one()
        assert user.totp_secret is None
        types = session.scalars(
            select(Event.type).where(Event.type.like("two_factor.%")).order_by(Event.id)
        ).all()
    assert types == ["two_factor.enabled", "two_factor.disabled"]


def test_admins_reset_a_lost_phone(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    _enrol(client, ws.agent_email)
    with factory() as session:
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
    csrf = login(client, ws.supervisor_email)
    assert client.delete(f"/api/v1/users/{agent.id}/two-factor", headers=csrf).status_code == 403
    csrf = login(client, ws.admin_email)
    assert client.delete(f"/api/v1/users/{agent.id}/two-factor", headers=csrf).status_code == 204
    client.cookies.clear()
    login(client, ws.agent_email)  # no code needed any more


def test_a_workspace_can_require_two_factor_for_admins(
    client: TestClient, factory: sessionmaker[Session], clock: Clock
) -> None:
    ws = make_workspace(factory)
    rule = "/api/v1/security/settings"
    csrf = login(client, ws.admin_email)
    assert client.get(rule).json() == {"require_admin_two_factor": False}
    # You cannot lock yourself out: require it only once you use it.
    refused = client.put(rule, headers=csrf, json={"require_admin_two_factor": True})
    assert refused.status_code == 409
    secret = _enrol(client, ws.admin_email)
    creds = {"email": ws.admin_email, "password": PASSWORD, "totp": _code(secret, 1)}
    csrf = {"X-CSRF-Token": client.post(LOGIN, json=creds).json()["csrf_token"]}
    ok = client.put(rule, headers=csrf, json={"require_admin_two_factor": True})
    assert ok.status_code == 200 and ok.json() == {"require_admin_two_factor": True}
    assert client.post("/api/v1/queues", headers=csrf, json={"name": "Billing"}).status_code == 201
    # A second admin without two-factor is told to set it up, and cannot do admin work.
    with factory() as session:
        agent = session.scalars(select(User).where(User.email == ws.agent_email)).one()
    promoted = client.post(
        "/api/v1/users",
        headers=csrf,
        json={"email": "second@x.test", "name": "Second", "password": PASSWORD, "role": "admin"},
    )
    assert promoted.status_code == 201, promoted.text
    client.cookies.clear()
    second = client.post(LOGIN, json={"email": "second@x.test", "password": PASSWORD})
    assert second.status_code == 200 and second.json()["two_factor_setup_required"] is True
    second_csrf = {"X-CSRF-Token": second.json()["csrf_token"]}
    blocked = client.post("/api/v1/queues", headers=second_csrf, json={"name": "Sales"})
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "two_factor_setup_required"
    assert client.get("/api/v1/conversations").status_code == 200  # non-admin work goes on
    assert client.get("/api/v1/me/two-factor").json()["required"] is True
    # Agents are not affected by the admin rule.
    client.cookies.clear()
    agent_login = client.post(LOGIN, json={"email": ws.agent_email, "password": PASSWORD})
    assert agent_login.json()["two_factor_setup_required"] is False
    assert agent.role == "agent"
    # An admin who must use two-factor cannot switch it off.
    client.cookies.clear()
    clock.tick()
    clock.tick()
    creds["totp"] = _code(secret)
    csrf = {"X-CSRF-Token": client.post(LOGIN, json=creds).json()["csrf_token"]}
    clock.tick()
    stays = client.post("/api/v1/me/two-factor/disable", headers=csrf, json={"code": _code(secret)})
    assert stays.status_code == 409


def test_wrong_codes_count_towards_the_login_limit(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    ws = make_workspace(factory)
    secret = _enrol(client, ws.agent_email)
    creds = {"email": ws.agent_email, "password": PASSWORD}
    for _ in range(settings.login_attempts_per_address):
        assert client.post(LOGIN, json={**creds, "totp": "000000"}).status_code == 401
    limited = client.post(LOGIN, json={**creds, "totp": _code(secret, 1)})
    assert limited.status_code == 429
