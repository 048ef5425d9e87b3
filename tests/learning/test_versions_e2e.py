"""Model versions seen from the widget: rollback takes effect on the next message, and a
retraining run never stops the active version from answering."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.models import Message
from tandem.db.session import transaction
from tandem.jobs import service as jobs
from tandem.jobs.worker import Worker
from tandem.triage import service as triage_service
from tandem.triage.intent import IntentModel
from tandem.triage.models import TrainingRun

from ..factories import MadeWorkspace, login, open_conversation
from ..triage.training_data import EXAMPLES, run_training_jobs

QUESTION = "How long does delivery take to Germany?"
INTENT = "shipping_times_costs"


def _ask(client: TestClient, factory: sessionmaker[Session], ws: MadeWorkspace) -> dict[str, Any]:
    """Ask as a new customer through the widget API; return the triage of that message."""
    chat = open_conversation(client, ws.widget_key, name="Kim")
    posted = client.post(
        f"/api/v1/widget/conversations/{chat.id}/messages",
        headers=chat.headers,
        json={"text": QUESTION},
    )
    assert posted.status_code == 201, posted.text
    Worker(factory, lanes=[jobs.DEFAULT_LANE], periodic=[]).drain()
    with factory() as session:
        messages = session.scalars(
            select(Message).where(Message.conversation_id == chat.id).order_by(Message.seq)
        ).all()
    triage = dict(messages[0].meta["triage"])
    triage["ai_answered"] = any(m.author == "ai" for m in messages)
    return triage


def test_rolling_back_restores_the_previous_versions_answers_for_the_next_message(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    before = _ask(client, factory, shop)
    assert (before["model_version"], before["intent"], before["ai_answered"]) == (
        1,
        INTENT,
        True,
    )
    # A version that knows other intents only (trained on another shop's examples) goes live.
    other = IntentModel.train(
        [t for ts in EXAMPLES.values() for t in ts],
        [i for i, ts in EXAMPLES.items() for _ in ts],
    )
    with transaction(factory, shop.id) as session:
        triage_service.store_model(session, workspace_id=shop.id, model=other, activate=True)
    during = _ask(client, factory, shop)
    assert during["model_version"] == 2 and during["intent"] != INTENT
    assert not during["ai_answered"]  # none of its intents has an approved answer here
    supervisor = login(client, shop.supervisor_email)
    back = client.post("/api/v1/ai/models/1/activate", headers=supervisor, json={"reason": "bad"})
    assert back.status_code == 200
    after = _ask(client, factory, shop)
    assert (after["model_version"], after["intent"], after["ai_answered"]) == (
        1,
        INTENT,
        True,
    )


def test_the_widget_is_answered_by_the_active_version_while_a_candidate_trains(
    client: TestClient,
    factory: sessionmaker[Session],
    shop: MadeWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    training, release = threading.Event(), threading.Event()
    real_fit = triage_service.fit_intent_model

    def fit_while_the_test_talks(*args: Any, **kwargs: Any) -> IntentModel:
        training.set()  # the run is past its first transaction and fitting now
        assert release.wait(120)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(triage_service, "fit_intent_model", fit_while_the_test_talks)
    supervisor = login(client, shop.supervisor_email)
    assert client.post("/api/v1/ai/train", headers=supervisor).status_code == 202
    trainer = threading.Thread(target=run_training_jobs, args=(factory,))
    trainer.start()
    try:
        assert training.wait(60)
        with factory() as session:
            (run,) = session.scalars(select(TrainingRun).where(TrainingRun.workspace_id == shop.id))
            assert run.status == "running"
        answered = _ask(client, factory, shop)  # would deadlock or time out if training held locks
        assert (answered["model_version"], answered["ai_answered"]) == (1, True)
    finally:
        release.set()
        trainer.join(300)
    assert not trainer.is_alive()
    with factory() as session:
        (run,) = session.scalars(select(TrainingRun).where(TrainingRun.workspace_id == shop.id))
        assert run.status == "succeeded" and run.model_version == 2
