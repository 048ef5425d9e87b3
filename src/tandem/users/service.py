"""Create users, check passwords, issue and resolve bearer tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.core.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from tandem.core.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    verify_password,
)
from tandem.db.base import new_secret, utcnow
from tandem.users.models import ApiToken, Role, TokenKind, User

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


@cache
def _dummy_hash() -> str:
    # Verifying against a real hash when the email is unknown keeps login timing uniform.
    return hash_password("not-a-real-password")


def normalise_email(email: str) -> str:
    """Return the canonical form of an email address, or raise ValidationError."""
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ValidationError(f"{email!r} is not a valid email address")
    return email


def create_user(
    session: Session,
    *,
    workspace_id: str,
    email: str,
    name: str,
    password: str,
    role: Role = Role.AGENT,
) -> User:
    """Create a user with an argon2-hashed password; emails are unique installation-wide."""
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if not name.strip():
        raise ValidationError("name must not be empty")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"a user with email {email} already exists")
    user = User(
        workspace_id=workspace_id,
        email=email,
        name=name.strip(),
        role=Role(role).value,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User:
    """Return the active user with these credentials, or raise AuthenticationError."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_dummy_hash(), password)
        raise AuthenticationError("wrong email or password")
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise AuthenticationError("wrong email or password")
    return user


@dataclass(frozen=True)
class IssuedToken:
    """A token as shown once to its owner; only the hash is stored."""

    token: str
    record: ApiToken


def issue_token(
    session: Session,
    *,
    user: User,
    kind: TokenKind,
    name: str = "",
    lifetime: timedelta | None = None,
) -> IssuedToken:
    """Create a session or API token for a user and return its one-time plaintext."""
    raw = new_secret("tdm_" if kind is TokenKind.API else "")
    record = ApiToken(
        workspace_id=user.workspace_id,
        user_id=user.id,
        kind=kind.value,
        name=name,
        token_hash=hash_token(raw),
        expires_at=utcnow() + lifetime if lifetime else None,
    )
    session.add(record)
    session.flush()
    return IssuedToken(token=raw, record=record)


# Presence values (routing auto-assigns only to "online"). "away" is a choice the agent made
# and outlives a logout; "offline" is only the state of having no browser session.
ONLINE, AWAY, OFFLINE = "online", "away", "offline"


def start_session(session: Session, *, user: User, lifetime: timedelta) -> IssuedToken:
    """Log a user in: a browser-session token, and online unless they had chosen to be away."""
    issued = issue_token(session, user=user, kind=TokenKind.SESSION, lifetime=lifetime)
    if user.presence != AWAY:
        user.presence = ONLINE
    user.last_seen_at = utcnow()
    session.flush()
    return issued


def end_session(session: Session, user: User, raw: str) -> None:
    """Log a browser session out; an online user with no other live session goes offline."""
    revoke_token(session, raw)
    session.flush()
    others = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.kind == TokenKind.SESSION.value,
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow()),
        )
    )
    if user.presence == ONLINE and not others:
        user.presence = OFFLINE
        session.flush()


def resolve_token(session: Session, raw: str | None, *, kind: TokenKind) -> tuple[User, ApiToken]:
    """Return the active user and token record behind a bearer token, or raise."""
    if not raw:
        raise AuthenticationError("authentication required")
    record = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(raw), ApiToken.kind == kind.value)
    )
    now = utcnow()
    if record is None or (record.expires_at is not None and record.expires_at <= now):
        raise AuthenticationError("invalid or expired credentials")
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("invalid or expired credentials")
    # Touch at most once a minute so reads do not turn into writes on every request.
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        record.last_used_at = now
    return user, record


def revoke_token(session: Session, raw: str) -> None:
    """Delete a token so it can no longer be used."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if record is not None:
        session.delete(record)


def list_users(session: Session) -> list[User]:
    """Return the users visible to the session's workspace scope."""
    return list(session.scalars(select(User).order_by(User.created_at)))


def get_user(session: Session, user_id: str) -> User:
    """Return a user in the session's workspace scope."""
    user = session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFoundError("user not found")
    return user


MAX_CAPACITY = 50


def update_user(
    session: Session,
    user: User,
    *,
    role: Role | None = None,
    capacity: int | None = None,
    is_active: bool | None = None,
) -> User:
    """Change a member's role, capacity or active flag; a workspace keeps one active admin."""
    if capacity is not None and not 0 <= capacity <= MAX_CAPACITY:
        raise ValidationError(f"capacity must be between 0 and {MAX_CAPACITY}")
    new_role = Role(role) if role is not None else Role(user.role)
    new_active = user.is_active if is_active is None else is_active
    if (
        user.role == Role.ADMIN.value
        and user.is_active
        and not (new_active and new_role is Role.ADMIN)
    ):
        others = session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.workspace_id == user.workspace_id,
                User.role == Role.ADMIN.value,
                User.is_active.is_(True),
                User.id != user.id,
            )
        )
        if not others:
            raise ConflictError("the workspace needs at least one active admin")
    user.role = new_role.value
    user.is_active = new_active
    if capacity is not None:
        user.capacity = capacity
    session.flush()
    return user
