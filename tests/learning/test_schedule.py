"""Scheduled retraining: after N new examples (a workspace setting), through the same job."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.base import utcnow
from tandem.db.session import transaction
from tandem.jobs import service as jobs
from tandem.jobs.worker import Worker
from tandem.learning.schedule import periodic_retrain_check
from tandem.triage.models import ModelVersion, TrainingRun

from ..factories import login, make_workspace
from ..triage.training_data import add_examples, run_training_jobs


def _tick(factory: sessionmaker[Session]) -> None:
    """One timer tick, then the checks it queued (as a worker with timers would run them)."""
    with transaction(factory) as session:
        periodic_retrain_check(session, utcnow())
    Worker(factory, lanes=[jobs.DEFAULT_LANE], periodic=[]).drain()


def _runs(factory: sessionmaker[Session], workspace_id: str) -> list[TrainingRun]:
    with factory() as session:
        query = select(TrainingRun).where(TrainingRun.workspace_id == workspace_id)
        return list(session.scalars(query.order_by(TrainingRun.created_at)))


def test_a_workspace_retrains_on_its_own_after_n_new_examples(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    quiet = make_workspace(factory)  # no schedule: never trained by the timer
    add_examples(factory, ws.id)
    add_examples(factory, quiet.id)
    admin = login(client, ws.admin_email)
    bad = client.put("/api/v1/ai/settings", headers=admin, json={"retrain_after_examples": 0})
    assert bad.status_code == 422 and "retrain_after_examples" in bad.json()["error"]["message"]
    saved = client.put("/api/v1/ai/settings", headers=admin, json={"retrain_after_examples": 10})
    assert saved.status_code == 200 and saved.json()["retrain_after_examples"] == 10

    _tick(factory)
    (run,) = _runs(factory, ws.id)
    assert run.trigger == "schedule" and run.requested_by is None
    assert _runs(factory, quiet.id) == []
    run_training_jobs(factory)
    _tick(factory)  # nothing new since that run: no second one
    assert len(_runs(factory, ws.id)) == 1

    add_examples(factory, ws.id, {"track_order": [f"parcel {n} not here" for n in range(6)]})
    _tick(factory)
    assert len(_runs(factory, ws.id)) == 1  # 6 new examples: below the 10 the schedule asks for
    add_examples(factory, ws.id, {"opening_hours": [f"open on day {n}?" for n in range(4)]})
    _tick(factory)
    _tick(factory)  # a second timer tick (another worker) does not queue a second run
    assert [r.status for r in _runs(factory, ws.id)] == ["succeeded", "queued"]
    run_training_jobs(factory)
    with factory() as session:
        versions = session.scalars(
            select(ModelVersion).where(ModelVersion.workspace_id == ws.id)
        ).all()
    assert sorted(v.trigger for v in versions) == ["schedule", "schedule"]
