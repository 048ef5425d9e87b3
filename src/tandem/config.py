"""All settings in one place, read from `TANDEM_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-change-me"  # noqa: S105 - the placeholder we refuse outside development


class Settings(BaseSettings):
    """Tandem's configuration; every field is documented and can be set as TANDEM_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="TANDEM_", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="development allows the placeholder secret; production does not."
    )
    data_dir: Path = Field(Path("./data"), description="Where the SQLite file and models live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is SQLite at <data_dir>/tandem.db."
    )
    secret_key: str = Field(
        DEV_SECRET, description="Signs CSRF tokens; must be a real secret outside development."
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL shared by several processes: live-update fan-out and login "
        "limits (optional; in-process without it).",
    )
    max_message_chars: int = Field(
        10_000, description="Longest customer or agent message accepted."
    )
    session_days: int = Field(14, description="How long an agent's login session lasts.")
    cookie_secure: bool = Field(
        True,
        description="Mark cookies Secure (sent over HTTPS only) and send HSTS. Set false only "
        "to develop over plain http://; production refuses to start with it off.",
    )
    hsts_seconds: int = Field(
        365 * 86400,
        ge=0,
        description="max-age of the Strict-Transport-Security header sent when cookies are "
        "secure (0: no header).",
    )
    login_attempts_per_address: int = Field(
        5, ge=1, description="Failed logins allowed per (client address, email) per window."
    )
    login_attempts_per_account: int = Field(
        20, ge=1, description="Failed logins allowed per email across all addresses per window."
    )
    login_window_seconds: int = Field(
        300, ge=1, description="The window of the login limits, in seconds."
    )
    auto_migrate: bool = Field(True, description="Run database migrations when the app starts.")

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "TANDEM_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production, e.g. the output of: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if self.environment == "production" and not self.cookie_secure:
            raise ValueError(
                "TANDEM_COOKIE_SECURE=false is for developing over plain http:// only; in "
                "production serve Tandem over HTTPS (directly or behind a TLS proxy) and keep "
                "secure cookies, or run with TANDEM_ENVIRONMENT=development"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            url = self.database_url
            # Accept the URLs people paste from PostgreSQL docs and pick our driver.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{(self.data_dir / 'tandem.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
