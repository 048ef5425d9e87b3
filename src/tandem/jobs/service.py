"""Enqueue and claim durable jobs (the queue is a table, so a job commits with its data)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tandem.db.base import utcnow
from tandem.db.session import on_commit
from tandem.jobs.models import Job

MAX_ATTEMPTS = 5
STALE_AFTER = timedelta(minutes=5)

# Set after commit so an in-process worker picks new work up at once instead of polling.
work_available = threading.Event()

Handler = Callable[[Session, dict[str, Any]], None]
_handlers: dict[str, Handler] = {}


def register(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of a kind."""

    def decorator(func: Handler) -> Handler:
        _handlers[kind] = func
        return func

    return decorator


def handler_for(kind: str) -> Handler | None:
    """Return the registered handler for a job kind."""
    return _handlers.get(kind)


def enqueue(
    session: Session, *, kind: str, payload: dict[str, Any], workspace_id: str | None = None
) -> Job:
    """Add a job in the caller's transaction; the worker sees it only once that commits."""
    job = Job(kind=kind, payload=payload, workspace_id=workspace_id)
    session.add(job)
    on_commit(session, work_available.set)
    return job


def claim_next(session: Session) -> Job | None:
    """Mark the oldest runnable job as running and return it (safe with several workers)."""
    now = utcnow()
    query = (
        select(Job)
        .where(
            or_(
                (Job.state == "queued") & (Job.run_at <= now),
                # A job left running by a worker that died is taken over after a while.
                (Job.state == "running") & (Job.run_at <= now - STALE_AFTER),
            )
        )
        .order_by(Job.run_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job = session.scalar(query)
    if job is None:
        return None
    job.state = "running"
    job.attempts += 1
    job.run_at = now
    return job


def finish(session: Session, job_id: int, *, error: str | None = None) -> None:
    """Mark a job done, or schedule a retry with back-off until it has failed too often."""
    job = session.get(Job, job_id)
    if job is None:
        return
    now = utcnow()
    if error is None:
        job.state, job.finished_at, job.last_error = "done", now, None
        return
    job.last_error = error[-4000:]
    if job.attempts >= MAX_ATTEMPTS:
        job.state, job.finished_at = "failed", now
    else:
        job.state = "queued"
        job.run_at = now + timedelta(seconds=2**job.attempts)


def pending_count(session: Session) -> int:
    """Return how many jobs are queued or running."""
    rows = session.scalars(select(Job.id).where(Job.state.in_(["queued", "running"])))
    return len(rows.all())


def purge_finished(session: Session, *, older_than: timedelta) -> None:
    """Forget done jobs older than a cut-off (failed ones stay for inspection)."""
    session.execute(
        update(Job)
        .where(Job.state == "done", Job.finished_at < utcnow() - older_than)
        .values(payload={})
    )
