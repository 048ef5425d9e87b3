"""The durable job queue and its worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.jobs import service
from tandem.jobs.models import Job
from tandem.jobs.worker import Worker


def test_job_exists_only_if_its_transaction_commits(factory: sessionmaker[Session]) -> None:
    ran: list[dict[str, Any]] = []
    service.register("test_record")(lambda _session, payload: ran.append(payload))
    worker = Worker(factory)
    with factory() as session:
        service.enqueue(session, kind="test_record", payload={"n": 0})
        session.flush()
        session.rollback()
    assert worker.drain() == 0
    with transaction(factory) as session:
        service.enqueue(session, kind="test_record", payload={"n": 1})
    assert service.work_available.is_set()  # the commit woke the worker
    assert worker.drain() == 1
    assert ran == [{"n": 1}]
    with factory() as check:
        assert check.scalars(select(Job.state)).all() == ["done"]


def test_failing_job_is_retried_with_backoff_then_marked_failed(
    factory: sessionmaker[Session],
) -> None:
    def explode(_session: Session, _payload: dict[str, Any]) -> None:
        raise ValueError("boom")

    service.register("test_explode")(explode)
    with transaction(factory) as session:
        service.enqueue(session, kind="test_explode", payload={})
    worker = Worker(factory)
    assert worker.drain() == 1  # the retry is scheduled in the future, so drain stops
    with factory() as check:
        job = check.scalars(select(Job)).one()
        assert (job.state, job.attempts) == ("queued", 1)
        assert "ValueError: boom" in (job.last_error or "")
    for _ in range(service.MAX_ATTEMPTS - 1):
        with transaction(factory) as session:
            job = session.scalars(select(Job)).one()
            job.run_at = job.created_at  # make the retry due now
        worker.drain()
    with factory() as check:
        job = check.scalars(select(Job)).one()
        assert (job.state, job.attempts) == ("failed", service.MAX_ATTEMPTS)


def test_handler_work_rolls_back_when_it_fails(factory: sessionmaker[Session]) -> None:
    def half_done(session: Session, _payload: dict[str, Any]) -> None:
        service.enqueue(session, kind="never_visible", payload={})
        session.flush()
        raise RuntimeError("fail after writing")

    service.register("test_half")(half_done)
    with transaction(factory) as session:
        service.enqueue(session, kind="test_half", payload={})
    Worker(factory).drain()
    with factory() as check:
        assert check.scalars(select(Job.kind)).all() == ["test_half"]
