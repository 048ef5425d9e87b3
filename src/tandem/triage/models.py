"""Versioned model artifacts (stored in the database so every process loads the same one) and
the training runs that produce them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, TenantScoped, new_id, utcnow


class ModelVersion(TenantScoped, Base):
    """One trained intent model; exactly one per workspace is active at a time."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "version", name="uq_model_versions_workspace_version"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30), default="intent")
    status: Mapped[str] = mapped_column(String(20), default="candidate")  # candidate|active|retired
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # How the version did on examples it never saw, next to the version active when it was
    # trained (see tandem.triage.promotion), and why it was or was not promoted.
    evaluation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    trigger: Mapped[str] = mapped_column(String(20), default="supervisor")  # |schedule|cli|seed
    requested_by: Mapped[str | None] = mapped_column(String(32), default=None)
    promotion_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)


class TrainingRun(TenantScoped, Base):
    """One request to retrain the intent model, with its progress and what it produced."""

    __tablename__ = "training_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # queued -> running -> succeeded | failed (see tandem.triage.training)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    stage: Mapped[str] = mapped_column(String(40), default="queued")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    requested_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    trigger: Mapped[str] = mapped_column(String(20), default="supervisor")  # or "schedule"
    error: Mapped[str | None] = mapped_column(Text, default=None)
    model_version: Mapped[int | None] = mapped_column(default=None)
    example_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # intent -> examples used
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
