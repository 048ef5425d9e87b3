"""Login, logout, who-am-I, API tokens and user management."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from tandem.api.deps import (
    SESSION_COOKIE,
    AdminPrincipal,
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    set_session_cookie,
)
from tandem.api.login_limit import authenticate_limited
from tandem.core.errors import ConflictError, NotFoundError
from tandem.core.schemas import BodyIn, RowOut, UtcDatetime
from tandem.core.security import csrf_token_for
from tandem.db.base import utcnow
from tandem.db.session import scope_session
from tandem.users import service, totp
from tandem.users.models import ApiToken, Role, TokenKind, TokenScope, User
from tandem.workspaces.service import get_workspace

router = APIRouter(prefix="/api/v1", tags=["auth & users"])


class LoginIn(BodyIn):
    """Credentials."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)
    totp: str | None = Field(
        None, max_length=12, description="The authenticator code, for users with two-factor on."
    )
    presence: Literal["online", "away", "offline"] | None = Field(
        None,
        description=(
            "Presence to start with. Routing gives chats only to online agents. Without it the "
            "user is online, unless they had chosen away."
        ),
    )


class UserOut(RowOut):
    """A team member."""

    id: str
    workspace_id: str
    email: str
    name: str
    role: str
    is_active: bool
    presence: str = Field(
        description="online, away or offline; routing gives chats only to online."
    )
    two_factor: bool = False

    @classmethod
    def of(cls, user: User) -> UserOut:
        """Build from a stored user."""
        return cls.from_row(user, two_factor=user.has_totp)


class LoginOut(BaseModel):
    """The logged-in user and the CSRF token to echo in X-CSRF-Token on writes."""

    user: UserOut
    csrf_token: str
    two_factor_setup_required: bool = Field(
        False, description="The workspace requires two-factor login for admins: set it up."
    )


class TokenIn(BodyIn):
    """A new API token: a name, what it may do, and optionally when it expires."""

    name: str = Field(min_length=1, max_length=100)
    scope: TokenScope = Field(
        TokenScope.FULL, description="full: what its user may do; read: only GET and HEAD."
    )
    expires_at: UtcDatetime | None = Field(
        None, description="When it stops working (UTC if naive)."
    )
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="Or: lifetime in days.")

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenIn:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days, not both")
        return self


class TokenOut(RowOut):
    """A new API token; it is shown only this once."""

    id: str
    name: str
    token: str
    scope: TokenScope
    created_at: datetime
    expires_at: datetime | None


class TokenInfoOut(RowOut):
    """An API token as listed (never its secret)."""

    id: str
    name: str
    scope: TokenScope
    user_id: str
    user_email: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    expired: bool

    @classmethod
    def of(cls, token: ApiToken, owner: User) -> TokenInfoOut:
        """Build from a stored token and its owner."""
        return cls.from_row(
            token,
            scope=TokenScope(token.scope),
            user_id=owner.id,
            user_email=owner.email,
            expired=token.expires_at is not None and token.expires_at <= utcnow(),
        )


class TwoFactorOut(BaseModel):
    """The caller's two-factor login state."""

    enabled: bool
    pending: bool = Field(description="Set-up started, waiting for a code to confirm it.")
    required: bool = Field(description="The workspace requires it for this user's role.")


class TwoFactorSetupOut(BaseModel):
    """A new TOTP secret to add to an authenticator app, then confirm with a code."""

    secret: str
    otpauth_uri: str


class CodeIn(BodyIn):
    """A 6-digit authenticator code."""

    code: str = Field(min_length=6, max_length=12)


class SecuritySettingsBody(BodyIn):
    """The workspace's login rules."""

    require_admin_two_factor: bool


class UserIn(BodyIn):
    """A new team member."""

    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=1000)
    role: Role = Role.AGENT


@router.post("/auth/login", response_model=LoginOut)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> LoginOut:
    """Check credentials and start a browser session (HttpOnly cookie).

    The user is online (routing may give them chats) unless `presence` says otherwise or they
    had chosen away. An integration should use an API token instead of logging in.

    Repeated failures answer 429 with Retry-After (limits per address+email and per email).
    """
    user = authenticate_limited(
        request, session, email=body.email, password=body.password, totp_code=body.totp
    )
    issued = service.start_session(
        session, user=user, lifetime=timedelta(days=settings.session_days), presence=body.presence
    )
    set_session_cookie(response, issued.token, settings)
    return LoginOut(
        user=UserOut.of(user),
        csrf_token=csrf_token_for(settings.secret_key, issued.token),
        two_factor_setup_required=totp.needs_setup(session, user),
    )


@router.post("/auth/logout", status_code=204)
def logout(principal: CurrentPrincipal, response: Response, session: SessionDep) -> Response:
    """End the current browser session."""
    if principal.via_cookie:
        service.end_session(session, principal.user, principal.session_token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=LoginOut)
def me(principal: CurrentPrincipal, settings: SettingsDep) -> LoginOut:
    """Return the caller and a CSRF token for their session."""
    return LoginOut(
        user=UserOut.of(principal.user),
        csrf_token=csrf_token_for(settings.secret_key, principal.session_token),
    )


@router.post("/tokens", status_code=201, response_model=TokenOut)
def create_token(body: TokenIn, principal: CurrentPrincipal, session: SessionDep) -> TokenOut:
    """Create an API token for integrations, acting as the caller (read-only or full)."""
    expires_at = body.expires_at
    issued = service.issue_token(
        session,
        user=principal.user,
        kind=TokenKind.API,
        name=body.name,
        scope=body.scope,
        expires_at=expires_at,
        lifetime=timedelta(days=body.expires_in_days) if body.expires_in_days else None,
    )
    record = issued.record
    return TokenOut.from_row(record, token=issued.token, scope=TokenScope(record.scope))


@router.get("/tokens", response_model=list[TokenInfoOut])
def list_tokens(principal: CurrentPrincipal, session: SessionDep) -> list[TokenInfoOut]:
    """List API tokens: the caller's own, or the whole workspace's for admins."""
    mine = None if principal.role.includes(Role.ADMIN) else principal.user
    return [TokenInfoOut.of(t, owner) for t, owner in service.list_api_tokens(session, user=mine)]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Revoke an API token (one's own; admins: any in the workspace). It stops working at once."""
    service.revoke_api_token(session, token_id, by=principal.user)
    return Response(status_code=204)


# --- two-factor login -------------------------------------------------------------------------


def _admin_rule(session: Session, user: User) -> bool:
    """Return whether the workspace requires two-factor login of this user (an admin)."""
    workspace = get_workspace(session, user.workspace_id)
    is_admin = Role(user.role).includes(Role.ADMIN)
    return is_admin and totp.admin_two_factor_required(workspace)


def _two_factor_state(session: Session, user: User, secret_key: str) -> TwoFactorOut:
    return TwoFactorOut(
        enabled=user.has_totp,
        pending=totp.pending_enrolment(user, secret_key=secret_key) is not None,
        required=_admin_rule(session, user),
    )


@router.get("/me/two-factor", response_model=TwoFactorOut)
def two_factor_state(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> TwoFactorOut:
    """Say whether the caller's two-factor login is on, being set up, or required."""
    return _two_factor_state(session, principal.user, settings.secret_key)


@router.post("/me/two-factor", status_code=201, response_model=TwoFactorSetupOut)
def start_two_factor(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> TwoFactorSetupOut:
    """Start setting up two-factor login: add the secret to an app, then confirm with a code."""
    enrolment = totp.begin_enrolment(session, principal.user, secret_key=settings.secret_key)
    return TwoFactorSetupOut(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/me/two-factor/confirm", response_model=TwoFactorOut)
def confirm_two_factor(
    body: CodeIn, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> TwoFactorOut:
    """Switch two-factor login on with a code from the app."""
    totp.confirm_enrolment(session, principal.user, secret_key=settings.secret_key, code=body.code)
    return _two_factor_state(session, principal.user, settings.secret_key)


@router.post("/me/two-factor/disable", response_model=TwoFactorOut)
def disable_two_factor(
    body: CodeIn, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> TwoFactorOut:
    """Switch the caller's two-factor login off (needs a current code)."""
    if _admin_rule(session, principal.user):
        raise ConflictError("this workspace requires two-factor login for admins")
    totp.disable(session, principal.user, secret_key=settings.secret_key, code=body.code)
    return _two_factor_state(session, principal.user, settings.secret_key)


@router.delete("/users/{user_id}/two-factor", status_code=204)
def reset_two_factor(user_id: str, principal: AdminPrincipal, session: SessionDep) -> Response:
    """Switch a team member's two-factor login off, e.g. after a lost phone (admins only)."""
    totp.reset(session, service.get_user(session, user_id))
    return Response(status_code=204)


@router.get("/security/settings", response_model=SecuritySettingsBody)
def read_security_settings(
    principal: CurrentPrincipal, session: SessionDep
) -> SecuritySettingsBody:
    """Return the workspace's login rules."""
    workspace = get_workspace(session, principal.workspace_id)
    return SecuritySettingsBody(require_admin_two_factor=totp.admin_two_factor_required(workspace))


@router.put("/security/settings", response_model=SecuritySettingsBody)
def write_security_settings(
    body: SecuritySettingsBody, principal: AdminPrincipal, session: SessionDep
) -> SecuritySettingsBody:
    """Require (or stop requiring) two-factor login for admins; you need it on yourself first."""
    workspace = get_workspace(session, principal.workspace_id)
    if workspace is None:
        raise NotFoundError("workspace not found")
    required = totp.set_admin_two_factor_required(
        session, workspace, required=body.require_admin_two_factor, by=principal.user
    )
    return SecuritySettingsBody(require_admin_two_factor=required)


@router.get("/users", response_model=list[UserOut])
def list_users(principal: CurrentPrincipal, session: SessionDep) -> list[UserOut]:
    """List the team of the caller's workspace."""
    return [UserOut.of(u) for u in service.list_users(session)]


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: UserIn, principal: AdminPrincipal, session: SessionDep) -> UserOut:
    """Add a team member to the caller's workspace (admins only)."""
    scope_session(session, principal.workspace_id)
    user = service.create_user(session, workspace_id=principal.workspace_id, **body.model_dump())
    return UserOut.of(user)
