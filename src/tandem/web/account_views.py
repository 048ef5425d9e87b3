"""The user's own account page: two-factor login (TOTP) set-up, confirmation and switching off.

Every change goes through tandem.users.totp, the same functions the team API calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy.orm import Session

from tandem.api.deps import Principal, SessionDep, SettingsDep
from tandem.config import Settings
from tandem.core.errors import ConflictError, TandemError
from tandem.users import totp
from tandem.users.models import Role
from tandem.web.auth import ConsoleRoute, ConsoleUser, page_csrf
from tandem.web.templating import render
from tandem.workspaces.service import get_workspace

router = APIRouter(prefix="/console/account", route_class=ConsoleRoute)

Code = Annotated[str, Form(max_length=12)]


def _context(
    session: Session, principal: Principal, settings: Settings, **extra: Any
) -> dict[str, Any]:
    user = principal.user
    workspace = get_workspace(session, user.workspace_id)
    required = Role(user.role).includes(Role.ADMIN) and totp.admin_two_factor_required(workspace)
    return {
        "user": user,
        "csrf_token": page_csrf(principal, settings.secret_key),
        "is_supervisor": principal.role.includes(Role.SUPERVISOR),
        "is_admin": principal.role.includes(Role.ADMIN),
        "nav": "account",
        "section": "two-factor",
        "enabled": user.has_totp,
        "required": required,
        "enrolment": totp.pending_enrolment(user, secret_key=settings.secret_key),
        **extra,
    }


def _result(
    request: Request,
    session: Session,
    principal: Principal,
    settings: Settings,
    change: Callable[[], str],
) -> Response:
    try:
        with session.begin_nested():
            notice = change()
    except TandemError as exc:
        context = _context(session, principal, settings, error=exc.message)
        status = 422 if exc.status_code in (409, 422) else exc.status_code
        return render(request, "account/_two_factor.html", context, status_code=status)
    context = _context(session, principal, settings, notice=notice)
    return render(request, "account/_two_factor.html", context)


@router.get("/two-factor")
def two_factor_page(
    request: Request, principal: ConsoleUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """Show whether two-factor login is on, and the steps to switch it on or off."""
    context = _context(session, principal, settings)
    return render(request, "account/two_factor.html", context)


@router.post("/two-factor")
def start_two_factor(
    request: Request, principal: ConsoleUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """Create a new secret and show it (and its QR code) to add to an authenticator app."""

    def change() -> str:
        totp.begin_enrolment(session, principal.user, secret_key=settings.secret_key)
        return "Add the account to your authenticator app, then enter the code it shows."

    return _result(request, session, principal, settings, change)


@router.post("/two-factor/confirm")
def confirm_two_factor(
    request: Request,
    principal: ConsoleUser,
    session: SessionDep,
    settings: SettingsDep,
    code: Code = "",
) -> Response:
    """Switch two-factor login on with a code from the app."""

    def change() -> str:
        totp.confirm_enrolment(session, principal.user, secret_key=settings.secret_key, code=code)
        return "Two-factor login is on. From now on you log in with your password and a code."

    return _result(request, session, principal, settings, change)


@router.post("/two-factor/disable")
def disable_two_factor(
    request: Request,
    principal: ConsoleUser,
    session: SessionDep,
    settings: SettingsDep,
    code: Code = "",
) -> Response:
    """Switch two-factor login off (needs a current code; not where admins must use it)."""

    def change() -> str:
        if _context(session, principal, settings)["required"]:
            raise ConflictError("this workspace requires two-factor login for admins")
        totp.disable(session, principal.user, secret_key=settings.secret_key, code=code)
        return "Two-factor login is off."

    return _result(request, session, principal, settings, change)
