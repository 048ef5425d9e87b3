"""Who is using the console: cookie login, CSRF checks and error pages (role gates: web.page).

Console requests authenticate exactly like the JSON API (tandem.api.deps.get_principal: the
session cookie, plus the X-CSRF-Token header on every non-GET request). The login form itself
has no session yet, so it carries a signed double-submit token instead.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute

from tandem.api.deps import Principal, SessionDep, SettingsDep, get_principal
from tandem.conversations.state import TransitionError
from tandem.core.errors import AuthenticationError, TandemError
from tandem.core.security import csrf_token_for
from tandem.users.totp import TwoFactorSetupRequiredError
from tandem.web.templating import render

LOGIN_NONCE_COOKIE = "tandem_login_nonce"
LOGIN_PATH = "/login"
HOME_PATH = "/console"
TWO_FACTOR_PATH = "/console/account/two-factor"


class LoginRequiredError(Exception):
    """The visitor has no valid session; send them to the login page."""


def is_htmx(request: Request) -> bool:
    """Return whether a request was made by htmx (it wants a fragment, not a page)."""
    return request.headers.get("hx-request") == "true"


def safe_next(target: str | None) -> str:
    """Return a local path to go to after login; anything else falls back to the console."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return HOME_PATH
    return target


def _login_redirect(request: Request) -> Response:
    target = f"{LOGIN_PATH}?next={quote(request.url.path)}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.method == "GET" and "text/event-stream" not in request.headers.get("accept", ""):
        return RedirectResponse(target, status_code=303)
    return PlainTextResponse("log in first", status_code=401)


def error_response(request: Request, status: int, message: str) -> Response:
    """Return a readable error: a toast message for htmx, a page otherwise."""
    if is_htmx(request):
        # The console script shows this text in a toast; nothing is swapped into the page.
        return PlainTextResponse(
            message, status_code=status, headers={"HX-Reswap": "none", "X-Tandem-Error": "1"}
        )
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def console_error_page(request: Request, status: int, message: str) -> Response | None:
    """Return a page for an HTTP error on a console URL a browser asked for, else None.

    A mistyped console address ("/console/conversations/…") showed raw JSON.
    """
    path = request.url.path
    if not (path == HOME_PATH or path.startswith(HOME_PATH + "/")):
        return None
    if is_htmx(request) or "text/html" in request.headers.get("accept", ""):
        readable = "There is no page at this address." if status == 404 else message
        return error_response(request, status, readable)
    return None


class ConsoleRoute(APIRoute):
    """A route whose errors become pages (or htmx toasts) instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler to map login and domain errors to HTML responses."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequiredError:
                return _login_redirect(request)
            except TwoFactorSetupRequiredError:
                # The workspace requires two-factor login for admins: set it up first.
                if is_htmx(request):
                    return Response(status_code=403, headers={"HX-Redirect": TWO_FACTOR_PATH})
                return RedirectResponse(TWO_FACTOR_PATH, status_code=303)
            except TandemError as exc:
                return error_response(request, exc.status_code, exc.message)
            except TransitionError as exc:
                return error_response(request, 409, str(exc))

        return route


def console_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """Return the logged-in user (cookie; CSRF header on writes), or ask them to log in."""
    try:
        return get_principal(request, session, settings)
    except AuthenticationError as exc:
        raise LoginRequiredError from exc


ConsoleUser = Annotated[Principal, Depends(console_principal)]


def page_csrf(principal: Principal, secret_key: str) -> str:
    """Return the CSRF token the page echoes in X-CSRF-Token (empty for API-token callers)."""
    return csrf_token_for(secret_key, principal.session_token) if principal.via_cookie else ""


# --- the login form's own CSRF defence -------------------------------------------------------


def new_login_nonce() -> str:
    """Return a fresh random nonce for the login form's cookie."""
    return secrets.token_urlsafe(24)


def login_form_token(secret_key: str, nonce: str) -> str:
    """Return the form token that proves the form was served with this nonce cookie."""
    return hmac.new(secret_key.encode(), b"login:" + nonce.encode(), "sha256").hexdigest()


def login_form_is_genuine(request: Request, secret_key: str, presented: str | None) -> bool:
    """Return whether a login POST came from our own form (nonce cookie, token, same origin)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            return False
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
    if not nonce or not presented:
        return False
    return hmac.compare_digest(login_form_token(secret_key, nonce), presented)
