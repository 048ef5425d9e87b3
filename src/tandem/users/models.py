"""People who log in (admins, supervisors, agents) and their credentials."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, TenantScoped, new_id, utcnow


class Role(StrEnum):
    """What a user may do; each role includes the ones below it."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return the role's position in the hierarchy (agent lowest)."""
        return [Role.AGENT, Role.SUPERVISOR, Role.ADMIN].index(self)

    def includes(self, other: Role) -> bool:
        """Return whether this role may do what `other` may do."""
        return self.rank >= other.rank


class User(TenantScoped, Base):
    """A member of a workspace's support team."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Email is unique across the installation so login needs no workspace picker.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default=Role.AGENT.value)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Routing: how many open conversations the agent takes at once, and whether they are here.
    capacity: Mapped[int] = mapped_column(default=5)
    presence: Mapped[str] = mapped_column(String(10), default="offline")  # online|away|offline
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Two-factor login (TOTP): the secret is stored encrypted (tandem.users.totp), never in clear.
    # A secret without totp_enabled_at is an enrolment that has not been confirmed with a code.
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
    # The last time step a code was accepted for: a code works once (no replay).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)

    @property
    def has_totp(self) -> bool:
        """Return whether two-factor login is switched on for this user."""
        return self.totp_secret is not None and self.totp_enabled_at is not None


class TokenKind(StrEnum):
    """Why a token exists: a browser login or an integration's API key."""

    SESSION = "session"
    API = "api"


class TokenScope(StrEnum):
    """What an API token may do: everything its user may, or only read (GET/HEAD)."""

    FULL = "full"
    READ = "read"


class ApiToken(TenantScoped, Base):
    """A bearer credential; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(10), default=TokenScope.FULL.value)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
