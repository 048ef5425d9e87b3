"""Versioned model artifacts, stored in the database so every process loads the same one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String, UniqueConstraint
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
