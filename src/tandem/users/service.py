"""Create users, check passwords, issue and resolve bearer tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from tandem.db.session import one_or_not_found, scope_session
from tandem.events.service import audit
from tandem.users.models import ApiToken, Role, TokenKind, TokenScope, User

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
    """Create a user with an argon2-hashed password.

    Emails are unique across the whole installation, not per workspace: login (`authenticate`)
    finds the user by email alone, so nobody has to pick a workspace to log in. The check
    therefore looks past the session's workspace scope, and a taken address answers the same
    409 whichever workspace holds it: the message names no workspace and no user.
    """
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if not name.strip():
        raise ValidationError("name must not be empty")
    if _email_taken(session, email):
        raise ConflictError(f"the email address {email} is already in use; choose another address")
    user = User(
        workspace_id=workspace_id,
        email=email,
        name=name.strip(),
        role=Role(role).value,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    audit(session, workspace_id=workspace_id, type="user.created", data=_user_data(user))
    return user


def _email_taken(session: Session, email: str) -> bool:
    # A Core query on the connection: the scoped session would hide other workspaces' users,
    # and the unique index on users.email spans them all. Only a yes/no leaves this function.
    users = User.__table__
    query = select(users.c.id).where(users.c.email == email).limit(1)
    return session.connection().execute(query).first() is not None


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    totp_code: str | None = None,
    secret_key: str | None = None,
) -> User:
    """Return the active user with these credentials, or raise AuthenticationError.

    A user with two-factor login on also needs a current authenticator code (and the app's
    secret key to read their TOTP secret); without a code this raises TotpRequiredError.
    """
    from tandem.users.totp import check_login_code

    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_dummy_hash(), password)
        raise AuthenticationError("wrong email or password")
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise AuthenticationError("wrong email or password")
    check_login_code(user, secret_key=secret_key or "", code=totp_code)
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
    expires_at: datetime | None = None,
    scope: TokenScope = TokenScope.FULL,
) -> IssuedToken:
    """Create a session or API token for a user and return its one-time plaintext.

    API tokens may expire (`lifetime` from now, or an `expires_at` in the future) and may be
    read-only (`scope`); only the token's SHA-256 digest is stored.
    """
    if lifetime is not None and expires_at is not None:
        raise ValidationError("give either an expiry date or a lifetime, not both")
    now = utcnow()
    if lifetime is not None:
        expires_at = now + lifetime
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationError("expires_at needs a time zone (e.g. 2030-01-01T00:00:00Z)")
        if expires_at <= now:
            raise ValidationError("expires_at must be in the future")
        if expires_at > now + MAX_TOKEN_LIFETIME:
            raise ValidationError(f"a token may last at most {MAX_TOKEN_LIFETIME.days} days")
    raw = new_secret("tdm_" if kind is TokenKind.API else "")
    record = ApiToken(
        workspace_id=user.workspace_id,
        user_id=user.id,
        kind=kind.value,
        scope=TokenScope(scope).value if kind is TokenKind.API else TokenScope.FULL.value,
        name=name.strip(),
        token_hash=hash_token(raw),
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    if kind is TokenKind.API:
        audit(
            session, workspace_id=user.workspace_id, type="token.created", data=_token_data(record)
        )
    return IssuedToken(token=raw, record=record)


MAX_TOKEN_LIFETIME = timedelta(days=3650)


def list_api_tokens(session: Session, *, user: User | None = None) -> list[tuple[ApiToken, User]]:
    """Return the API tokens of the session's workspace (or of one user), newest first."""
    query = (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.kind == TokenKind.API.value)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return [(row[0], row[1]) for row in session.execute(query)]


def revoke_api_token(session: Session, token_id: str, *, by: User) -> ApiToken:
    """Revoke an API token: one's own, or any in the workspace for an admin."""
    record = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.kind == TokenKind.API.value)
    )
    if record is None or (record.user_id != by.id and not Role(by.role).includes(Role.ADMIN)):
        raise NotFoundError("token not found")
    session.delete(record)
    session.flush()
    audit(session, workspace_id=record.workspace_id, type="token.revoked", data=_token_data(record))
    return record


def _token_data(record: ApiToken) -> dict[str, object]:
    expires = record.expires_at.isoformat() if record.expires_at else None
    return {
        "token_id": record.id,
        "name": record.name,
        "scope": record.scope,
        "owner_id": record.user_id,
        "expires_at": expires,
    }


def _user_data(user: User) -> dict[str, object]:
    return {"user_id": user.id, "email": user.email, "role": user.role}


# Presence values (routing auto-assigns only to "online"). "away" is a choice the agent made
# and outlives a logout; "offline" is only the state of having no browser session.
ONLINE, AWAY, OFFLINE = "online", "away", "offline"


PRESENCES = (ONLINE, AWAY, OFFLINE)


def start_session(
    session: Session, *, user: User, lifetime: timedelta, presence: str | None = None
) -> IssuedToken:
    """Log a user in: a browser-session token, and a presence.

    The presence is the one chosen at login; without a choice the user is online, unless they
    had chosen to be away. Routing gives chats only to online agents, so someone who logs in to
    read reports (or an integration) chooses away or offline and gets none.
    """
    if presence is not None and presence not in PRESENCES:
        raise ValidationError(f"presence must be one of {', '.join(PRESENCES)}")
    issued = issue_token(session, user=user, kind=TokenKind.SESSION, lifetime=lifetime)
    if presence is not None:
        user.presence = presence
    elif user.presence != AWAY:
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
    return one_or_not_found(session, select(User).where(User.id == user_id), "user")


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
    before = {"role": user.role, "capacity": user.capacity, "is_active": user.is_active}
    if (
        user.role == Role.ADMIN.value
        and user.is_active
        and not (new_active and new_role is Role.ADMIN)
    ):
        scope_session(session, user.workspace_id)
        others = session.scalar(
            select(func.count())
            .select_from(User)
            .where(
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
    after = {"role": user.role, "capacity": user.capacity, "is_active": user.is_active}
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        data = {**_user_data(user), "changes": changed}
        audit(session, workspace_id=user.workspace_id, type="user.updated", data=data)
    return user
