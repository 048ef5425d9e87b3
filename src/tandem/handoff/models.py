"""The handoff packet: everything the AI knew when it passed a conversation to a human."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, TenantScoped, new_id, utcnow


class HandoffPacket(TenantScoped, Base):
    """One escalation's context; a conversation has one per handoff, newest is current."""

    __tablename__ = "handoff_packets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    trigger: Mapped[str] = mapped_column(String(20))  # ai | customer | agent
    reasons: Mapped[list[str]] = mapped_column(default=list)
    # summary, intent, confidence, entities, sentiment, ai_answers, customer, past_conversations
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
