"""Enqueue and claim durable jobs (the queue is a table, so a job commits with its data)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.base import utcnow
from tandem.db.session import on_commit
from tandem.jobs.models import Job

MAX_ATTEMPTS = 5
STALE_AFTER = timedelta(minutes=5)
DEFAULT_LANE = "default"
# Seconds-to-minutes work; its own worker keeps it from delaying customer messages.
TRAINING_LANE = "training"

# Set after any job commits (one-shot tools and tests look at it).
work_available = threading.Event()
# Each running worker's wake-up event and the lanes it serves (None: every lane).
_wakers: dict[threading.Event, frozenset[str] | None] = {}
_wakers_lock = threading.Lock()


@dataclass(frozen=True)
class JobContext:
    """What a handler that owns its transactions gets: a session factory and its job's id."""

    factory: sessionmaker[Session]
    job_id: int


Handler = Callable[[Session, dict[str, Any]], None]
LongHandler = Callable[[JobContext, dict[str, Any]], None]


@dataclass(frozen=True)
class Registration:
    """How the worker runs a job kind: in one transaction it opens, or the handler's own."""

    lane: str
    handler: Handler | None = None
    long_handler: LongHandler | None = None


_registry: dict[str, Registration] = {}


def register(kind: str, *, lane: str = DEFAULT_LANE) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of a kind, in one transaction the worker owns.

    Tandem's own kinds are registered in tandem.jobs.registry.register_all, nowhere else.
    """

    def decorator(func: Handler) -> Handler:
        _registry[kind] = Registration(lane=lane, handler=func)
        return func

    return decorator


def register_long_running(
    kind: str, *, lane: str = TRAINING_LANE
) -> Callable[[LongHandler], LongHandler]:
    """Register a handler that opens its own short transactions around slow, DB-free work."""

    def decorator(func: LongHandler) -> LongHandler:
        _registry[kind] = Registration(lane=lane, long_handler=func)
        return func

    return decorator


def registration(kind: str) -> Registration | None:
    """Return how a job kind is run, if a handler is registered."""
    return _registry.get(kind)


def registered_kinds() -> dict[str, Registration]:
    """Return every registered job kind and how it runs."""
    return dict(_registry)


def handler_for(kind: str) -> Handler | None:
    """Return the registered (worker-transaction) handler for a job kind."""
    found = _registry.get(kind)
    return found.handler if found else None


def lane_of(kind: str) -> str:
    """Return the lane a job kind runs in (unregistered kinds run in the default lane)."""
    from tandem.jobs.registry import register_all  # its handlers import this module

    register_all()
    found = _registry.get(kind)
    return found.lane if found else DEFAULT_LANE


def subscribe(lanes: Sequence[str] | None) -> threading.Event:
    """Return an event that is set whenever a job of one of these lanes commits."""
    event = threading.Event()
    with _wakers_lock:
        _wakers[event] = frozenset(lanes) if lanes is not None else None
    return event


def unsubscribe(event: threading.Event) -> None:
    """Stop waking an event returned by subscribe."""
    with _wakers_lock:
        _wakers.pop(event, None)


def wake(lane: str) -> None:
    """Wake the workers that serve a lane (and anyone watching work_available)."""
    work_available.set()
    with _wakers_lock:
        events = [event for event, lanes in _wakers.items() if lanes is None or lane in lanes]
    for event in events:
        event.set()


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    workspace_id: str | None = None,
    lane: str | None = None,
) -> Job:
    """Add a job in the caller's transaction; the worker sees it only once that commits."""
    job_lane = lane or lane_of(kind)
    job = Job(kind=kind, payload=payload, workspace_id=workspace_id, lane=job_lane)
    session.add(job)
    on_commit(session, lambda: wake(job_lane))
    return job


def claim_next(session: Session, *, lanes: Sequence[str] | None = None) -> Job | None:
    """Mark the oldest runnable job of some lanes (None: all) as running and return it."""
    now = utcnow()
    query = select(Job).where(
        or_(
            (Job.state == "queued") & (Job.run_at <= now),
            # A job left running by a worker that died is taken over after a while.
            (Job.state == "running") & (Job.run_at <= now - STALE_AFTER),
        )
    )
    if lanes is not None:
        query = query.where(Job.lane.in_(list(lanes)))
    query = query.order_by(Job.run_at, Job.id).limit(1).with_for_update(skip_locked=True)
    job = session.scalar(query)
    if job is None:
        return None
    job.state = "running"
    job.attempts += 1
    job.run_at = now
    return job


def heartbeat(session: Session, job_id: int) -> None:
    """Say a long job is still alive, so no other worker takes it over as stale."""
    session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running").values(run_at=utcnow())
    )


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
