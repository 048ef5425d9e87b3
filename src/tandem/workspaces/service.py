"""Create and look up workspaces."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tandem.core.errors import ConflictError, NotFoundError, ValidationError
from tandem.events.service import audit
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import WorkspaceSettings, read_settings, validate_settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$")


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
    # Only what was set is stored, so a later release's better default reaches the rest.
    workspace = Workspace(name=name, settings=validate_settings(settings or {}).stored())
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


def update_settings(
    session: Session,
    workspace: Workspace,
    changes: dict[str, Any],
    *,
    audit_type: str = "settings.changed",
    audit_data: dict[str, Any] | None = None,
) -> WorkspaceSettings:
    """Validate and store changes to a workspace's settings; raise ValidationError if bad.

    The merged result must pass `WorkspaceSettings`; the JSON column is replaced, not mutated
    (JSON columns only notice a new value). The change is audited as `audit_type`.
    """
    merged = validate_settings({**read_settings(workspace.settings).stored(), **changes})
    workspace.settings = merged.stored()
    session.flush()
    data = audit_data if audit_data is not None else {"changes": changes}
    audit(session, workspace_id=workspace.id, type=audit_type, data=data)
    return merged


def change_privacy_settings(
    session: Session, workspace: Workspace, value: object
) -> WorkspaceSettings:
    """Validate and store which personal data is masked before messages are stored."""
    return update_settings(
        session, workspace, {"privacy": {"mask": []} if value is None else value}
    )
