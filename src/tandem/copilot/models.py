"""What humans resolved before, kept so the co-pilot can suggest it again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, TenantScoped, new_id, utcnow


class ResolvedCase(TenantScoped, Base):
    """A customer's need and the human reply that resolved it, with the need's embedding."""

    __tablename__ = "resolved_cases"
    # One case per conversation: re-resolving a reopened conversation replaces it.
    __table_args__ = (
        UniqueConstraint("conversation_id", name="uq_resolved_cases_conversation_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(100), default=None)
    language: Mapped[str | None] = mapped_column(String(10), default=None)
    embedder: Mapped[str] = mapped_column(String(100))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
