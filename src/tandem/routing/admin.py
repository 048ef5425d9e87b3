"""Set up routing: queues, their members, SLA policies and the workspace's routing settings."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tandem.core.errors import ConflictError, NotFoundError, ValidationError
from tandem.db.session import one_or_not_found, scope_session
from tandem.events.service import audit
from tandem.routing.hours import Schedule, parse_schedule
from tandem.routing.models import Queue, QueueMember, SlaPolicy
from tandem.users.models import User
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_NAME = "General"
MAX_SKILLS = 100
MAX_MINUTES = 365 * 24 * 60
_SKILL = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")
_UNSET: Any = object()


# --- queues -----------------------------------------------------------------------------------


def _name(name: str, what: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 100:
        raise ValidationError(f"{what} name must be 1-100 characters")
    return name


def _skills(values: Iterable[str], what: str) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        item = value.strip().lower() if isinstance(value, str) else ""
        if not _SKILL.match(item):
            raise ValidationError(f"{what}: {value!r} is not a valid code (letters, digits, _-.)")
        if item not in cleaned:
            cleaned.append(item)
    if len(cleaned) > MAX_SKILLS:
        raise ValidationError(f"{what}: at most {MAX_SKILLS} entries")
    return cleaned


def list_queues(session: Session, workspace_id: str) -> list[Queue]:
    """Return a workspace's queues, default first, then by name."""
    scope_session(session, workspace_id)
    query = select(Queue).order_by(Queue.is_default.desc(), Queue.name, Queue.id)
    return list(session.scalars(query))


def get_queue(session: Session, workspace_id: str, queue_id: str) -> Queue:
    """Return one of the workspace's queues, or raise NotFoundError."""
    scope_session(session, workspace_id)
    return one_or_not_found(session, select(Queue).where(Queue.id == queue_id), "queue")


def _ensure_unique_queue_name(
    session: Session, workspace_id: str, name: str, except_id: str | None = None
) -> None:
    scope_session(session, workspace_id)
    query = select(Queue.id).where(Queue.name == name)
    existing = session.scalar(query)
    if existing is not None and existing != except_id:
        raise ConflictError(f"a queue named {name!r} already exists")


def _make_sole_default(session: Session, queue: Queue) -> None:
    for other in list_queues(session, queue.workspace_id):
        if other.id != queue.id and other.is_default:
            other.is_default = False
    queue.is_default = True


def create_queue(
    session: Session,
    *,
    workspace_id: str,
    name: str,
    description: str = "",
    intents: Sequence[str] = (),
    languages: Sequence[str] = (),
    is_default: bool = False,
) -> Queue:
    """Create a queue; making it the default takes that role from any other queue."""
    name = _name(name, "queue")
    _ensure_unique_queue_name(session, workspace_id, name)
    queue = Queue(
        workspace_id=workspace_id,
        name=name,
        description=description.strip()[:500],
        intents=_skills(intents, "intents"),
        languages=_skills(languages, "languages"),
        is_default=False,
    )
    session.add(queue)
    session.flush()
    if is_default or not any(q.is_default for q in list_queues(session, workspace_id)):
        _make_sole_default(session, queue)  # a workspace always has a default queue
    session.flush()
    audit(session, workspace_id=workspace_id, type="queue.created", data=_queue_data(queue))
    return queue


def update_queue(
    session: Session,
    *,
    workspace_id: str,
    queue_id: str,
    name: str = _UNSET,
    description: str = _UNSET,
    intents: Sequence[str] = _UNSET,
    languages: Sequence[str] = _UNSET,
    is_default: bool = _UNSET,
) -> Queue:
    """Change the given fields of a queue (the default can be moved, not removed)."""
    queue = get_queue(session, workspace_id, queue_id)
    if name is not _UNSET:
        new_name = _name(name, "queue")
        # Check before assigning: autoflush would send the duplicate to the unique index first.
        _ensure_unique_queue_name(session, workspace_id, new_name, except_id=queue.id)
        queue.name = new_name
    if description is not _UNSET:
        queue.description = description.strip()[:500]
    if intents is not _UNSET:
        queue.intents = _skills(intents, "intents")
    if languages is not _UNSET:
        queue.languages = _skills(languages, "languages")
    if is_default is True:
        _make_sole_default(session, queue)
    elif is_default is False and queue.is_default:
        raise ConflictError("make another queue the default instead of unsetting this one")
    session.flush()
    audit(session, workspace_id=workspace_id, type="queue.updated", data=_queue_data(queue))
    return queue


def delete_queue(session: Session, *, workspace_id: str, queue_id: str) -> None:
    """Delete a queue (its conversations keep their place but lose the queue); not the default."""
    queue = get_queue(session, workspace_id, queue_id)
    if queue.is_default:
        raise ConflictError("the default queue cannot be deleted; make another queue the default")
    session.delete(queue)
    session.flush()
    audit(session, workspace_id=workspace_id, type="queue.deleted", data=_queue_data(queue))


def queue_members(session: Session, workspace_id: str) -> dict[str, list[str]]:
    """Return each queue's member user ids."""
    scope_session(session, workspace_id)
    rows = session.execute(
        select(QueueMember.queue_id, QueueMember.user_id).order_by(
            QueueMember.queue_id, QueueMember.user_id
        )
    )
    members: dict[str, list[str]] = {}
    for queue_id, user_id in rows:
        members.setdefault(queue_id, []).append(user_id)
    return members


def set_queue_members(
    session: Session, *, workspace_id: str, queue_id: str, user_ids: Sequence[str]
) -> list[str]:
    """Replace a queue's members with users of the same workspace; return the new list."""
    queue = get_queue(session, workspace_id, queue_id)
    wanted = list(dict.fromkeys(user_ids))
    found = set(session.scalars(select(User.id).where(User.id.in_(wanted))))
    missing = [u for u in wanted if u not in found]
    if missing:
        raise ValidationError(f"unknown users: {', '.join(missing)}")
    session.execute(delete(QueueMember).where(QueueMember.queue_id == queue.id))
    for user_id in wanted:
        session.add(QueueMember(workspace_id=workspace_id, queue_id=queue.id, user_id=user_id))
    session.flush()
    audit(
        session,
        workspace_id=workspace_id,
        type="queue.members_set",
        data={**_queue_data(queue), "user_ids": wanted},
    )
    return sorted(wanted)


# --- SLA policies -----------------------------------------------------------------------------


def list_sla_policies(session: Session, workspace_id: str) -> list[SlaPolicy]:
    """Return a workspace's SLA policies by min_priority, then name."""
    scope_session(session, workspace_id)
    query = select(SlaPolicy).order_by(SlaPolicy.min_priority, SlaPolicy.name)
    return list(session.scalars(query))


def get_sla_policy(session: Session, workspace_id: str, policy_id: str) -> SlaPolicy:
    """Return one of the workspace's SLA policies, or raise NotFoundError."""
    scope_session(session, workspace_id)
    query = select(SlaPolicy).where(SlaPolicy.id == policy_id)
    return one_or_not_found(session, query, "SLA policy")


def _check_policy(policy: SlaPolicy) -> None:
    if not 0 <= policy.min_priority <= 3:
        raise ValidationError("min_priority must be 0 (low) to 3 (urgent)")
    for field in ("first_response_minutes", "resolution_minutes"):
        value = getattr(policy, field)
        if not 1 <= value <= MAX_MINUTES:
            raise ValidationError(f"{field} must be between 1 and {MAX_MINUTES}")
    if policy.resolution_minutes < policy.first_response_minutes:
        raise ValidationError("resolution_minutes must not be shorter than first_response_minutes")
    if not 0 < policy.warn_ratio < 1:
        raise ValidationError("warn_ratio must be between 0 and 1 (exclusive)")


def _ensure_unique_policy_name(
    session: Session, workspace_id: str, name: str, except_id: str | None = None
) -> None:
    scope_session(session, workspace_id)
    existing = session.scalar(select(SlaPolicy.id).where(SlaPolicy.name == name))
    if existing is not None and existing != except_id:
        raise ConflictError(f"an SLA policy named {name!r} already exists")


def create_sla_policy(
    session: Session,
    *,
    workspace_id: str,
    name: str,
    min_priority: int = 0,
    first_response_minutes: int = 60,
    resolution_minutes: int = 24 * 60,
    warn_ratio: float = 0.8,
    is_active: bool = True,
) -> SlaPolicy:
    """Create an SLA policy for conversations at or above a priority."""
    name = _name(name, "SLA policy")
    _ensure_unique_policy_name(session, workspace_id, name)
    policy = SlaPolicy(
        workspace_id=workspace_id,
        name=name,
        min_priority=min_priority,
        first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes,
        warn_ratio=warn_ratio,
        is_active=is_active,
    )
    _check_policy(policy)
    session.add(policy)
    session.flush()
    audit(session, workspace_id=workspace_id, type="sla_policy.created", data=_policy_data(policy))
    return policy


def update_sla_policy(
    session: Session, *, workspace_id: str, policy_id: str, changes: Mapping[str, Any]
) -> SlaPolicy:
    """Change an SLA policy's fields (only future routings use the new targets)."""
    policy = get_sla_policy(session, workspace_id, policy_id)
    allowed = {
        "name",
        "min_priority",
        "first_response_minutes",
        "resolution_minutes",
        "warn_ratio",
        "is_active",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"unknown SLA policy fields: {sorted(unknown)}")
    if "name" in changes:
        changes = {**changes, "name": _name(changes["name"], "SLA policy")}
        _ensure_unique_policy_name(session, workspace_id, changes["name"], except_id=policy.id)
    for field, value in changes.items():
        setattr(policy, field, value)
    _check_policy(policy)
    session.flush()
    audit(session, workspace_id=workspace_id, type="sla_policy.updated", data=_policy_data(policy))
    return policy


def delete_sla_policy(session: Session, *, workspace_id: str, policy_id: str) -> None:
    """Delete an SLA policy (conversations keep their due times)."""
    session.delete(policy := get_sla_policy(session, workspace_id, policy_id))
    session.flush()
    audit(session, workspace_id=workspace_id, type="sla_policy.deleted", data=_policy_data(policy))


# --- workspace routing settings ---------------------------------------------------------------


@dataclass(frozen=True)
class RoutingSettings:
    """A workspace's routing options (stored under settings["routing"])."""

    auto_assign: bool = True
    business_hours: Schedule | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the stored (JSON) form."""
        hours = self.business_hours.as_dict() if self.business_hours else None
        return {"auto_assign": self.auto_assign, "business_hours": hours}


def parse_routing_settings(value: object) -> RoutingSettings:
    """Validate the stored or requested form of routing settings; raise ValidationError if bad."""
    if not isinstance(value, Mapping) or set(value) - {"auto_assign", "business_hours"}:
        raise ValidationError('routing settings must be an object like {"auto_assign": true}')
    auto_assign = value.get("auto_assign", True)
    if not isinstance(auto_assign, bool):
        raise ValidationError("auto_assign must be true or false")
    return RoutingSettings(
        auto_assign=auto_assign, business_hours=parse_schedule(value.get("business_hours"))
    )


def get_routing_settings(session: Session, workspace_id: str) -> RoutingSettings:
    """Return the workspace's routing settings."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError("workspace not found")
    return workspace_settings(workspace).routing_settings


def update_routing_settings(
    session: Session,
    *,
    workspace_id: str,
    auto_assign: bool = _UNSET,
    business_hours: Mapping[str, Any] | None = _UNSET,
) -> RoutingSettings:
    """Change auto-assignment and/or business hours (None = always open); validates the hours."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError("workspace not found")
    current = workspace_settings(workspace).routing_settings
    updated = RoutingSettings(
        auto_assign=current.auto_assign if auto_assign is _UNSET else bool(auto_assign),
        business_hours=(
            current.business_hours if business_hours is _UNSET else parse_schedule(business_hours)
        ),
    )
    from tandem.workspaces.service import update_settings  # workspaces depend on routing

    update_settings(
        session,
        workspace,
        {"routing": updated.as_dict()},
        audit_type="routing.settings_changed",
        audit_data=updated.as_dict(),
    )
    return updated


# --- defaults ---------------------------------------------------------------------------------


def ensure_default_setup(session: Session, workspace_id: str) -> None:
    """Give a workspace a default queue and SLA policies if it has none (idempotent)."""
    if not list_queues(session, workspace_id):
        create_queue(
            session,
            workspace_id=workspace_id,
            name=DEFAULT_QUEUE_NAME,
            description="Everything no other queue's skills match.",
            is_default=True,
        )
    if not list_sla_policies(session, workspace_id):
        create_sla_policy(
            session,
            workspace_id=workspace_id,
            name="Standard",
            min_priority=0,
            first_response_minutes=15,
            resolution_minutes=8 * 60,
        )
        create_sla_policy(
            session,
            workspace_id=workspace_id,
            name="Urgent",
            min_priority=3,
            first_response_minutes=5,
            resolution_minutes=2 * 60,
        )


# --- audit ------------------------------------------------------------------------------------


def _queue_data(queue: Queue) -> dict[str, Any]:
    return {"queue_id": queue.id, "name": queue.name, "is_default": queue.is_default}


def _policy_data(policy: SlaPolicy) -> dict[str, Any]:
    fields = ("name", "min_priority", "first_response_minutes", "resolution_minutes", "warn_ratio")
    return {"policy_id": policy.id, "is_active": policy.is_active} | {
        f: getattr(policy, f) for f in fields
    }
