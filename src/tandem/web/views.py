"""Console pages: login, the queue with live updates, presence; includes the other page groups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy.orm import Session

from tandem.api.deps import (
    SESSION_COOKIE,
    Principal,
    SessionDep,
    SettingsDep,
    set_session_cookie,
)
from tandem.api.login_limit import authenticate_limited
from tandem.config import Settings
from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation
from tandem.core.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationError,
)
from tandem.db.base import utcnow
from tandem.handoff import service as handoff
from tandem.live import get_broker
from tandem.live.broker import workspace_channel
from tandem.live.sse import KEEPALIVE_SECONDS, format_event
from tandem.routing import admin as routing_admin
from tandem.routing import service as routing
from tandem.users import service as users
from tandem.users.totp import TotpRequiredError
from tandem.users.totp import needs_setup as totp_setup_needed
from tandem.web import (
    account_views,
    admin_views,
    ai_views,
    conversation_views,
    gap_views,
    knowledge_views,
    learning_views,
)
from tandem.web.auth import (
    HOME_PATH,
    LOGIN_NONCE_COOKIE,
    LOGIN_PATH,
    TWO_FACTOR_PATH,
    ConsoleRoute,
    ConsoleUser,
    is_htmx,
    login_form_is_genuine,
    login_form_token,
    new_login_nonce,
    safe_next,
)
from tandem.web.page import Page, UserPage
from tandem.web.presenters import (
    TAB_LABELS,
    TAB_STATUSES,
    QueueRow,
    Tab,
    queue_headline,
    queue_row,
    sla_badge,
    sort_rows,
)
from tandem.web.templating import render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
router.include_router(conversation_views.router)
router.include_router(admin_views.router)
router.include_router(knowledge_views.router)
router.include_router(ai_views.router)
router.include_router(learning_views.router)
router.include_router(gap_views.router)
router.include_router(account_views.router)

QUEUE_LIMIT = 200
# A burst of changes (a message, its triage, an escalation) becomes one refresh of the queue.
COALESCE_SECONDS = 0.3


# --- login ------------------------------------------------------------------------------------


def _login_page(
    request: Request,
    settings: Settings,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
    need_code: bool = False,
) -> Response:
    nonce = new_login_nonce()
    response = render(
        request,
        "login.html",
        {
            "form_token": login_form_token(settings.secret_key, nonce),
            "next_path": next_path,
            "email": email,
            "error": error,
            "need_code": need_code,  # two-factor: ask for the authenticator code too
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_NONCE_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path=LOGIN_PATH,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(LOGIN_PATH)
def login_page(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """Show the login form."""
    return _login_page(request, settings, next_path=safe_next(next))


@router.post(LOGIN_PATH)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    form_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME_PATH,
    totp: Annotated[str, Form(max_length=12)] = "",
    presence: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Check credentials, start a session cookie and go to the console."""
    next_path = safe_next(next)
    if not login_form_is_genuine(request, settings.secret_key, form_token):
        return _login_page(
            request,
            settings,
            next_path=next_path,
            email=email,
            error="This login form expired or did not come from this site. Please try again.",
            status_code=403,
        )
    try:
        user = authenticate_limited(
            request, session, email=email, password=password, totp_code=totp or None
        )
    except RateLimitedError as exc:
        wait = exc.retry_after
        response = _login_page(
            request,
            settings,
            next_path=next_path,
            email=email,
            error=f"Too many failed attempts. Try again in {max(-(-wait // 60), 1)} minute(s).",
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    except TotpRequiredError:
        return _login_page(
            request,
            settings,
            next_path=next_path,
            email=email,
            error="Enter your password and the 6-digit code from your authenticator app.",
            status_code=401,
            need_code=True,
        )
    except AuthenticationError:
        return _login_page(
            request,
            settings,
            next_path=next_path,
            email=email,
            error="Wrong email, password or code." if totp else "Wrong email or password.",
            status_code=401,
            need_code=bool(totp),
        )
    issued = users.start_session(
        session,
        user=user,
        lifetime=timedelta(days=settings.session_days),
        presence=presence or None,
    )
    if totp_setup_needed(session, user):
        next_path = TWO_FACTOR_PATH  # the workspace requires two-factor login for admins
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, issued.token, settings)
    response.delete_cookie(LOGIN_NONCE_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/logout")
def logout(page: UserPage) -> Response:
    """End the browser session and go back to the login page."""
    if page.via_cookie:
        users.end_session(page.session, page.user, page.session_token)
    if is_htmx(page.request):
        response: Response = Response(status_code=204, headers={"HX-Redirect": LOGIN_PATH})
    else:
        response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def root() -> Response:
    """Send visitors to the console (which sends them to login when needed)."""
    return RedirectResponse(HOME_PATH, status_code=303)


# --- the queue --------------------------------------------------------------------------------


def _parse_tab(tab: str | None) -> Tab:
    try:
        return Tab(tab or Tab.WAITING.value)
    except ValueError as exc:
        raise ValidationError(f"unknown tab {tab!r}; use waiting, mine or all") from exc


def queue_rows(session: Session, principal: Principal, tab: Tab) -> list[QueueRow]:
    """Return the rows of one tab of the queue, most urgent first."""
    found: Sequence[Conversation] = conversations.list_conversations(
        session,
        statuses=list(TAB_STATUSES[tab]) or None,
        assignee_id=principal.user.id if tab is Tab.MINE else None,
        limit=QUEUE_LIMIT,
    )
    now = utcnow()
    packets = handoff.latest_packet_data(session, [c.id for c in found])
    # Messages are read only for rows the packet or a subject does not already describe.
    texts = conversations.customer_texts(
        session, [c.id for c in found if not (packets.get(c.id, {}).get("need") or c.subject)]
    )
    queue_names = {q.id: q.name for q in routing_admin.list_queues(session, principal.workspace_id)}
    policies = {p.id: p for p in routing_admin.list_sla_policies(session, principal.workspace_id)}
    user_names = {u.id: u.name for u in users.list_users(session)}
    rows = [
        queue_row(
            c,
            now=now,
            headline=queue_headline(c, packets.get(c.id), texts.get(c.id, [])),
            sla=sla_badge(c, now, policies),
            queue_names=queue_names,
            user_names=user_names,
        )
        for c in found
    ]
    return sort_rows(rows)


def _queue_context(page: Page, tab: str | None) -> dict[str, Any]:
    shown = _parse_tab(tab)
    return {
        "tab": shown.value,
        "tabs": [(t.value, TAB_LABELS[t]) for t in Tab],
        "rows": queue_rows(page.session, page, shown),
        "overview": routing.queue_overview(page.session, page.user),
        "now": utcnow(),
    }


@router.get(HOME_PATH)
def console(page: UserPage, tab: str | None = None) -> Response:
    """Show the queue: waiting, mine, or all conversations, refreshed live."""
    context = page.layout(nav="queue", **_queue_context(page, tab))
    return page.render("console.html", context)


@router.get(f"{HOME_PATH}/queue")
def queue_partial(page: UserPage, tab: str | None = None) -> Response:
    """Return the queue table alone (htmx refreshes it on every workspace event)."""
    return page.render("_queue.html", _queue_context(page, tab))


@router.post(f"{HOME_PATH}/presence")
def change_presence(page: UserPage, presence: Annotated[str, Form()] = "") -> Response:
    """Set whether the agent is online, away or offline (routing assigns only to online)."""
    routing.set_presence(page.session, page.user, presence)
    return page.render("_presence.html", {"user": page.user})


# --- the workspace's live events --------------------------------------------------------------


async def _workspace_events(request: Request, workspace_id: str) -> AsyncIterator[str]:
    async with get_broker().subscribe(workspace_channel(workspace_id)) as queue:
        yield "retry: 2000\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            await asyncio.sleep(COALESCE_SECONDS)
            while not queue.empty():
                event = queue.get_nowait()
            kind = str(event.get("type", "change")) if isinstance(event, dict) else "change"
            yield format_event("queue", {"type": kind})


@router.get(f"{HOME_PATH}/events")
def workspace_events(request: Request, principal: ConsoleUser) -> StreamingResponse:
    """Stream a poke whenever something in the caller's workspace queue changes."""
    if not principal.user.is_active:  # resolve_token checks this too; be explicit on streams
        raise PermissionDeniedError("this account is deactivated")
    return StreamingResponse(
        _workspace_events(request, principal.workspace_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
