"""Workspaces: the tenants (an outsourcing provider runs several)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, new_id, new_secret, utcnow


def new_widget_key() -> str:
    """Return a new public widget key (it identifies a workspace; it is not a password)."""
    return new_secret("wk_")


class Workspace(Base):
    """One support organisation's desk; every other row belongs to exactly one."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    widget_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_widget_key)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
