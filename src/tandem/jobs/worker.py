"""The background worker: runs in-process by default (`tandem serve`), or as its own process."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from tandem.db.base import utcnow
from tandem.db.session import transaction
from tandem.jobs import service

logger = logging.getLogger(__name__)

# A periodic task gets its own (unscoped) transaction and the time it runs for.
Periodic = Callable[[Session, datetime], None]
_periodic: list[tuple[float, Periodic]] = []


def every(seconds: float) -> Callable[[Periodic], Periodic]:
    """Register a function every worker runs about every `seconds` (it must be idempotent)."""

    def decorator(func: Periodic) -> Periodic:
        _periodic.append((seconds, func))
        return func

    return decorator


def registered_periodic() -> list[tuple[float, Periodic]]:
    """Return the registered periodic tasks."""
    return list(_periodic)


class Worker:
    """Claim jobs one at a time, each in its own transaction, until stopped."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        poll_seconds: float = 1.0,
        periodic: Sequence[tuple[float, Periodic]] | None = None,
    ) -> None:
        self._factory = factory
        self._poll_seconds = poll_seconds
        self._periodic = list(periodic) if periodic is not None else None  # None: the registry
        self._last_run: dict[Periodic, datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the worker loop in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="tandem-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to stop and wait for the current job to finish."""
        self._stop.set()
        service.work_available.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_periodic()
                ran = self.run_once()
            except Exception:
                logger.exception("worker loop error")
                ran = False
            if not ran:
                service.work_available.wait(self._poll_seconds)
                service.work_available.clear()

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
            job = service.claim_next(session)
            if job is None:
                return False
            job_id, kind, payload = job.id, job.kind, dict(job.payload)
        error: str | None = None
        handler = service.handler_for(kind)
        if handler is None:
            error = f"no handler registered for job kind {kind!r}"
        else:
            try:
                with transaction(self._factory, workspace_id=None) as session:
                    handler(session, payload)
            except Exception:
                error = traceback.format_exc()
                logger.exception("job %s (%s) failed", job_id, kind)
        with transaction(self._factory) as session:
            service.finish(session, job_id, error=error)
        return True

    def drain(self, max_jobs: int = 1000) -> int:
        """Run queued jobs until none is runnable now (tests and CLI); return how many ran."""
        count = 0
        while count < max_jobs and self.run_once():
            count += 1
        return count
