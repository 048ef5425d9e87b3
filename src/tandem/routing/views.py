"""The routing API: queues and members, SLA policies, presence, overview, settings, transfers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from tandem.api.deps import (
    AdminPrincipal,
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    SupervisorPrincipal,
)
from tandem.conversations import service as conversations
from tandem.conversations.schemas import ConversationSummary
from tandem.core.schemas import BodyIn, RowOut
from tandem.db.base import utcnow
from tandem.routing import hours, service
from tandem.routing.admin import MAX_MINUTES, RoutingSettings
from tandem.routing.models import Queue

router = APIRouter(prefix="/api/v1", tags=["routing"])


class QueueIn(BodyIn):
    """A new queue: a team with skills (empty lists = any intent / any language)."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    intents: list[str] = Field(default_factory=list, max_length=100)
    languages: list[str] = Field(default_factory=list, max_length=100)
    is_default: bool = False


class QueuePatch(BodyIn):
    """Changes to a queue; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    intents: list[str] | None = Field(None, max_length=100)
    languages: list[str] | None = Field(None, max_length=100)
    is_default: bool | None = None


class QueueOut(RowOut):
    """A queue and its members."""

    id: str
    name: str
    description: str
    intents: list[str]
    languages: list[str]
    is_default: bool
    member_ids: list[str]

    @classmethod
    def of(cls, queue: Queue, members: list[str]) -> QueueOut:
        """Build from a stored queue."""
        return cls.from_row(queue, member_ids=members)


class MembersIn(BodyIn):
    """Everyone who works a queue (replaces the current list)."""

    user_ids: list[str] = Field(max_length=500)


class SlaPolicyIn(BodyIn):
    """A new SLA policy for conversations at or above a priority."""

    name: str = Field(min_length=1, max_length=100)
    min_priority: int = Field(0, ge=0, le=3)
    first_response_minutes: int = Field(60, ge=1, le=MAX_MINUTES)
    resolution_minutes: int = Field(24 * 60, ge=1, le=MAX_MINUTES)
    warn_ratio: float = Field(0.8, gt=0, lt=1)
    is_active: bool = True


class SlaPolicyPatch(BodyIn):
    """Changes to an SLA policy; omitted fields stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    min_priority: int | None = Field(None, ge=0, le=3)
    first_response_minutes: int | None = Field(None, ge=1, le=MAX_MINUTES)
    resolution_minutes: int | None = Field(None, ge=1, le=MAX_MINUTES)
    warn_ratio: float | None = Field(None, gt=0, lt=1)
    is_active: bool | None = None


class SlaPolicyOut(RowOut):
    """An SLA policy."""

    id: str
    name: str
    min_priority: int
    first_response_minutes: int
    resolution_minutes: int
    warn_ratio: float
    is_active: bool


class PresenceIn(BodyIn):
    """Whether the caller is taking conversations."""

    presence: Literal["online", "away", "offline"]


class PresenceOut(BaseModel):
    """The caller's presence."""

    presence: str
    capacity: int
    last_seen_at: datetime | None


class QueueLoadOut(BaseModel):
    """One queue's numbers."""

    queue_id: str
    name: str
    is_default: bool
    waiting: int
    assigned: int
    online_agents: int
    expected_wait_minutes: int | None
    is_member: bool


class OverviewOut(BaseModel):
    """The console's counts."""

    waiting: int
    waiting_in_my_queues: int
    mine: int
    all_open: int
    sla_warning: int
    sla_breached: int
    presence: str
    capacity: int
    queues: list[QueueLoadOut]


class TransferIn(BodyIn):
    """Where to move a conversation, and an optional private note for the team."""

    queue_id: str = Field(min_length=1, max_length=32)
    note: str | None = Field(None, max_length=2000)


class TransferredOut(ConversationSummary):
    """The moved conversation, with its new queue and whoever was assigned on arrival."""

    queue_id: str | None
    queue_name: str | None
    auto_assigned: bool


class RoutingSettingsIn(BodyIn):
    """Routing options; omitted fields stay as they are. `business_hours: null` = always open."""

    auto_assign: bool | None = None
    business_hours: dict[str, Any] | None = None


class RoutingSettingsOut(BaseModel):
    """The workspace's routing options and whether the desk is open right now."""

    auto_assign: bool
    business_hours: dict[str, Any] | None
    open_now: bool
    next_open_at: datetime | None


# --- queues -------------------------------------------------------------------------------------


def _queues_out(session: SessionDep, workspace_id: str) -> list[QueueOut]:
    members = service.queue_members(session, workspace_id)
    return [
        QueueOut.of(q, members.get(q.id, [])) for q in service.list_queues(session, workspace_id)
    ]


@router.get("/queues", response_model=list[QueueOut])
def list_queues(principal: CurrentPrincipal, session: SessionDep) -> list[QueueOut]:
    """List the workspace's queues with their members."""
    return _queues_out(session, principal.workspace_id)


@router.get("/queues/overview", response_model=OverviewOut)
def overview(principal: CurrentPrincipal, session: SessionDep) -> OverviewOut:
    """Return the counts the console shows: waiting, mine, all open, SLA trouble, per queue."""
    data = service.queue_overview(session, principal.user)
    return OverviewOut(
        **{k: v for k, v in vars(data).items() if k != "queues"},
        queues=[QueueLoadOut(**vars(q)) for q in data.queues],
    )


@router.post("/queues", status_code=201, response_model=QueueOut)
def create_queue(body: QueueIn, principal: AdminPrincipal, session: SessionDep) -> QueueOut:
    """Create a queue (admins only)."""
    queue = service.create_queue(session, workspace_id=principal.workspace_id, **body.model_dump())
    return QueueOut.of(queue, [])


@router.patch("/queues/{queue_id}", response_model=QueueOut)
def update_queue(
    queue_id: str, body: QueuePatch, principal: AdminPrincipal, session: SessionDep
) -> QueueOut:
    """Change a queue (admins only)."""
    queue = service.update_queue(
        session,
        workspace_id=principal.workspace_id,
        queue_id=queue_id,
        **body.model_dump(exclude_none=True),
    )
    members = service.queue_members(session, principal.workspace_id)
    return QueueOut.of(queue, members.get(queue.id, []))


@router.delete("/queues/{queue_id}", status_code=204)
def delete_queue(queue_id: str, principal: AdminPrincipal, session: SessionDep) -> Response:
    """Delete a queue that is not the default (admins only)."""
    service.delete_queue(session, workspace_id=principal.workspace_id, queue_id=queue_id)
    return Response(status_code=204)


@router.put("/queues/{queue_id}/members", response_model=QueueOut)
def set_members(
    queue_id: str, body: MembersIn, principal: SupervisorPrincipal, session: SessionDep
) -> QueueOut:
    """Replace who works a queue (supervisors and admins)."""
    members = service.set_queue_members(
        session, workspace_id=principal.workspace_id, queue_id=queue_id, user_ids=body.user_ids
    )
    queue = service.get_queue(session, principal.workspace_id, queue_id)
    return QueueOut.of(queue, members)


# --- SLA policies -------------------------------------------------------------------------------


@router.get("/sla-policies", response_model=list[SlaPolicyOut])
def list_policies(principal: CurrentPrincipal, session: SessionDep) -> list[SlaPolicyOut]:
    """List the workspace's SLA policies."""
    policies = service.list_sla_policies(session, principal.workspace_id)
    return [SlaPolicyOut.from_row(p) for p in policies]


@router.post("/sla-policies", status_code=201, response_model=SlaPolicyOut)
def create_policy(
    body: SlaPolicyIn, principal: AdminPrincipal, session: SessionDep
) -> SlaPolicyOut:
    """Create an SLA policy (admins only)."""
    policy = service.create_sla_policy(
        session, workspace_id=principal.workspace_id, **body.model_dump()
    )
    return SlaPolicyOut.from_row(policy)


@router.patch("/sla-policies/{policy_id}", response_model=SlaPolicyOut)
def update_policy(
    policy_id: str, body: SlaPolicyPatch, principal: AdminPrincipal, session: SessionDep
) -> SlaPolicyOut:
    """Change an SLA policy (admins only); conversations already routed keep their due times."""
    policy = service.update_sla_policy(
        session,
        workspace_id=principal.workspace_id,
        policy_id=policy_id,
        changes=body.model_dump(exclude_none=True),
    )
    return SlaPolicyOut.from_row(policy)


@router.delete("/sla-policies/{policy_id}", status_code=204)
def delete_policy(policy_id: str, principal: AdminPrincipal, session: SessionDep) -> Response:
    """Delete an SLA policy (admins only)."""
    service.delete_sla_policy(session, workspace_id=principal.workspace_id, policy_id=policy_id)
    return Response(status_code=204)


# --- presence and settings ----------------------------------------------------------------------


@router.put("/me/presence", response_model=PresenceOut)
def set_presence(body: PresenceIn, principal: CurrentPrincipal, session: SessionDep) -> PresenceOut:
    """Say whether you are online (auto-assigned conversations), away or offline."""
    user = service.set_presence(session, principal.user, body.presence)
    return PresenceOut(
        presence=user.presence, capacity=user.capacity, last_seen_at=user.last_seen_at
    )


def _settings_out(settings: RoutingSettings) -> RoutingSettingsOut:
    schedule = settings.business_hours
    now = utcnow()
    open_now = hours.is_open(schedule, now)
    return RoutingSettingsOut(
        auto_assign=settings.auto_assign,
        business_hours=schedule.as_dict() if schedule else None,
        open_now=open_now,
        next_open_at=None if open_now else hours.next_open(schedule, now),
    )


@router.get("/routing/settings", response_model=RoutingSettingsOut)
def read_settings(principal: CurrentPrincipal, session: SessionDep) -> RoutingSettingsOut:
    """Return auto-assignment, business hours and whether the desk is open now."""
    return _settings_out(service.get_routing_settings(session, principal.workspace_id))


@router.put("/routing/settings", response_model=RoutingSettingsOut)
def write_settings(
    body: RoutingSettingsIn, principal: AdminPrincipal, session: SessionDep
) -> RoutingSettingsOut:
    """Change auto-assignment and/or business hours (admins only)."""
    changes: dict[str, Any] = {}
    if body.auto_assign is not None:
        changes["auto_assign"] = body.auto_assign
    if "business_hours" in body.model_fields_set:
        changes["business_hours"] = body.business_hours
    updated = service.update_routing_settings(
        session, workspace_id=principal.workspace_id, **changes
    )
    return _settings_out(updated)


# --- transfers ----------------------------------------------------------------------------------


@router.post("/conversations/{conversation_id}/transfer", response_model=TransferredOut)
def transfer(
    conversation_id: str,
    body: TransferIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> TransferredOut:
    """Move an open conversation to another queue (any team member)."""
    conversation = conversations.get_conversation(session, conversation_id, lock=True)
    outcome = service.transfer(
        session,
        conversation,
        queue_id=body.queue_id,
        actor_id=principal.user.id,
        note=body.note,
        max_note_chars=settings.max_message_chars,
    )
    return TransferredOut(
        **ConversationSummary.of(conversation).model_dump(),
        queue_id=outcome.queue_id,
        queue_name=outcome.queue_name,
        auto_assigned=outcome.assignee_id is not None,
    )
