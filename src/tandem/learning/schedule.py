"""Scheduled retraining: after N new examples, and/or nightly (workspace settings).

Every worker that runs timers looks every RETRAIN_CHECK_SECONDS: each workspace with a schedule
gets a small job that decides, inside that workspace, whether a run is due and queues it
through the same `request_training` a supervisor's click uses (with its promotion rule). Two
workers queueing at once still make one run: `request_training` returns the run already going.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.db.base import utcnow
from tandem.db.session import scope_session
from tandem.jobs.service import enqueue
from tandem.knowledge.models import TrainingExample
from tandem.triage import training
from tandem.triage.models import TrainingRun
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import list_workspaces
from tandem.workspaces.settings import WorkspaceSettings, workspace_settings

RETRAIN_CHECK_SECONDS = 600.0
CONSIDER_JOB = "consider_retraining"
NIGHTLY = timedelta(hours=24)


def periodic_retrain_check(session: Session, now: datetime) -> None:
    """Queue a check for each workspace that has a retraining schedule (installation level)."""
    for workspace in list_workspaces(session):
        if _scheduled(workspace_settings(workspace)):
            enqueue(
                session,
                kind=CONSIDER_JOB,
                payload={"workspace_id": workspace.id},
                workspace_id=workspace.id,
            )


def _scheduled(settings: WorkspaceSettings) -> bool:
    return settings.retrain_after_examples is not None or settings.retrain_nightly


def retraining_due(session: Session, workspace: Workspace, now: datetime) -> str | None:
    """Return why a scheduled run is due for the scoped workspace, or None."""
    settings = workspace_settings(workspace)
    last = session.scalar(select(func.max(TrainingRun.created_at)))
    new = select(func.count(TrainingExample.id)).where(TrainingExample.pending.is_(False))
    if last is not None:
        new = new.where(TrainingExample.created_at > last)
    count = int(session.scalar(new) or 0)
    threshold = settings.retrain_after_examples
    if threshold is not None and count >= threshold:
        return f"{count} new examples (the schedule retrains after {threshold})"
    if settings.retrain_nightly and count and (last is None or now - last >= NIGHTLY):
        return f"nightly, {count} new examples"
    return None


def consider_retraining(session: Session, payload: dict[str, Any]) -> None:
    """Queue a scheduled training run for one workspace when one is due (a job handler)."""
    workspace = session.get(Workspace, payload["workspace_id"])
    if workspace is None:
        return
    scope_session(session, workspace.id)
    if training.active_run(session, workspace_id=workspace.id) is not None:
        return
    if retraining_due(session, workspace, utcnow()) is not None:
        training.request_training(
            session, workspace=workspace, requested_by=None, trigger="schedule"
        )
