"""Queues (teams with skills), their members, and SLA policies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, TenantScoped, new_id, utcnow


class Queue(TenantScoped, Base):
    """A team that takes escalated conversations matching its skills (intents, languages)."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_queues_workspace_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Empty list = any intent / any language.
    intents: Mapped[list[str]] = mapped_column(default=list)
    languages: Mapped[list[str]] = mapped_column(default=list)
    # Takes whatever no other queue matches; exactly one per workspace should be the default.
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueMember(TenantScoped, Base):
    """An agent who works a queue."""

    __tablename__ = "queue_members"

    queue_id: Mapped[str] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SlaPolicy(TenantScoped, Base):
    """Response targets; a conversation gets the highest `min_priority` not above its own."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name", name="uq_sla_policies_workspace_name"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    min_priority: Mapped[int] = mapped_column(default=0)  # 0 low … 3 urgent
    first_response_minutes: Mapped[int] = mapped_column(default=60)
    resolution_minutes: Mapped[int] = mapped_column(default=24 * 60)
    # Share of the target after which the conversation shows a breach warning.
    warn_ratio: Mapped[float] = mapped_column(default=0.8)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
