"""Admin pages: queues and members, agents, SLA policies, what the AI may do, API tokens and
the two-factor rule, and the audit log.

Admins manage everything here; supervisors may see the queues and change their members.
Every form re-renders its section with a readable message when a value is not acceptable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tandem.api.deps import Principal, SessionDep, SettingsDep
from tandem.config import Settings
from tandem.core.errors import TandemError, ValidationError
from tandem.db.base import utcnow
from tandem.events import service as audit_log
from tandem.knowledge.service import get_answer, list_answers, upsert_answer
from tandem.routing import admin as routing_admin
from tandem.routing.hours import DAY_NAMES
from tandem.users import service as users
from tandem.users import totp
from tandem.users.models import Role, TokenKind, TokenScope
from tandem.users.service import list_users
from tandem.web.ai_presenter import teach_context
from tandem.web.auth import ConsoleAdmin, ConsoleRoute, ConsoleSupervisor, page_csrf
from tandem.web.templating import render
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import get_workspace, update_settings
from tandem.workspaces.settings import workspace_settings

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute)

DAY_LABELS = dict(zip(DAY_NAMES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
_CODES = re.compile(r"[\s,;]+")

Checkbox = Annotated[str | None, Form()]


def parse_codes(text: str) -> list[str]:
    """Return the codes of a comma- or space-separated field ('billing, refunds')."""
    return [code for code in _CODES.split(text.strip()) if code]


def parse_int(value: str, label: str, low: int, high: int) -> int:
    """Return a whole number from a form field, or raise ValidationError naming the field."""
    try:
        number = int(value.strip())
    except ValueError as exc:
        raise ValidationError(f"{label} must be a whole number") from exc
    if not low <= number <= high:
        raise ValidationError(f"{label} must be between {low} and {high}")
    return number


def parse_percent(value: str, label: str, low: float, high: float) -> float:
    """Return a percentage field as a fraction (95 -> 0.95), or raise ValidationError."""
    try:
        number = float(value.strip().rstrip("%"))
    except ValueError as exc:
        raise ValidationError(f"{label} must be a number like {high:g}") from exc
    if not low <= number <= high:
        raise ValidationError(f"{label} must be between {low:g} and {high:g} %")
    return round(number / 100, 4)


def _base(principal: Principal, settings: Settings, section: str) -> dict[str, Any]:
    return {
        "user": principal.user,
        "csrf_token": page_csrf(principal, settings.secret_key),
        "is_supervisor": principal.role.includes(Role.SUPERVISOR),
        "is_admin": principal.role.includes(Role.ADMIN),
        "nav": "admin",
        "section": section,
    }


def _form_result(
    request: Request,
    session: Session,
    template: str,
    context: Callable[[], dict[str, Any]],
    change: Callable[[], str],
    form: dict[str, Any] | None = None,
) -> Response:
    """Apply a change and re-render a section; on a client mistake show why and keep the form."""
    try:
        # A refused change must leave nothing behind, even though the request still commits.
        with session.begin_nested():
            notice = change()
    except TandemError as exc:
        return render(
            request,
            template,
            {**context(), "error": exc.message, "form": form or {}},
            status_code=422 if exc.status_code in (409, 422) else exc.status_code,
        )
    return render(request, template, {**context(), "notice": notice, "form": {}})


@router.get("")
def admin_home(principal: ConsoleSupervisor) -> Response:
    """Open the first admin page the user may see."""
    target = "agents" if principal.role.includes(Role.ADMIN) else "queues"
    return RedirectResponse(f"/console/admin/{target}", status_code=303)


# --- queues -----------------------------------------------------------------------------------


def _queues_context(session: Session, principal: Principal) -> dict[str, Any]:
    workspace_id = principal.workspace_id
    team = sorted(list_users(session), key=lambda u: u.name)
    return {
        "queues": routing_admin.list_queues(session, workspace_id),
        "members": routing_admin.queue_members(session, workspace_id),
        "team": team,
        "can_edit_queues": principal.role.includes(Role.ADMIN),
    }


@router.get("/queues")
def queues_page(
    request: Request, principal: ConsoleSupervisor, session: SessionDep, settings: SettingsDep
) -> Response:
    """List queues with their skills and members."""
    context = {**_base(principal, settings, "queues"), **_queues_context(session, principal)}
    return render(request, "admin/queues.html", {**context, "form": {}})


@router.post("/queues")
def create_queue(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=1000)] = "",
    intents: Annotated[str, Form(max_length=5000)] = "",
    languages: Annotated[str, Form(max_length=1000)] = "",
    is_default: Checkbox = None,
) -> Response:
    """Create a queue."""

    def change() -> str:
        queue = routing_admin.create_queue(
            session,
            workspace_id=principal.workspace_id,
            name=name,
            description=description,
            intents=parse_codes(intents),
            languages=parse_codes(languages),
            is_default=is_default is not None,
        )
        return f"Queue “{queue.name}” created."

    form = {"name": name, "description": description, "intents": intents, "languages": languages}
    return _form_result(
        request,
        session,
        "admin/_queues.html",
        lambda: _queues_context(session, principal),
        change,
        form,
    )


@router.post("/queues/{queue_id}")
def update_queue(
    queue_id: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=1000)] = "",
    intents: Annotated[str, Form(max_length=5000)] = "",
    languages: Annotated[str, Form(max_length=1000)] = "",
    is_default: Checkbox = None,
) -> Response:
    """Change a queue's name, description, skills, or make it the default."""

    def change() -> str:
        queue = routing_admin.update_queue(
            session,
            workspace_id=principal.workspace_id,
            queue_id=queue_id,
            name=name,
            description=description,
            intents=parse_codes(intents),
            languages=parse_codes(languages),
            **({"is_default": True} if is_default is not None else {}),
        )
        return f"Queue “{queue.name}” saved."

    return _form_result(
        request, session, "admin/_queues.html", lambda: _queues_context(session, principal), change
    )


@router.post("/queues/{queue_id}/delete")
def delete_queue(
    queue_id: str, request: Request, principal: ConsoleAdmin, session: SessionDep
) -> Response:
    """Delete a queue (not the default one)."""

    def change() -> str:
        routing_admin.delete_queue(session, workspace_id=principal.workspace_id, queue_id=queue_id)
        return "Queue deleted."

    return _form_result(
        request, session, "admin/_queues.html", lambda: _queues_context(session, principal), change
    )


@router.post("/queues/{queue_id}/members")
def set_members(
    queue_id: str,
    request: Request,
    principal: ConsoleSupervisor,
    session: SessionDep,
    user_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Replace who works a queue (supervisors and admins)."""

    def change() -> str:
        chosen = routing_admin.set_queue_members(
            session,
            workspace_id=principal.workspace_id,
            queue_id=queue_id,
            user_ids=user_ids or [],
        )
        return f"Members saved ({len(chosen)})."

    return _form_result(
        request, session, "admin/_queues.html", lambda: _queues_context(session, principal), change
    )


# --- agents -----------------------------------------------------------------------------------


def _agents_context(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "team": users.list_users(session),
        "roles": [r.value for r in Role],
        "max_capacity": users.MAX_CAPACITY,
        "me": principal.user,
    }


@router.get("/agents")
def agents_page(
    request: Request, principal: ConsoleAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    """List the team with roles, capacity and status."""
    context = {**_base(principal, settings, "agents"), **_agents_context(session, principal)}
    return render(request, "admin/agents.html", {**context, "form": {}})


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise ValidationError("role must be agent, supervisor or admin") from exc


@router.post("/agents")
def create_agent(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form()] = "agent",
    capacity: Annotated[str, Form()] = "5",
) -> Response:
    """Add a team member."""

    def change() -> str:
        seats = parse_int(capacity, "Capacity", 0, users.MAX_CAPACITY)
        user = users.create_user(
            session,
            workspace_id=principal.workspace_id,
            email=email,
            name=name,
            password=password,
            role=_role(role),
        )
        users.update_user(session, user, capacity=seats)
        return f"{user.name} can now log in as {user.email}."

    form = {"email": email, "name": name, "role": role, "capacity": capacity}
    return _form_result(
        request,
        session,
        "admin/_agents.html",
        lambda: _agents_context(session, principal),
        change,
        form,
    )


@router.post("/agents/{user_id}")
def update_agent(
    user_id: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    role: Annotated[str, Form()] = "agent",
    capacity: Annotated[str, Form()] = "5",
    active: Checkbox = None,
) -> Response:
    """Change a member's role, capacity, or deactivate them."""

    def change() -> str:
        member = users.get_user(session, user_id)
        users.update_user(
            session,
            member,
            role=_role(role),
            capacity=parse_int(capacity, "Capacity", 0, users.MAX_CAPACITY),
            is_active=active is not None,
        )
        return f"{member.name} saved."

    return _form_result(
        request, session, "admin/_agents.html", lambda: _agents_context(session, principal), change
    )


@router.post("/agents/{user_id}/two-factor/reset")
def reset_agent_two_factor(
    user_id: str, request: Request, principal: ConsoleAdmin, session: SessionDep
) -> Response:
    """Switch a member's two-factor login off (a lost phone); they set it up again."""

    def change() -> str:
        member = users.get_user(session, user_id)
        totp.reset(session, member)
        return f"Two-factor login for {member.name} is off; they can set it up again."

    return _form_result(
        request, session, "admin/_agents.html", lambda: _agents_context(session, principal), change
    )


# --- SLA policies -----------------------------------------------------------------------------


def _sla_context(session: Session, principal: Principal) -> dict[str, Any]:
    return {"policies": routing_admin.list_sla_policies(session, principal.workspace_id)}


@router.get("/sla")
def sla_page(
    request: Request, principal: ConsoleAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    """List SLA policies (first response and resolution targets by priority)."""
    context = {**_base(principal, settings, "sla"), **_sla_context(session, principal)}
    return render(request, "admin/sla.html", {**context, "form": {}})


def _policy_fields(
    name: str, min_priority: str, first_response: str, resolution: str, warn: str, active: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "min_priority": parse_int(min_priority, "Minimum priority", 0, 3),
        "first_response_minutes": parse_int(
            first_response, "First response (minutes)", 1, routing_admin.MAX_MINUTES
        ),
        "resolution_minutes": parse_int(
            resolution, "Resolution (minutes)", 1, routing_admin.MAX_MINUTES
        ),
        "warn_ratio": parse_percent(warn, "Warn at", 1, 99),
        "is_active": active,
    }


@router.post("/sla")
def create_policy(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    min_priority: Annotated[str, Form()] = "0",
    first_response_minutes: Annotated[str, Form()] = "60",
    resolution_minutes: Annotated[str, Form()] = "1440",
    warn_percent: Annotated[str, Form()] = "80",
    active: Checkbox = None,
) -> Response:
    """Create an SLA policy."""

    def change() -> str:
        fields = _policy_fields(
            name,
            min_priority,
            first_response_minutes,
            resolution_minutes,
            warn_percent,
            active is not None,
        )
        policy = routing_admin.create_sla_policy(
            session, workspace_id=principal.workspace_id, **fields
        )
        return f"SLA policy “{policy.name}” created."

    form = {
        "name": name,
        "min_priority": min_priority,
        "first_response_minutes": first_response_minutes,
        "resolution_minutes": resolution_minutes,
        "warn_percent": warn_percent,
    }
    return _form_result(
        request, session, "admin/_sla.html", lambda: _sla_context(session, principal), change, form
    )


@router.post("/sla/{policy_id}")
def update_policy(
    policy_id: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    min_priority: Annotated[str, Form()] = "0",
    first_response_minutes: Annotated[str, Form()] = "60",
    resolution_minutes: Annotated[str, Form()] = "1440",
    warn_percent: Annotated[str, Form()] = "80",
    active: Checkbox = None,
) -> Response:
    """Change an SLA policy."""

    def change() -> str:
        fields = _policy_fields(
            name,
            min_priority,
            first_response_minutes,
            resolution_minutes,
            warn_percent,
            active is not None,
        )
        policy = routing_admin.update_sla_policy(
            session, workspace_id=principal.workspace_id, policy_id=policy_id, changes=fields
        )
        return f"SLA policy “{policy.name}” saved."

    return _form_result(
        request, session, "admin/_sla.html", lambda: _sla_context(session, principal), change
    )


# --- AI, business hours, auto-assign ----------------------------------------------------------


def _workspace(session: Session, principal: Principal) -> Workspace:
    return get_workspace(session, principal.workspace_id)


def _hours_rows(schedule: dict[str, Any] | None) -> list[dict[str, str]]:
    days = (schedule or {}).get("days") or {}
    rows = []
    for day in DAY_NAMES:
        windows = days.get(day) or []
        start, end = (windows[0] if windows else ("", ""))[:2]
        rows.append({"day": day, "label": DAY_LABELS[day], "open": start, "close": end})
    return rows


def _ai_context(session: Session, principal: Principal) -> dict[str, Any]:
    settings = workspace_settings(_workspace(session, principal))
    routing = settings.routing_settings.as_dict()
    hours = routing.get("business_hours")
    allow_list = settings.ai_allowed_intents
    return {
        "answers": list_answers(session),
        "precision_target": settings.precision_target,
        "settings_allow_list": list(allow_list) if allow_list is not None else None,
        "auto_assign": routing["auto_assign"],
        "always_open": hours is None,
        "timezone": (hours or {}).get("timezone", "UTC"),
        "hours": _hours_rows(hours),
    }


@router.get("/ai")
def ai_page(
    request: Request, principal: ConsoleAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    """Show what the AI may answer, its precision target, hours, retraining, test box, persona."""
    context = {**_base(principal, settings, "ai"), **_ai_context(session, principal)}
    teach = teach_context(session, _workspace(session, principal))
    return render(request, "admin/ai.html", {**context, **teach})


@router.post("/ai/answers/{answer_id}")
def set_ai_allowed(
    answer_id: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    ai_allowed: Checkbox = None,
) -> Response:
    """Allow or forbid the AI to answer one intent with its approved answer."""

    def change() -> str:
        answer = get_answer(session, answer_id)
        upsert_answer(
            session,
            workspace_id=principal.workspace_id,
            intent=answer.intent,
            title=answer.title,
            body=answer.body,
            ai_allowed=ai_allowed is not None,
            source_url=answer.source_url,
        )
        who = "The AI may answer" if ai_allowed is not None else "Only humans answer"
        return f"{who} “{answer.intent}”."

    return _form_result(
        request, session, "admin/_ai.html", lambda: _ai_context(session, principal), change
    )


@router.post("/ai/precision")
def set_precision(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    precision_percent: Annotated[str, Form()] = "",
) -> Response:
    """Set the share of AI answers that must be correct (used when the model is trained)."""

    def change() -> str:
        target = parse_percent(precision_percent, "Precision target", 50, 99.9)
        update_settings(session, _workspace(session, principal), {"precision_target": target})
        return f"Precision target set to {target:.1%}; it applies from the next training run."

    return _form_result(
        request, session, "admin/_ai.html", lambda: _ai_context(session, principal), change
    )


class RoutingForm(BaseModel):
    """The routing settings form: auto-assign, and one opening window per weekday."""

    auto_assign: str | None = None
    always_open: str | None = None
    timezone: str = Field("UTC", max_length=64)
    open_mon: str = ""
    close_mon: str = ""
    open_tue: str = ""
    close_tue: str = ""
    open_wed: str = ""
    close_wed: str = ""
    open_thu: str = ""
    close_thu: str = ""
    open_fri: str = ""
    close_fri: str = ""
    open_sat: str = ""
    close_sat: str = ""
    open_sun: str = ""
    close_sun: str = ""

    def schedule(self) -> dict[str, Any] | None:
        """Return the business hours in routing's stored form (None: always open)."""
        if self.always_open:
            return None
        days: dict[str, list[list[str]]] = {}
        for day in DAY_NAMES:
            start = str(getattr(self, f"open_{day}")).strip()
            end = str(getattr(self, f"close_{day}")).strip()
            if bool(start) != bool(end):
                raise ValidationError(f"{DAY_LABELS[day]}: give both the opening and closing time")
            if start:
                days[day] = [[start, end]]
        return {"timezone": self.timezone.strip() or "UTC", "days": days}


@router.post("/ai/routing")
def set_routing(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    form: Annotated[RoutingForm, Form()],
) -> Response:
    """Set auto-assignment and business hours."""

    def change() -> str:
        routing_admin.update_routing_settings(
            session,
            workspace_id=principal.workspace_id,
            auto_assign=form.auto_assign is not None,
            business_hours=form.schedule(),
        )
        return "Routing settings saved."

    return _form_result(
        request, session, "admin/_ai.html", lambda: _ai_context(session, principal), change
    )


# --- API tokens and the two-factor rule -------------------------------------------------------


def _tokens_context(session: Session, principal: Principal) -> dict[str, Any]:
    workspace = _workspace(session, principal)
    return {
        "tokens": users.list_api_tokens(session),
        "now": utcnow(),
        "scopes": [s.value for s in TokenScope],
        "require_admin_two_factor": totp.admin_two_factor_required(workspace),
        "me_has_totp": principal.user.has_totp,
        "new_token": None,
    }


@router.get("/tokens")
def tokens_page(
    request: Request, principal: ConsoleAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    """List the workspace's API tokens (name, scope, owner, created, last used, expiry)."""
    context = {**_base(principal, settings, "tokens"), **_tokens_context(session, principal)}
    return render(request, "admin/tokens.html", {**context, "form": {}})


@router.post("/tokens")
def create_token(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    name: Annotated[str, Form(max_length=100)] = "",
    scope: Annotated[str, Form(max_length=10)] = TokenScope.FULL.value,
    expires_in_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Create an API token acting as the admin; its secret is shown once, in the response."""
    issued: list[users.IssuedToken] = []

    def change() -> str:
        if not name.strip():
            raise ValidationError("give the token a name, e.g. the integration that uses it")
        try:
            token_scope = TokenScope(scope)
        except ValueError as exc:
            raise ValidationError("scope must be full or read") from exc
        days = parse_int(expires_in_days, "Expires in (days)", 1, 3650) if expires_in_days else 0
        issued.append(
            users.issue_token(
                session,
                user=principal.user,
                kind=TokenKind.API,
                name=name,
                scope=token_scope,
                lifetime=timedelta(days=days) if days else None,
            )
        )
        return f"Token “{name.strip()}” created. Copy it now: it is not shown again."

    def context() -> dict[str, Any]:
        shown = issued[0].token if issued else None
        return {**_tokens_context(session, principal), "new_token": shown}

    form = {"name": name, "scope": scope, "expires_in_days": expires_in_days}
    response = _form_result(request, session, "admin/_tokens.html", context, change, form)
    response.headers["Cache-Control"] = "no-store"  # the one response holding the secret
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    token_id: str, request: Request, principal: ConsoleAdmin, session: SessionDep
) -> Response:
    """Revoke an API token; it stops working at once."""

    def change() -> str:
        record = users.revoke_api_token(session, token_id, by=principal.user)
        return f"Token “{record.name}” revoked."

    return _form_result(
        request, session, "admin/_tokens.html", lambda: _tokens_context(session, principal), change
    )


@router.post("/security")
def set_security(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    require_admin_two_factor: Checkbox = None,
) -> Response:
    """Require (or stop requiring) two-factor login for admins."""

    def change() -> str:
        required = totp.set_admin_two_factor_required(
            session,
            _workspace(session, principal),
            required=require_admin_two_factor is not None,
            by=principal.user,
        )
        return "Admins must use two-factor login." if required else "Two-factor login is optional."

    return _form_result(
        request, session, "admin/_tokens.html", lambda: _tokens_context(session, principal), change
    )


# --- the audit log ----------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50
ADMIN_CHANGES = "admin"  # the filter value for "every admin change"


@router.get("/audit")
def audit_page(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    settings: SettingsDep,
    type: Annotated[str, Query(max_length=50)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Show the audit log, newest first: who changed what and when, filtered by type."""
    page = audit_log.list_events(
        session,
        types=[type] if type and type != ADMIN_CHANGES else (),
        admin_only=type == ADMIN_CHANGES,
        before=before,
        limit=AUDIT_PAGE_SIZE,
    )
    names = {member.id: member for member in users.list_users(session)}
    context = {
        **_base(principal, settings, "audit"),
        "events": page.events,
        "actors": names,
        "types": audit_log.event_types(session),
        "admin_filter": ADMIN_CHANGES,
        "selected_type": type,
        "next_before": page.next_before,
        "is_first_page": before is None,
        "is_admin_event": audit_log.is_admin_event,
    }
    return render(request, "admin/audit.html", context)
