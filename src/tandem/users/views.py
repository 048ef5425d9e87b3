"""Login, logout, who-am-I, API tokens and user management."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from tandem.api.deps import (
    SESSION_COOKIE,
    AdminPrincipal,
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
)
from tandem.core.security import csrf_token_for
from tandem.db.session import scope_session
from tandem.users import service
from tandem.users.models import Role, TokenKind, User

router = APIRouter(prefix="/api/v1", tags=["auth & users"])


class LoginIn(BaseModel):
    """Credentials."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    password: str = Field(max_length=1000)


class UserOut(BaseModel):
    """A team member."""

    id: str
    workspace_id: str
    email: str
    name: str
    role: str
    is_active: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        """Build from a stored user."""
        return cls(
            id=user.id,
            workspace_id=user.workspace_id,
            email=user.email,
            name=user.name,
            role=user.role,
            is_active=user.is_active,
        )


class LoginOut(BaseModel):
    """The logged-in user and the CSRF token to echo in X-CSRF-Token on writes."""

    user: UserOut
    csrf_token: str


class TokenIn(BaseModel):
    """A name for a new API token."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class TokenOut(BaseModel):
    """A new API token; it is shown only this once."""

    id: str
    name: str
    token: str


class UserIn(BaseModel):
    """A new team member."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=1000)
    role: Role = Role.AGENT


@router.post("/auth/login", response_model=LoginOut)
def login(
    body: LoginIn, response: Response, session: SessionDep, settings: SettingsDep
) -> LoginOut:
    """Check credentials and start a browser session (HttpOnly cookie); the user is online."""
    user = service.authenticate(session, email=body.email, password=body.password)
    issued = service.start_session(
        session, user=user, lifetime=timedelta(days=settings.session_days)
    )
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return LoginOut(
        user=UserOut.of(user), csrf_token=csrf_token_for(settings.secret_key, issued.token)
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
    """Create an API token for integrations, acting as the caller."""
    issued = service.issue_token(session, user=principal.user, kind=TokenKind.API, name=body.name)
    return TokenOut(id=issued.record.id, name=body.name, token=issued.token)


@router.get("/users", response_model=list[UserOut])
def list_users(principal: CurrentPrincipal, session: SessionDep) -> list[UserOut]:
    """List the team of the caller's workspace."""
    return [UserOut.of(u) for u in service.list_users(session)]


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: UserIn, principal: AdminPrincipal, session: SessionDep) -> UserOut:
    """Add a team member to the caller's workspace (admins only)."""
    scope_session(session, principal.workspace_id)
    user = service.create_user(
        session,
        workspace_id=principal.workspace_id,
        email=body.email,
        name=body.name,
        password=body.password,
        role=body.role,
    )
    return UserOut.of(user)
