"""Write to the audit log (the only writer of `events`) and read it back for admins.

Admin changes are recorded by the service functions that make them (`audit`), so the team API,
the console and the CLI all leave the same trace. Who made the change comes from the session:
`tandem.api.deps.get_principal` calls `set_actor` once per request; without one (the CLI,
background jobs) the actor is "system".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tandem.db.session import WORKSPACE_KEY
from tandem.events.models import Event

ACTOR_KEY = "audit_actor"
MAX_PAGE = 200
# Event types that are admin changes (the rest are conversation facts: messages, routing…).
ADMIN_EVENT_PREFIXES = (
    "user.",
    "token.",
    "two_factor.",
    "queue.",
    "sla_policy.",
    "routing.",
    "settings.",
    "compliance.",
    "answer.",
    "article.",
    "model.",
    "learning.",
)


def record(
    session: Session,
    *,
    workspace_id: str,
    type: str,
    actor_type: str,
    actor_id: str | None = None,
    conversation_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append one event to the audit log (flushed with the caller's transaction)."""
    entry = Event(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        type=type,
        actor_type=actor_type,
        actor_id=actor_id,
        data=data or {},
    )
    session.add(entry)
    return entry


@sa_event.listens_for(Session, "before_flush")
def _refuse_event_changes(session: Session, _context: Any, _instances: Any) -> None:
    # The audit log is append-only: the ORM refuses to update or delete its rows.
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Event) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit events are append-only")


def set_actor(session: Session, *, actor_type: str, actor_id: str | None) -> None:
    """Say who is acting through this session (recorded with every `audit` entry)."""
    session.info[ACTOR_KEY] = (actor_type, actor_id)


def current_actor(session: Session) -> tuple[str, str | None]:
    """Return (actor_type, actor_id) of the session's actor; ("system", None) when unset."""
    actor: tuple[str, str | None] = session.info.get(ACTOR_KEY) or ("system", None)
    return actor


def audit(
    session: Session, *, workspace_id: str, type: str, data: dict[str, Any] | None = None
) -> Event:
    """Record an admin change (roles, queues, SLA, settings, tokens…) by the session's actor."""
    actor_type, actor_id = current_actor(session)
    return record(
        session,
        workspace_id=workspace_id,
        type=type,
        actor_type=actor_type,
        actor_id=actor_id,
        data=data,
    )


def is_admin_event(type: str) -> bool:
    """Return whether an event type is an admin change."""
    return type.startswith(ADMIN_EVENT_PREFIXES)


@dataclass(frozen=True)
class EventPage:
    """A page of the audit log, newest first; `next_before` fetches the next (older) page."""

    events: list[Event]
    next_before: int | None


def list_events(
    session: Session,
    *,
    types: Sequence[str] = (),
    admin_only: bool = False,
    before: int | None = None,
    limit: int = 50,
) -> EventPage:
    """Return the audit log of the session's workspace, newest first, optionally by type.

    The session must be scoped to a workspace (tandem.db.session.scope_session): that scope is
    what keeps another workspace's events out.
    """
    if session.info.get(WORKSPACE_KEY) is None:
        raise RuntimeError("the audit log is read through a workspace-scoped session")
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Event).order_by(Event.id.desc()).limit(limit + 1)
    if types:
        query = query.where(Event.type.in_(list(types)))
    if admin_only:
        query = query.where(or_(*(Event.type.startswith(p) for p in ADMIN_EVENT_PREFIXES)))
    if before is not None:
        query = query.where(Event.id < before)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(events=rows, next_before=rows[-1].id if more and rows else None)


def event_types(session: Session) -> list[str]:
    """Return the distinct event types in the session's workspace, for a filter menu."""
    return sorted(session.scalars(select(Event.type).distinct()))
