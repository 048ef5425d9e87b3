"""The user's own account page: two-factor login (TOTP) set-up, confirmation and switching off.

Every change goes through tandem.users.totp, the same functions the team API calls.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response

from tandem.core.errors import ConflictError
from tandem.users import totp
from tandem.users.models import Role
from tandem.web.auth import ConsoleRoute
from tandem.web.page import Page, UserPage

router = APIRouter(prefix="/console/account", route_class=ConsoleRoute)

Code = Annotated[str, Form(max_length=12)]
SECTION = "account/_two_factor.html"


def _context(page: Page) -> dict[str, Any]:
    user = page.user
    required = page.may(Role.ADMIN) and totp.admin_two_factor_required(page.workspace())
    return page.layout(
        nav="account",
        section="two-factor",
        enabled=user.has_totp,
        required=required,
        enrolment=totp.pending_enrolment(user, secret_key=page.config.secret_key),
    )


@router.get("/two-factor")
def two_factor_page(page: UserPage) -> Response:
    """Show whether two-factor login is on, and the steps to switch it on or off."""
    return page.render("account/two_factor.html", _context(page))


@router.post("/two-factor")
def start_two_factor(page: UserPage) -> Response:
    """Create a new secret and show it (and its QR code) to add to an authenticator app."""

    def change() -> str:
        totp.begin_enrolment(page.session, page.user, secret_key=page.config.secret_key)
        return "Add the account to your authenticator app, then enter the code it shows."

    return page.form_result(SECTION, lambda: _context(page), change)


@router.post("/two-factor/confirm")
def confirm_two_factor(page: UserPage, code: Code = "") -> Response:
    """Switch two-factor login on with a code from the app."""

    def change() -> str:
        totp.confirm_enrolment(
            page.session, page.user, secret_key=page.config.secret_key, code=code
        )
        return "Two-factor login is on. From now on you log in with your password and a code."

    return page.form_result(SECTION, lambda: _context(page), change)


@router.post("/two-factor/disable")
def disable_two_factor(page: UserPage, code: Code = "") -> Response:
    """Switch two-factor login off (needs a current code; not where admins must use it)."""

    def change() -> str:
        if _context(page)["required"]:
            raise ConflictError("this workspace requires two-factor login for admins")
        totp.disable(page.session, page.user, secret_key=page.config.secret_key, code=code)
        return "Two-factor login is off."

    return page.form_result(SECTION, lambda: _context(page), change)
