"""Request dependencies: the database session, the current user, roles and CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from tandem.config import Settings
from tandem.core.errors import AuthenticationError, PermissionDeniedError
from tandem.core.security import csrf_matches
from tandem.db.session import scope_session, transaction
from tandem.events.service import set_actor
from tandem.users.models import ApiToken, Role, TokenKind, TokenScope, User
from tandem.users.service import resolve_token
from tandem.users.totp import require_setup_done

SESSION_COOKIE = "tandem_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a read-only API token may do.
READ_METHODS = frozenset({"GET", "HEAD"})


def get_settings_dep(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Yield one session per request: commit if the handler succeeded, else roll back."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with transaction(factory) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the commit happens before the response is sent, so a 2xx means durable.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is calling, and how they proved it."""

    user: User
    token: ApiToken
    via_cookie: bool
    session_token: str

    @property
    def workspace_id(self) -> str:
        """Return the caller's workspace."""
        return self.user.workspace_id

    @property
    def role(self) -> Role:
        """Return the caller's role."""
        return Role(self.user.role)


def bearer_token(request: Request) -> str | None:
    """Return the token of an `Authorization: Bearer` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def get_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """Authenticate by API token or login cookie, check CSRF, and scope the session."""
    api_token = bearer_token(request)
    if api_token:
        user, token = resolve_token(session, api_token, kind=TokenKind.API)
        principal = Principal(user=user, token=token, via_cookie=False, session_token=api_token)
        if token.scope == TokenScope.READ.value and request.method not in READ_METHODS:
            raise PermissionDeniedError("this API token is read-only; it may only GET")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise AuthenticationError("log in first (session cookie) or send an API token")
        user, token = resolve_token(session, cookie, kind=TokenKind.SESSION)
        principal = Principal(user=user, token=token, via_cookie=True, session_token=cookie)
        # Cookies ride along on cross-site requests; a state change must prove it came
        # from our own page by echoing the session's CSRF token.
        if request.method not in SAFE_METHODS and not csrf_matches(
            settings.secret_key, cookie, request.headers.get(CSRF_HEADER)
        ):
            raise PermissionDeniedError(f"missing or wrong {CSRF_HEADER} header")
    scope_session(session, principal.workspace_id)
    set_actor(session, actor_type="user", actor_id=principal.user.id)  # for the audit log
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Give the browser its session cookie (the API's login and the console's set the same)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def ensure_role(session: Session, principal: Principal, minimum: Role, what: str = "this") -> None:
    """Refuse a caller below a role; admin work also needs two-factor where the workspace says so.

    The one role check of the API and the console (`what` names the thing in the message).
    """
    if not principal.role.includes(minimum):
        raise PermissionDeniedError(f"{what} needs the {minimum.value} role")
    if minimum is Role.ADMIN:
        require_setup_done(session, principal.user)  # tandem.users.totp


def require_role(minimum: Role) -> object:
    """Return a dependency that refuses callers below a role."""

    def check(principal: CurrentPrincipal, session: SessionDep) -> Principal:
        ensure_role(session, principal, minimum)
        return principal

    return Depends(check)


AdminPrincipal = Annotated[Principal, require_role(Role.ADMIN)]
SupervisorPrincipal = Annotated[Principal, require_role(Role.SUPERVISOR)]
