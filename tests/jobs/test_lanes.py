"""Job lanes: slow work has its own worker, and handlers may own their transactions."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.base import utcnow
from tandem.db.session import transaction
from tandem.jobs import service
from tandem.jobs.models import Job
from tandem.jobs.worker import Worker

SLOW = "test_slow_lane"


def test_each_worker_claims_only_its_lanes(factory: sessionmaker[Session]) -> None:
    ran: list[str] = []
    service.register("test_quick")(lambda _session, payload: ran.append(payload["n"]))
    service.register("test_slow", lane=SLOW)(lambda _session, payload: ran.append(payload["n"]))
    with transaction(factory) as session:
        service.enqueue(session, kind="test_slow", payload={"n": "slow"})
        service.enqueue(session, kind="test_quick", payload={"n": "quick"})
    with factory() as session:
        lanes = {kind: lane for kind, lane in session.execute(select(Job.kind, Job.lane))}
        assert lanes == {"test_slow": SLOW, "test_quick": service.DEFAULT_LANE}
    assert Worker(factory, lanes=[service.DEFAULT_LANE]).drain() == 1
    assert ran == ["quick"]  # the slow job was older, but it is not this worker's
    assert Worker(factory, lanes=[service.DEFAULT_LANE]).drain() == 0
    assert Worker(factory, lanes=[SLOW], periodic=[]).drain() == 1
    assert ran == ["quick", "slow"]


def test_a_worker_without_lanes_runs_everything(factory: sessionmaker[Session]) -> None:
    ran: list[str] = []
    service.register("test_any_slow", lane=SLOW)(lambda _s, p: ran.append(p["n"]))
    service.register("test_any_quick")(lambda _s, p: ran.append(p["n"]))
    with transaction(factory) as session:
        service.enqueue(session, kind="test_any_slow", payload={"n": "a"})
        service.enqueue(session, kind="test_any_quick", payload={"n": "b"})
    assert Worker(factory).drain() == 2
    assert sorted(ran) == ["a", "b"]


def test_commit_wakes_only_the_workers_of_the_jobs_lane(factory: sessionmaker[Session]) -> None:
    service.register("test_wake_slow", lane=SLOW)(lambda _s, _p: None)
    slow, quick = service.subscribe([SLOW]), service.subscribe([service.DEFAULT_LANE])
    every = service.subscribe(None)
    try:
        with transaction(factory) as session:
            service.enqueue(session, kind="test_wake_slow", payload={})
            assert not slow.is_set()  # not before the commit
        assert slow.is_set() and every.is_set() and not quick.is_set()
    finally:
        for event in (slow, quick, every):
            service.unsubscribe(event)


def test_long_running_handler_owns_its_transactions(factory: sessionmaker[Session]) -> None:
    seen: dict[str, Any] = {}

    @service.register_long_running("test_long", lane=SLOW)
    def long_job(context: service.JobContext, payload: dict[str, Any]) -> None:
        seen["job_id"] = context.job_id
        with transaction(context.factory) as session:
            job = session.get(Job, context.job_id)
            assert job is not None and job.state == "running"
            before = job.run_at
            service.heartbeat(session, context.job_id)
        with context.factory() as session:
            job = session.get(Job, context.job_id)
            assert job is not None
            seen["heartbeat_moved"] = job.run_at >= before
        with transaction(context.factory) as session:
            service.enqueue(session, kind="test_long_child", payload=payload)

    with transaction(factory) as session:
        service.enqueue(session, kind="test_long", payload={"n": 1})
    assert Worker(factory, lanes=[SLOW], periodic=[]).drain() == 1
    assert seen["heartbeat_moved"] is True
    with factory() as session:
        jobs = {job.kind: job for job in session.scalars(select(Job))}
        assert jobs["test_long"].state == "done"
        assert jobs["test_long"].id == seen["job_id"]
        assert jobs["test_long_child"].payload == {"n": 1}  # committed by the handler itself


def test_a_failing_long_running_handler_is_retried_like_any_job(
    factory: sessionmaker[Session],
) -> None:
    def explode(_context: service.JobContext, _payload: dict[str, Any]) -> None:
        raise RuntimeError("out of memory")

    service.register_long_running("test_long_explode", lane=SLOW)(explode)
    with transaction(factory) as session:
        service.enqueue(session, kind="test_long_explode", payload={})
    Worker(factory, lanes=[SLOW], periodic=[]).drain()
    with factory() as session:
        job = session.scalars(select(Job)).one()
        assert (job.state, job.attempts) == ("queued", 1)
        assert "RuntimeError: out of memory" in (job.last_error or "")
        assert job.run_at > utcnow()


def test_started_workers_stop_cleanly(factory: sessionmaker[Session]) -> None:
    ran: list[int] = []
    service.register("test_started", lane=SLOW)(lambda _s, p: ran.append(p["n"]))
    worker = Worker(factory, lanes=[SLOW], periodic=[], poll_seconds=5)
    worker.start()
    try:
        with transaction(factory) as session:
            service.enqueue(session, kind="test_started", payload={"n": 7})
        for _ in range(200):  # woken by the commit, long before the 5 s poll
            if ran:
                break
            time.sleep(0.01)
        assert ran == [7]
    finally:
        worker.stop()
