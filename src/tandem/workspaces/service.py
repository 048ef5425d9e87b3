"""Create and look up workspaces."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tandem.core.errors import ConflictError, NotFoundError, ValidationError
from tandem.events.service import audit
from tandem.privacy.mask import check_privacy_settings
from tandem.workspaces.models import Workspace

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")

DEFAULT_SETTINGS: dict[str, Any] = {
    "precision_target": 0.95,
    "languages": ["en"],
    "ai_allowed_intents": None,  # None = every intent with an approved answer
    "human_only_topics": [
        "legal_threat",
        "cancellation",
        "refund_dispute",
        "complaint",
        "vulnerable_customer",
        "security_incident",
    ],
}


def create_workspace(
    session: Session, *, name: str, settings: dict[str, Any] | None = None
) -> Workspace:
    """Create a workspace with a fresh widget key; names are unique."""
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise ValidationError(
            "workspace name must be 1-100 characters: letters, digits, space, '_', '.', '-'"
        )
    if session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
        raise ConflictError(f"a workspace named {name!r} already exists")
    workspace = Workspace(name=name, settings={**DEFAULT_SETTINGS, **(settings or {})})
    session.add(workspace)
    session.flush()
    # Every desk starts with a default queue and SLA policies, so escalations have a home.
    from tandem.routing.admin import ensure_default_setup  # routing depends on workspaces

    ensure_default_setup(session, workspace.id)
    return workspace


def list_workspaces(session: Session) -> list[Workspace]:
    """Return every workspace, oldest first (installation-level; for the CLI)."""
    return list(session.scalars(select(Workspace).order_by(Workspace.created_at, Workspace.name)))


def get_workspace(session: Session, workspace_id: str) -> Workspace:
    """Return a workspace by id."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError("workspace not found")
    return workspace


def get_workspace_by_name(session: Session, name: str) -> Workspace:
    """Return a workspace by its unique name."""
    workspace = session.scalar(select(Workspace).where(Workspace.name == name))
    if workspace is None:
        raise NotFoundError(f"no workspace named {name!r}")
    return workspace


def get_workspace_by_widget_key(session: Session, widget_key: str | None) -> Workspace:
    """Return the workspace a widget key belongs to, or raise NotFoundError."""
    if not widget_key:
        raise NotFoundError("unknown widget key")
    workspace = session.scalar(select(Workspace).where(Workspace.widget_key == widget_key))
    if workspace is None:
        raise NotFoundError("unknown widget key")
    return workspace


def update_settings(session: Session, workspace: Workspace, changes: dict[str, Any]) -> Workspace:
    """Merge changes into a workspace's settings (the JSON column is replaced, not mutated)."""
    workspace.settings = {**(workspace.settings or {}), **changes}
    session.flush()
    audit(session, workspace_id=workspace.id, type="settings.changed", data={"changes": changes})
    return workspace


def change_privacy_settings(session: Session, workspace: Workspace, value: object) -> Workspace:
    """Validate and store which personal data is masked before messages are stored."""
    return update_settings(session, workspace, {"privacy": check_privacy_settings(value)})
