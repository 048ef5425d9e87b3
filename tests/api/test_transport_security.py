"""Secure cookies by default, HSTS with them, production refuses plain HTTP; the demo opts out."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tandem.app import create_app
from tandem.config import Settings

from ..factories import PASSWORD, make_workspace

SECRET = "a-production-secret-that-is-long-enough-0123456789"


def test_cookies_are_secure_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TANDEM_COOKIE_SECURE", raising=False)
    assert Settings().cookie_secure is True


def test_production_refuses_plain_http_cookies() -> None:
    with pytest.raises(ValidationError, match="TANDEM_COOKIE_SECURE=false"):
        Settings(environment="production", secret_key=SECRET, cookie_secure=False)
    assert Settings(environment="production", secret_key=SECRET).cookie_secure
    # Developing over plain http:// is an explicit opt-out, allowed outside production.
    assert not Settings(environment="development", cookie_secure=False).cookie_secure


def test_secure_app_marks_cookies_and_sends_hsts(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    app = create_app(settings.model_copy(update={"cookie_secure": True}), run_worker=False)
    ws = make_workspace(factory)
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/auth/login", json={"email": ws.agent_email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert "secure" in response.headers["set-cookie"].lower()
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
        page = client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        assert "strict-transport-security" in page.headers
        assert "strict-transport-security" in client.get("/healthz").headers


def test_plain_http_development_has_no_secure_flag_or_hsts(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    response = client.post(
        "/api/v1/auth/login", json={"email": ws.agent_email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "secure" not in response.headers["set-cookie"].lower()
    assert "strict-transport-security" not in response.headers


def test_demo_serves_plain_http_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    """`tandem demo` runs on http://127.0.0.1, so it alone turns secure cookies off."""
    from tandem import app as app_module
    from tandem.cli import main as cli_main
    from tandem.demo import seed

    served: dict[str, Any] = {}

    @contextmanager
    def no_database(_settings: Settings | None = None):  # type: ignore[no-untyped-def]
        yield None

    class Seeded:
        workspace_name = "Demo"
        widget_key = "wk_demo"

    monkeypatch.setattr(cli_main, "cli_transaction", no_database)
    monkeypatch.setattr(seed, "seed_demo", lambda _session, progress=None: Seeded())
    monkeypatch.setattr(app_module, "create_app", lambda settings=None: settings)
    monkeypatch.setattr("uvicorn.run", lambda app, **_kw: served.update(settings=app))
    result = CliRunner().invoke(cli_main.app, ["demo"])
    assert result.exit_code == 0, result.output
    assert served["settings"].cookie_secure is False
