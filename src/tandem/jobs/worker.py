"""The background worker: runs in-process by default (`tandem serve`), or as its own process."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tandem.db.base import utcnow
from tandem.db.session import transaction
from tandem.jobs import service
from tandem.jobs.registry import register_all

logger = logging.getLogger(__name__)

# A periodic task gets its own (unscoped) transaction and the time it runs for.
Periodic = Callable[[Session, datetime], None]
_periodic: list[tuple[float, Periodic]] = []


def register_periodic(seconds: float, func: Periodic) -> None:
    """Have every worker run `func` about every `seconds` (it must be idempotent).

    Tandem's own tasks are registered in tandem.jobs.registry.register_all, nowhere else.
    """
    if (seconds, func) not in _periodic:
        _periodic.append((seconds, func))


def registered_periodic() -> list[tuple[float, Periodic]]:
    """Return the registered periodic tasks."""
    return list(_periodic)


class Worker:
    """Claim jobs one at a time, each in its own transaction, until stopped.

    A worker serves some lanes (None: all of them); the app runs one per lane, so a slow job
    in one lane never holds up another.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        poll_seconds: float = 1.0,
        periodic: Sequence[tuple[float, Periodic]] | None = None,
        lanes: Sequence[str] | None = None,
        name: str = "tandem-worker",
    ) -> None:
        register_all()  # every worker, in any process, knows the same job kinds and timers
        self._factory = factory
        self._poll_seconds = poll_seconds
        self._periodic = list(periodic) if periodic is not None else None  # None: the registry
        self._lanes = tuple(lanes) if lanes is not None else None
        self._name = name
        self._last_run: dict[Periodic, datetime] = {}
        self._stop = threading.Event()
        self._wake: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def lanes(self) -> tuple[str, ...] | None:
        """Return the lanes this worker claims jobs from (None: every lane)."""
        return self._lanes

    def start(self) -> None:
        """Run the worker loop in a daemon thread."""
        self._wake = service.subscribe(self._lanes)
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to stop and wait for the current job to finish."""
        self._stop.set()
        if self._wake is not None:
            self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._wake is not None:
            service.unsubscribe(self._wake)

    def _loop(self) -> None:
        wake = self._wake
        assert wake is not None, "start() subscribes the worker before the loop runs"
        while not self._stop.is_set():
            try:
                self.run_periodic()
                ran = self.run_once()
            except Exception:
                logger.exception("worker loop error")
                ran = False
            if not ran:
                wake.wait(self._poll_seconds)
                wake.clear()

    def run_periodic(self, now: datetime | None = None) -> int:
        """Run each periodic task whose interval has passed since its last run; return how many."""
        now = now or utcnow()
        tasks = self._periodic if self._periodic is not None else registered_periodic()
        count = 0
        for seconds, func in tasks:
            last = self._last_run.get(func)
            # A clock that went backwards counts as due, so a task never stalls.
            if last is not None and last <= now < last + timedelta(seconds=seconds):
                continue
            self._last_run[func] = now
            count += 1
            try:
                with transaction(self._factory) as session:
                    func(session, now)
            except Exception:
                logger.exception("periodic task %s failed", getattr(func, "__name__", func))
        return count

    def run_once(self) -> bool:
        """Run the next job if there is one; return whether a job ran."""
        with transaction(self._factory) as session:
            job = service.claim_next(session, lanes=self._lanes)
            if job is None:
                return False
            job_id, kind, payload = job.id, job.kind, dict(job.payload)
        error: str | None = None
        found = service.registration(kind)
        if found is None:
            error = f"no handler registered for job kind {kind!r}"
        else:
            try:
                self._run(found, job_id, payload)
            except Exception:
                error = traceback.format_exc()
                logger.exception("job %s (%s) failed", job_id, kind)
        with transaction(self._factory) as session:
            service.finish(session, job_id, error=error)
        return True

    def _run(self, found: service.Registration, job_id: int, payload: dict[str, Any]) -> None:
        if found.long_handler is not None:
            # The handler opens its own short transactions: slow work must not hold one
            # (on SQLite an open write transaction blocks every other writer).
            found.long_handler(service.JobContext(factory=self._factory, job_id=job_id), payload)
            return
        assert found.handler is not None
        with transaction(self._factory, workspace_id=None) as session:
            found.handler(session, payload)

    def drain(self, max_jobs: int = 1000) -> int:
        """Run queued jobs until none is runnable now (tests and CLI); return how many ran."""
        count = 0
        while count < max_jobs and self.run_once():
            count += 1
        return count
