"""Write to the audit log (the only writer of `events`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from tandem.events.models import Event


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
