"""The audit log on the team API: admins read who changed what, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tandem.api.deps import AdminPrincipal, SessionDep
from tandem.core.schemas import RowOut
from tandem.events import service
from tandem.events.models import Event

router = APIRouter(prefix="/api/v1", tags=["audit"])


class EventOut(RowOut):
    """One audit log entry."""

    id: int
    type: str
    actor_type: str = Field(description="system | ai | customer | user")
    actor_id: str | None
    conversation_id: str | None
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, event: Event) -> EventOut:
        """Build from a stored event."""
        return cls.from_row(event, data=event.data or {})


class EventPageOut(BaseModel):
    """A page of the audit log; pass `next_before` as `before` for the next (older) page."""

    events: list[EventOut]
    next_before: int | None


@router.get("/audit", response_model=EventPageOut)
def read_audit_log(
    principal: AdminPrincipal,
    session: SessionDep,
    type: Annotated[list[str] | None, Query(max_length=50)] = None,
    admin_only: bool = False,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> EventPageOut:
    """Return the workspace's audit log, newest first (admins only).

    Filter by one or more `type`s (e.g. `queue.created`), or `admin_only` for admin changes.
    """
    page = service.list_events(
        session, types=type or (), admin_only=admin_only, before=before, limit=limit
    )
    return EventPageOut(events=[EventOut.of(e) for e in page.events], next_before=page.next_before)
