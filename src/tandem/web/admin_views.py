"""Admin pages: queues and members, agents, SLA policies, what the AI may do, API tokens and
the two-factor rule, and the audit log.

Admins manage everything here; supervisors may see the queues and change their members.
Every form re-renders its section with a readable message when a value is not acceptable.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from tandem.core.errors import ValidationError
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
from tandem.web.auth import ConsoleRoute
from tandem.web.page import AdminPage, Page, Section, SupervisorPage
from tandem.workspaces.service import update_settings
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


@router.get("")
def admin_home(page: SupervisorPage) -> Response:
    """Open the first admin page the user may see."""
    target = "agents" if page.may(Role.ADMIN) else "queues"
    return RedirectResponse(f"/console/admin/{target}", status_code=303)


# --- queues -----------------------------------------------------------------------------------


def _queues_context(page: Page) -> dict[str, Any]:
    team = sorted(list_users(page.session), key=lambda u: u.name)
    return {
        "queues": routing_admin.list_queues(page.session, page.workspace_id),
        "members": routing_admin.queue_members(page.session, page.workspace_id),
        "team": team,
        "can_edit_queues": page.may(Role.ADMIN),
    }


QUEUES = Section("queues", "admin/queues.html", "admin/_queues.html", _queues_context)

# The page: list queues with their skills and members.
QUEUES.add_page_route(router, "/queues", Role.SUPERVISOR)


class QueueForm(BaseModel):
    """The queue form: name, description, the skills it takes (intents, languages), default."""

    name: str = Field("", max_length=200)
    description: str = Field("", max_length=1000)
    intents: str = Field("", max_length=5000)
    languages: str = Field("", max_length=1000)
    is_default: str | None = None

    def fields(self) -> dict[str, Any]:
        """Return the queue's fields for routing (the default switch apart)."""
        codes = {"intents": parse_codes(self.intents), "languages": parse_codes(self.languages)}
        return {**self.model_dump(exclude={"is_default"}), **codes}


@router.post("/queues")
def create_queue(page: AdminPage, form: Annotated[QueueForm, Form()]) -> Response:
    """Create a queue."""

    def change() -> str:
        queue = routing_admin.create_queue(
            page.session,
            workspace_id=page.workspace_id,
            is_default=form.is_default is not None,
            **form.fields(),
        )
        return f"Queue “{queue.name}” created."

    return QUEUES.result(page, change, form.model_dump(exclude={"is_default"}))


@router.post("/queues/{queue_id}")
def update_queue(queue_id: str, page: AdminPage, form: Annotated[QueueForm, Form()]) -> Response:
    """Change a queue's name, description, skills, or make it the default."""

    def change() -> str:
        changes = form.fields()
        if form.is_default is not None:  # the default moves to another queue; it is not removed
            changes["is_default"] = True
        queue = routing_admin.update_queue(
            page.session, workspace_id=page.workspace_id, queue_id=queue_id, **changes
        )
        return f"Queue “{queue.name}” saved."

    return QUEUES.result(page, change)


@router.post("/queues/{queue_id}/delete")
def delete_queue(queue_id: str, page: AdminPage) -> Response:
    """Delete a queue (not the default one)."""

    def change() -> str:
        routing_admin.delete_queue(page.session, workspace_id=page.workspace_id, queue_id=queue_id)
        return "Queue deleted."

    return QUEUES.result(page, change)


@router.post("/queues/{queue_id}/members")
def set_members(
    queue_id: str, page: SupervisorPage, user_ids: Annotated[list[str] | None, Form()] = None
) -> Response:
    """Replace who works a queue (supervisors and admins)."""

    def change() -> str:
        chosen = routing_admin.set_queue_members(
            page.session, workspace_id=page.workspace_id, queue_id=queue_id, user_ids=user_ids or []
        )
        return f"Members saved ({len(chosen)})."

    return QUEUES.result(page, change)


# --- agents -----------------------------------------------------------------------------------


def _agents_context(page: Page) -> dict[str, Any]:
    return {
        "team": users.list_users(page.session),
        "roles": [r.value for r in Role],
        "max_capacity": users.MAX_CAPACITY,
        "me": page.user,
    }


AGENTS = Section("agents", "admin/agents.html", "admin/_agents.html", _agents_context)

# The page: list the team with roles, capacity and status.
AGENTS.add_page_route(router, "/agents", Role.ADMIN)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise ValidationError("role must be agent, supervisor or admin") from exc


class MemberForm(BaseModel):
    """A member's role and capacity, as typed (`_role` and `parse_int` check them)."""

    role: str = "agent"
    capacity: str = "5"
    active: str | None = None


class NewMemberForm(MemberForm):
    """A new member: who they are and their first password, then their role and capacity."""

    email: str = Field("", max_length=254)
    name: str = Field("", max_length=100)
    password: str = Field("", max_length=1000)


@router.post("/agents")
def create_agent(page: AdminPage, form: Annotated[NewMemberForm, Form()]) -> Response:
    """Add a team member."""

    def change() -> str:
        seats = parse_int(form.capacity, "Capacity", 0, users.MAX_CAPACITY)
        user = users.create_user(
            page.session,
            workspace_id=page.workspace_id,
            email=form.email,
            name=form.name,
            password=form.password,
            role=_role(form.role),
        )
        users.update_user(page.session, user, capacity=seats)
        return f"{user.name} can now log in as {user.email}."

    return AGENTS.result(
        page, change, form.model_dump(include={"email", "name", "role", "capacity"})
    )


@router.post("/agents/{user_id}")
def update_agent(user_id: str, page: AdminPage, form: Annotated[MemberForm, Form()]) -> Response:
    """Change a member's role, capacity, or deactivate them."""

    def change() -> str:
        member = users.get_user(page.session, user_id)
        users.update_user(
            page.session,
            member,
            role=_role(form.role),
            capacity=parse_int(form.capacity, "Capacity", 0, users.MAX_CAPACITY),
            is_active=form.active is not None,
        )
        return f"{member.name} saved."

    return AGENTS.result(page, change)


@router.post("/agents/{user_id}/two-factor/reset")
def reset_agent_two_factor(user_id: str, page: AdminPage) -> Response:
    """Switch a member's two-factor login off (a lost phone); they set it up again."""

    def change() -> str:
        member = users.get_user(page.session, user_id)
        totp.reset(page.session, member)
        return f"Two-factor login for {member.name} is off; they can set it up again."

    return AGENTS.result(page, change)


# --- SLA policies -----------------------------------------------------------------------------


def _sla_context(page: Page) -> dict[str, Any]:
    return {"policies": routing_admin.list_sla_policies(page.session, page.workspace_id)}


SLA = Section("sla", "admin/sla.html", "admin/_sla.html", _sla_context)

# The page: list SLA policies (first response and resolution targets by priority).
SLA.add_page_route(router, "/sla", Role.ADMIN)


class PolicyForm(BaseModel):
    """The SLA policy form, as typed; `fields` checks and converts it."""

    name: str = Field("", max_length=200)
    min_priority: str = "0"
    first_response_minutes: str = "60"
    resolution_minutes: str = "1440"
    warn_percent: str = "80"
    active: str | None = None

    def fields(self) -> dict[str, Any]:
        """Return the policy's fields for routing, or raise ValidationError naming the field."""
        return {
            "name": self.name,
            "min_priority": parse_int(self.min_priority, "Minimum priority", 0, 3),
            "first_response_minutes": parse_int(
                self.first_response_minutes,
                "First response (minutes)",
                1,
                routing_admin.MAX_MINUTES,
            ),
            "resolution_minutes": parse_int(
                self.resolution_minutes, "Resolution (minutes)", 1, routing_admin.MAX_MINUTES
            ),
            "warn_ratio": parse_percent(self.warn_percent, "Warn at", 1, 99),
            "is_active": self.active is not None,
        }


@router.post("/sla")
def create_policy(page: AdminPage, form: Annotated[PolicyForm, Form()]) -> Response:
    """Create an SLA policy."""

    def change() -> str:
        policy = routing_admin.create_sla_policy(
            page.session, workspace_id=page.workspace_id, **form.fields()
        )
        return f"SLA policy “{policy.name}” created."

    return SLA.result(page, change, form.model_dump(exclude={"active"}))


@router.post("/sla/{policy_id}")
def update_policy(policy_id: str, page: AdminPage, form: Annotated[PolicyForm, Form()]) -> Response:
    """Change an SLA policy."""

    def change() -> str:
        policy = routing_admin.update_sla_policy(
            page.session, workspace_id=page.workspace_id, policy_id=policy_id, changes=form.fields()
        )
        return f"SLA policy “{policy.name}” saved."

    return SLA.result(page, change)


# --- AI, business hours, auto-assign ----------------------------------------------------------


def _hours_rows(schedule: dict[str, Any] | None) -> list[dict[str, str]]:
    days = (schedule or {}).get("days") or {}
    rows = []
    for day in DAY_NAMES:
        windows = days.get(day) or []
        start, end = (windows[0] if windows else ("", ""))[:2]
        rows.append({"day": day, "label": DAY_LABELS[day], "open": start, "close": end})
    return rows


def _ai_context(page: Page) -> dict[str, Any]:
    settings = workspace_settings(page.workspace())
    routing = settings.routing_settings.as_dict()
    hours = routing.get("business_hours")
    allow_list = settings.ai_allowed_intents
    return {
        "answers": list_answers(page.session),
        "precision_target": settings.precision_target,
        "settings_allow_list": list(allow_list) if allow_list is not None else None,
        "auto_assign": routing["auto_assign"],
        "always_open": hours is None,
        "timezone": (hours or {}).get("timezone", "UTC"),
        "hours": _hours_rows(hours),
    }


AI = Section("ai", "admin/ai.html", "admin/_ai.html", _ai_context)


@router.get("/ai")
def ai_page(page: AdminPage) -> Response:
    """Show what the AI may answer, its precision target, hours, retraining, test box, persona."""
    return AI.show(page, **teach_context(page.session, page.workspace()))


@router.post("/ai/answers/{answer_id}")
def set_ai_allowed(answer_id: str, page: AdminPage, ai_allowed: Checkbox = None) -> Response:
    """Allow or forbid the AI to answer one intent with its approved answer."""

    def change() -> str:
        answer = get_answer(page.session, answer_id)
        upsert_answer(
            page.session,
            workspace_id=page.workspace_id,
            intent=answer.intent,
            title=answer.title,
            body=answer.body,
            ai_allowed=ai_allowed is not None,
            source_url=answer.source_url,
        )
        who = "The AI may answer" if ai_allowed is not None else "Only humans answer"
        return f"{who} “{answer.intent}”."

    return AI.result(page, change)


@router.post("/ai/precision")
def set_precision(page: AdminPage, precision_percent: Annotated[str, Form()] = "") -> Response:
    """Set the share of AI answers that must be correct (used when the model is trained)."""

    def change() -> str:
        target = parse_percent(precision_percent, "Precision target", 50, 99.9)
        update_settings(page.session, page.workspace(), {"precision_target": target})
        return f"Precision target set to {target:.1%}; it applies from the next training run."

    return AI.result(page, change)


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
def set_routing(page: AdminPage, form: Annotated[RoutingForm, Form()]) -> Response:
    """Set auto-assignment and business hours."""

    def change() -> str:
        routing_admin.update_routing_settings(
            page.session,
            workspace_id=page.workspace_id,
            auto_assign=form.auto_assign is not None,
            business_hours=form.schedule(),
        )
        return "Routing settings saved."

    return AI.result(page, change)


# --- API tokens and the two-factor rule -------------------------------------------------------


def _tokens_context(page: Page) -> dict[str, Any]:
    return {
        "tokens": users.list_api_tokens(page.session),
        "now": utcnow(),
        "scopes": [s.value for s in TokenScope],
        "require_admin_two_factor": totp.admin_two_factor_required(page.workspace()),
        "me_has_totp": page.user.has_totp,
        "new_token": None,
    }


TOKENS = Section("tokens", "admin/tokens.html", "admin/_tokens.html", _tokens_context)

# The page: list the workspace's API tokens (name, scope, owner, created, last used, expiry).
TOKENS.add_page_route(router, "/tokens", Role.ADMIN)


@router.post("/tokens")
def create_token(
    page: AdminPage,
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
                page.session,
                user=page.user,
                kind=TokenKind.API,
                name=name,
                scope=token_scope,
                lifetime=timedelta(days=days) if days else None,
            )
        )
        return f"Token “{name.strip()}” created. Copy it now: it is not shown again."

    def context() -> dict[str, Any]:
        shown = issued[0].token if issued else None
        return {**_tokens_context(page), "new_token": shown}

    form = {"name": name, "scope": scope, "expires_in_days": expires_in_days}
    response = page.form_result(TOKENS.part_template, context, change, form)
    response.headers["Cache-Control"] = "no-store"  # the one response holding the secret
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: str, page: AdminPage) -> Response:
    """Revoke an API token; it stops working at once."""

    def change() -> str:
        record = users.revoke_api_token(page.session, token_id, by=page.user)
        return f"Token “{record.name}” revoked."

    return TOKENS.result(page, change)


@router.post("/security")
def set_security(page: AdminPage, require_admin_two_factor: Checkbox = None) -> Response:
    """Require (or stop requiring) two-factor login for admins."""

    def change() -> str:
        required = totp.set_admin_two_factor_required(
            page.session,
            page.workspace(),
            required=require_admin_two_factor is not None,
            by=page.user,
        )
        return "Admins must use two-factor login." if required else "Two-factor login is optional."

    return TOKENS.result(page, change)


# --- the audit log ----------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50
ADMIN_CHANGES = "admin"  # the filter value for "every admin change"


@router.get("/audit")
def audit_page(
    page: AdminPage,
    type: Annotated[str, Query(max_length=50)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Show the audit log, newest first: who changed what and when, filtered by type."""
    events = audit_log.list_events(
        page.session,
        types=[type] if type and type != ADMIN_CHANGES else (),
        admin_only=type == ADMIN_CHANGES,
        before=before,
        limit=AUDIT_PAGE_SIZE,
    )
    names = {member.id: member for member in users.list_users(page.session)}
    context = {
        **page.layout(nav="admin", section="audit"),
        "events": events.events,
        "actors": names,
        "types": audit_log.event_types(page.session),
        "admin_filter": ADMIN_CHANGES,
        "selected_type": type,
        "next_before": events.next_before,
        "is_first_page": before is None,
        "is_admin_event": audit_log.is_admin_event,
    }
    return page.render("admin/audit.html", context)
