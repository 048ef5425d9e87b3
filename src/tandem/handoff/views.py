"""The team's view of a conversation's handoff packet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from tandem.api.deps import CurrentPrincipal, SessionDep
from tandem.conversations.service import get_conversation
from tandem.core.errors import NotFoundError
from tandem.core.schemas import RowOut
from tandem.handoff.service import latest_packet

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


class HandoffOut(RowOut):
    """Everything the AI knew when it handed the conversation over."""

    id: str
    conversation_id: str
    trigger: str
    reasons: list[str]
    data: dict[str, Any]
    created_at: datetime


@router.get("/{conversation_id}/handoff", response_model=HandoffOut)
def read_handoff(
    conversation_id: str, principal: CurrentPrincipal, session: SessionDep
) -> HandoffOut:
    """Return the latest handoff packet (404 if the conversation was never escalated)."""
    get_conversation(session, conversation_id)
    packet = latest_packet(session, conversation_id)
    if packet is None:
        raise NotFoundError("this conversation has not been handed to a human")
    return HandoffOut.from_row(packet)
