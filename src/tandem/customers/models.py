"""Customers: the people who write in; they never log in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, TenantScoped, new_id, utcnow


class Customer(TenantScoped, Base):
    """A contact, identified per workspace by email when they give one."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email", name="uq_customers_workspace_email"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    is_vip: Mapped[bool] = mapped_column(default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
