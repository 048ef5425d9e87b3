"""Retraining in the background: one run at a time, progress, real models, readable failures."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.core.errors import NotFoundError
from tandem.db.session import scope_session, transaction
from tandem.jobs import service as jobs
from tandem.jobs.models import Job
from tandem.jobs.worker import Worker
from tandem.knowledge.models import TrainingExample
from tandem.triage import service, training
from tandem.triage.calibration import wilson_bounds, z_score
from tandem.triage.intent import DEFAULT_UNSEEN_SHARE, NOT_YET_LEARNED
from tandem.triage.models import ModelVersion, TrainingRun
from tandem.triage.service import (
    MIN_EXAMPLES_PER_INTENT,
    MIN_UNSEEN_SHARE,
    fit_intent_model,
    training_set,
)
from tandem.workspaces.models import Workspace

from ..factories import make_workspace
from .training_data import EXAMPLES, add_examples, run_training_jobs


def _request(factory: sessionmaker[Session], workspace_id: str) -> str:
    with transaction(factory, workspace_id) as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        return training.request_training(session, workspace=workspace, requested_by=None).id


def _run(factory: sessionmaker[Session], workspace_id: str, run_id: str) -> TrainingRun:
    with factory() as session:
        scope_session(session, workspace_id)
        return training.get_run(session, run_id)


def test_a_second_request_returns_the_run_already_queued(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    first = _request(factory, ws.id)
    assert _request(factory, ws.id) == first
    with factory() as session:
        queued = session.scalars(select(Job).where(Job.kind == training.TRAIN_JOB)).all()
        assert [(job.lane, job.payload["run_id"]) for job in queued] == [
            (jobs.TRAINING_LANE, first)
        ]
    run = _run(factory, ws.id, first)
    assert (run.status, run.stage, run.done, run.total) == ("queued", "queued", 0, 0)


def test_training_stores_and_activates_a_real_model(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    run_id = _request(factory, ws.id)
    # The customer-message worker never picks training up: it has its own lane and worker.
    assert Worker(factory, lanes=[jobs.DEFAULT_LANE], periodic=[]).drain() == 0
    assert run_training_jobs(factory) == 1
    run = _run(factory, ws.id, run_id)
    assert run.status == "succeeded", run.error
    assert run.model_version == 1 and run.error is None
    assert run.started_at is not None and run.finished_at is not None
    assert run.example_counts == {intent: len(texts) for intent, texts in EXAMPLES.items()}
    with factory() as session:
        version = session.scalars(
            select(ModelVersion).where(ModelVersion.workspace_id == ws.id)
        ).one()
        assert version.status == "active"
        assert version.description["n_classes"] >= 3  # the intents (plus any out-of-scope class)
        assert "cv_precision" in version.description and version.description["n_train"] >= 18
        job = session.scalars(select(Job).where(Job.kind == training.TRAIN_JOB)).one()
        assert job.state == "done"
    # A new request after a finished run queues a fresh one, producing the next version.
    second = _request(factory, ws.id)
    assert second != run_id
    run_training_jobs(factory)
    assert _run(factory, ws.id, second).model_version == 2


def test_training_holds_no_database_connection_while_it_computes(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    run_id = _request(factory, ws.id)
    pool = factory.kw["bind"].pool
    seen: list[tuple[str, int]] = []
    write = training.ProgressWriter.write

    def spying_write(self: training.ProgressWriter, stage: str, done: int, total: int) -> None:
        seen.append((stage, pool.checkedout()))  # before this write opens its own transaction
        write(self, stage, done, total)

    monkeypatch.setattr(training.ProgressWriter, "write", spying_write)
    run_training_jobs(factory)
    assert _run(factory, ws.id, run_id).status == "succeeded"
    assert seen, "training reported no progress"
    assert {count for _stage, count in seen} == {0}, seen
    assert "embed" in {stage for stage, _count in seen}


def test_progress_is_written_at_most_every_interval(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    run_id = _request(factory, ws.id)
    with transaction(factory, ws.id) as session:
        training.get_run(session, run_id).status = "running"
    with factory() as session:
        job_id = session.scalars(select(Job.id)).one()
    context = jobs.JobContext(factory=factory, job_id=job_id)
    writer = training.ProgressWriter(context, run_id=run_id, workspace_id=ws.id, every_seconds=60)
    for done in range(50):
        writer("embed", done, 50)
    assert writer.writes == 1  # the first call writes; the rest fall inside the interval
    run = _run(factory, ws.id, run_id)
    assert (run.stage, run.done, run.total) == ("embed", 0, 50)
    fast = training.ProgressWriter(context, run_id=run_id, workspace_id=ws.id, every_seconds=0.01)
    fast("cross-validate", 1, 5)
    time.sleep(0.02)
    fast("cross-validate", 2, 5)
    assert fast.writes == 2
    run = _run(factory, ws.id, run_id)
    assert (run.stage, run.done, run.total) == ("cross-validate", 2, 5)


def test_too_few_examples_fail_the_run_with_a_readable_message(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id, {"track_order": EXAMPLES["track_order"], "other": ["hi", "yo"]})
    run_id = _request(factory, ws.id)
    assert run_training_jobs(factory) == 1
    run = _run(factory, ws.id, run_id)
    assert run.status == "failed"
    assert run.error == (
        f"training needs at least 2 intents with {MIN_EXAMPLES_PER_INTENT}+ examples each; "
        "this workspace has 1"
    )
    with factory() as session:
        assert session.scalars(select(ModelVersion.id)).all() == []
        assert session.scalars(select(Job.state)).all() == ["done"]  # not retried: data, not luck


def test_a_run_left_running_by_a_dead_worker_is_trained_when_its_job_is_taken_over(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    run_id = _request(factory, ws.id)
    with transaction(factory) as session:
        job = jobs.claim_next(session, lanes=[jobs.TRAINING_LANE])
        assert job is not None
        job.run_at -= jobs.STALE_AFTER  # the worker that claimed it died long ago
        run = session.scalars(select(TrainingRun)).one()
        run.status, run.stage = "running", "embed"
    assert run_training_jobs(factory) == 1
    assert _run(factory, ws.id, run_id).status == "succeeded"


def test_runs_are_invisible_to_other_workspaces(factory: sessionmaker[Session]) -> None:
    ws, other = make_workspace(factory), make_workspace(factory)
    run_id = _request(factory, ws.id)
    with factory() as session:
        scope_session(session, other.id)
        with pytest.raises(NotFoundError):
            training.get_run(session, run_id)
        assert training.recent_runs(session) == []
        assert training.active_run(session, workspace_id=other.id) is None
    # The other workspace's own request is not deduplicated against this one's.
    assert _request(factory, other.id) != run_id


def test_needs_too_rare_to_learn_yet_go_to_a_person_not_to_the_nearest_intent(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    rare = ["can you gift wrap my order", "do you offer gift wrapping", "wrap it as a present"]
    add_examples(factory, ws.id, {"gift_wrap": rare})
    with factory() as session:
        scope_session(session, ws.id)
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        data = training_set(session, workspace=workspace)
    assert data.oos_label == NOT_YET_LEARNED
    assert data.counts() == {**{i: len(t) for i, t in EXAMPLES.items()}, NOT_YET_LEARNED: 3}
    assert data.created_at == sorted(data.created_at)  # oldest first, for the held-back slice
    model = fit_intent_model(data)
    (gift, order) = model.predict(["do you offer gift wrapping", "where is my order"])
    assert gift.intent == NOT_YET_LEARNED and gift.is_out_of_scope
    assert not gift.off_topic  # a real need: a person answers it, not "I can't help with that"
    assert order.intent == "track_order"


def test_a_single_rare_example_is_left_out_of_training(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    add_examples(factory, ws.id, {"gift_wrap": ["can you gift wrap my order"]})
    with factory() as session:
        scope_session(session, ws.id)
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        data = training_set(session, workspace=workspace)
    assert data.oos_label is None and NOT_YET_LEARNED not in data.labels


def test_the_unseen_share_comes_from_what_the_active_version_met(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "UNSEEN_EVIDENCE_CONVERSATIONS", 20)
    ws = make_workspace(factory)
    add_examples(factory, ws.id)

    def share() -> float:
        with transaction(factory, ws.id) as session:
            return service.observed_unseen_share(session)

    assert share() == DEFAULT_UNSEEN_SHARE  # no active version: no evidence
    _request(factory, ws.id)
    run_training_jobs(factory)
    with transaction(factory, ws.id) as session:
        started = [
            conversations.start_conversation(session, workspace_id=ws.id).conversation.id
            for _ in range(19)
        ]
    assert share() == DEFAULT_UNSEEN_SHARE  # 19 conversations: too few to go by
    with transaction(factory, ws.id) as session:
        started.append(
            conversations.start_conversation(session, workspace_id=ws.id).conversation.id
        )
        # People resolved three of them: two needs the version never learned, one it knows.
        for conversation_id, intent in zip(
            started, ["gift_wrap", "student_discount", "track_order"], strict=False
        ):
            session.add(
                TrainingExample(
                    workspace_id=ws.id,
                    text=f"a need about {intent}",
                    intent=intent,
                    source="resolution",
                    conversation_id=conversation_id,
                )
            )

    def expected(unseen: int, seen: int) -> float:
        _, upper = wilson_bounds(np.array([unseen / seen]), np.array([float(seen)]), z_score(0.95))
        return min(DEFAULT_UNSEEN_SHARE, max(MIN_UNSEEN_SHARE, float(upper[0])))

    with_unseen = share()
    assert with_unseen == pytest.approx(expected(2, 20))
    assert MIN_UNSEEN_SHARE < with_unseen <= DEFAULT_UNSEEN_SHARE

    with transaction(factory, ws.id) as session:
        session.execute(
            delete(TrainingExample)
            .where(TrainingExample.intent != "track_order")
            .where(TrainingExample.conversation_id.is_not(None))
        )
    # Only needs it knows: the bound of 0 in 20 (with 300 conversations it reaches the floor).
    assert share() == pytest.approx(expected(0, 20)) and share() < with_unseen
    assert expected(0, 300) == MIN_UNSEEN_SHARE
