"""Retrain a workspace's intent model in the background, with progress an admin can watch.

`request_training` records a run and enqueues one job in the caller's transaction. The job
(training lane, its own worker) reads the examples in one short transaction, trains with no
transaction open (seconds to a minute of CPU), writes throttled progress in short transactions,
then stores and activates the new version exactly as `tandem train` does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from tandem.conversations.service import check_text
from tandem.core.errors import NotFoundError, TandemError, ValidationError
from tandem.db.base import utcnow
from tandem.db.session import one_or_not_found, scope_session, transaction
from tandem.jobs.service import TRAINING_LANE, JobContext, enqueue, heartbeat
from tandem.triage import flows, service
from tandem.triage.models import ModelVersion, TrainingRun
from tandem.workspaces.models import Workspace

logger = logging.getLogger(__name__)

TRAIN_JOB = "train_intent_model"
ACTIVE_STATUSES = ("queued", "running")
FINISHED_STATUSES = ("succeeded", "failed")
# Progress rows are written at most this often: enough for a progress bar, not a write storm.
PROGRESS_EVERY_SECONDS = 0.5
MAX_VERSION = 2**31 - 1
UNEXPECTED_FAILURE = "training failed unexpectedly; the server log has the details"


def request_training(
    session: Session,
    *,
    workspace: Workspace,
    requested_by: str | None,
    trigger: str = "supervisor",
) -> TrainingRun:
    """Queue a training run for the workspace, or return the one already queued or running."""
    # Lock the workspace row so two clicks at once cannot queue two runs (SQLite serialises
    # writers anyway; this is for PostgreSQL).
    session.execute(select(Workspace.id).where(Workspace.id == workspace.id).with_for_update())
    current = active_run(session, workspace_id=workspace.id)
    if current is not None:
        return current
    run = TrainingRun(workspace_id=workspace.id, requested_by=requested_by, trigger=trigger)
    session.add(run)
    session.flush()
    enqueue(
        session,
        kind=TRAIN_JOB,
        payload={"run_id": run.id, "workspace_id": workspace.id},
        workspace_id=workspace.id,
        lane=TRAINING_LANE,
    )
    return run


def active_run(session: Session, *, workspace_id: str) -> TrainingRun | None:
    """Return the workspace's queued or running training run, if any."""
    scope_session(session, workspace_id)
    return session.scalar(
        select(TrainingRun)
        .where(TrainingRun.status.in_(ACTIVE_STATUSES))
        .order_by(TrainingRun.created_at)
        .limit(1)
    )


def get_run(session: Session, run_id: str) -> TrainingRun:
    """Return a training run of the scoped workspace, or raise NotFoundError."""
    query = select(TrainingRun).where(TrainingRun.id == run_id)
    return one_or_not_found(session, query, "training run")


def recent_runs(session: Session, *, limit: int = 10) -> list[TrainingRun]:
    """Return the scoped workspace's latest training runs, newest first."""
    return list(
        session.scalars(
            select(TrainingRun).order_by(TrainingRun.created_at.desc(), TrainingRun.id).limit(limit)
        )
    )


def list_versions(session: Session) -> list[ModelVersion]:
    """Return the scoped workspace's model versions, newest first (without their artifacts)."""
    return list(
        session.scalars(
            select(ModelVersion)
            .options(defer(ModelVersion.artifact))
            .order_by(ModelVersion.version.desc())
        )
    )


def activate(
    session: Session, *, workspace_id: str, version: int, reason: str | None = None
) -> ModelVersion:
    """Make a model version active by hand: promote a candidate, or roll back to an older one.

    A candidate that its evaluation did not promote needs a stated reason (audited).
    """
    # Beyond a 32-bit integer no version exists (and PostgreSQL refuses to compare).
    in_range = 1 <= version <= MAX_VERSION
    chosen = (
        session.scalar(select(ModelVersion).where(ModelVersion.version == version))
        if in_range
        else None
    )
    if chosen is None:
        raise NotFoundError(f"no model version {version}")
    reason = " ".join((reason or "").split()) or None
    if chosen.status == "candidate" and chosen.evaluation.get("promoted") is False and not reason:
        raise ValidationError(
            f"version {version} was not promoted ({chosen.promotion_reason}); "
            "give a reason to promote it anyway"
        )
    return service.activate_version(
        session, workspace_id=workspace_id, version=version, reason=reason
    )


def preview(session: Session, *, workspace: Workspace, text: str, max_chars: int) -> dict[str, Any]:
    """Return what the AI would do with a test message (the admin's test box; nothing stored)."""
    return flows.preview_message(
        session, workspace=workspace, text=check_text(text, max_chars=max_chars)
    )


# --- the job ----------------------------------------------------------------------------------


class ProgressWriter:
    """Record (stage, done, total) on the run in short transactions, at most every interval."""

    def __init__(
        self,
        context: JobContext,
        *,
        run_id: str,
        workspace_id: str,
        every_seconds: float = PROGRESS_EVERY_SECONDS,
    ) -> None:
        self._context = context
        self._run_id = run_id
        self._workspace_id = workspace_id
        self._every = every_seconds
        self._last = float("-inf")
        self.writes = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Note progress; write it only when the last write is old enough."""
        now = time.monotonic()
        if now - self._last < self._every:
            return
        self._last = now
        self.write(stage, done, total)

    def write(self, stage: str, done: int, total: int) -> None:
        """Write progress now (and tell the queue the job is alive)."""
        with transaction(self._context.factory, self._workspace_id) as session:
            session.execute(
                update(TrainingRun)
                .where(TrainingRun.id == self._run_id, TrainingRun.status == "running")
                .values(stage=stage[:40], done=max(done, 0), total=max(total, 0))
            )
            heartbeat(session, self._context.job_id)
        self.writes += 1


def run_training_job(context: JobContext, payload: dict[str, Any]) -> None:
    """Train for one run: read, train outside any transaction, then store and activate."""
    run_id, workspace_id = str(payload["run_id"]), str(payload["workspace_id"])
    with transaction(context.factory, workspace_id) as session:
        plan = _start(session, run_id=run_id, workspace_id=workspace_id)
    if plan is None:
        return
    progress = ProgressWriter(context, run_id=run_id, workspace_id=workspace_id)
    try:
        # Training and judging run outside any transaction: the widget keeps being answered by
        # the active version meanwhile.
        model = service.fit_intent_model(plan.train, progress=progress)
        with transaction(context.factory, workspace_id) as session:
            _set_stage(session, run_id, "evaluating")
        judgement = service.judge(model, plan)
        with transaction(context.factory, workspace_id) as session:
            _set_stage(session, run_id, "storing")
            run = get_run(session, run_id)
            version = service.store_model(
                session,
                workspace_id=workspace_id,
                model=model,
                judgement=judgement,
                trigger=run.trigger,
                requested_by=run.requested_by,
            )
            _finish(session, run_id, model_version=version.version)
    except (TandemError, ValueError) as exc:  # the data cannot train a model: say why
        _fail(context, workspace_id, run_id, getattr(exc, "message", None) or str(exc))
    except Exception:
        logger.exception("training run %s failed", run_id)
        _fail(context, workspace_id, run_id, UNEXPECTED_FAILURE)


def _start(session: Session, *, run_id: str, workspace_id: str) -> service.CandidatePlan | None:
    run = session.scalar(select(TrainingRun).where(TrainingRun.id == run_id))
    workspace = session.get(Workspace, workspace_id)
    if run is None or workspace is None or run.status in FINISHED_STATUSES:
        return None  # deleted, or finished by an earlier attempt
    # A "running" run here means a worker died mid-way: the queue handed us its job; start over.
    run.status, run.stage, run.done, run.total = "running", "preparing", 0, 0
    run.started_at, run.error = utcnow(), None
    try:
        plan = service.plan_candidate(session, workspace=workspace)
    except TandemError as exc:
        run.status, run.error, run.finished_at = "failed", exc.message, utcnow()
        return None
    run.example_counts = plan.train.counts()
    return plan


def _set_stage(session: Session, run_id: str, stage: str) -> None:
    session.execute(
        update(TrainingRun).where(TrainingRun.id == run_id).values(stage=stage, done=0, total=0)
    )


def _finish(session: Session, run_id: str, *, model_version: int) -> None:
    run = get_run(session, run_id)
    run.status, run.stage, run.model_version = "succeeded", "done", model_version
    run.done, run.total, run.finished_at, run.error = 1, 1, utcnow(), None


def _fail(context: JobContext, workspace_id: str, run_id: str, message: str) -> None:
    with transaction(context.factory, workspace_id) as session:
        run = get_run(session, run_id)
        run.status, run.error, run.finished_at = "failed", message[:2000], utcnow()


def is_active(run: TrainingRun | None) -> bool:
    """Return whether a run is still queued or running."""
    return run is not None and run.status in ACTIVE_STATUSES


def example_counts(runs: Sequence[TrainingRun], version: int) -> dict[str, int]:
    """Return the per-intent example counts of the run that produced a model version."""
    for run in runs:
        if run.model_version == version:
            return dict(run.example_counts or {})
    return {}
