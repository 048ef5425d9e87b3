"""Resolve = label: a human's resolution teaches the AI an example, and maybe proposes an answer."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.events.models import Event
from tandem.jobs.worker import Worker
from tandem.knowledge.models import Answer, AnswerCandidate, TrainingExample
from tandem.knowledge.service import training_examples

from ..factories import MadeWorkspace, WidgetConversation, login, open_conversation

CONVERSATIONS = "/api/v1/conversations"


def _customer(
    client: TestClient, factory: sessionmaker[Session], ws: MadeWorkspace, *texts: str
) -> WidgetConversation:
    chat = open_conversation(client, ws.widget_key, name="Kim")
    for text in texts:
        posted = client.post(
            f"/api/v1/widget/conversations/{chat.id}/messages",
            headers=chat.headers,
            json={"text": text},
        )
        assert posted.status_code == 201, posted.text
        Worker(factory).drain()  # the real front line triages and decides
    return chat


def _agent_handles(
    client: TestClient, agent: dict[str, str], conversation_id: str, reply: str
) -> None:
    assert client.post(
        f"{CONVERSATIONS}/{conversation_id}/assign", headers=agent, json={}
    ).is_success
    sent = client.post(
        f"{CONVERSATIONS}/{conversation_id}/messages", headers=agent, json={"text": reply}
    )
    assert sent.status_code == 201, sent.text


def _examples(factory: sessionmaker[Session], conversation_id: str) -> list[TrainingExample]:
    with factory() as session:
        query = select(TrainingExample).where(TrainingExample.conversation_id == conversation_id)
        return list(session.scalars(query))


def _resolve(client: TestClient, agent: dict[str, str], conversation_id: str, **body: Any) -> Any:
    return client.post(
        f"{CONVERSATIONS}/{conversation_id}/status",
        headers=agent,
        json={"action": "resolve", **body},
    )


def test_a_confirmed_resolution_yields_exactly_one_example_and_a_skipped_one_none(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    chat = _customer(client, factory, shop, "Where is my order 12345? I want to talk to a person")
    agent = login(client, shop.agent_email)
    _agent_handles(client, agent, chat.id, "It left our warehouse today; tracking follows by mail.")
    label = client.get(f"{CONVERSATIONS}/{chat.id}/label", headers=agent).json()
    assert label["asked"] is True
    assert label["text"] == "Where is my order 12345? I want to talk to a person"
    assert label["intent"] == "order_status" and "order_status" in label["known_intents"]

    assert _resolve(client, agent, chat.id, intent="order_status").status_code == 200
    (example,) = _examples(factory, chat.id)
    assert (example.intent, example.source, example.pending) == (
        "order_status",
        "resolution",
        False,
    )
    assert example.text == label["text"] and example.confirmed_by is not None
    with transaction(factory, shop.id) as session:
        texts, intents = training_examples(session)
        assert (label["text"], "order_status") in set(zip(texts, intents, strict=True))
        # order_status has an approved answer already: nothing is proposed.
        assert session.scalars(select(AnswerCandidate)).all() == []

    # Reopened and resolved again with another intent: still one example, relabelled.
    client.post(f"{CONVERSATIONS}/{chat.id}/status", headers=agent, json={"action": "reopen"})
    assert _resolve(client, agent, chat.id, intent="shipping_times_costs").status_code == 200
    assert [e.intent for e in _examples(factory, chat.id)] == ["shipping_times_costs"]
    # Reopened and resolved without a label: skipping is recorded and teaches nothing.
    client.post(f"{CONVERSATIONS}/{chat.id}/status", headers=agent, json={"action": "reopen"})
    assert _resolve(client, agent, chat.id).status_code == 200
    assert _examples(factory, chat.id) == []
    with factory() as session:
        labels = [
            e.data.get("label")
            for e in session.scalars(
                select(Event)
                .where(Event.conversation_id == chat.id, Event.type == "conversation.resolve")
                .order_by(Event.id)
            )
        ]
    assert [(lab["intent"], lab["skipped"]) for lab in labels] == [
        ("order_status", False),
        ("shipping_times_costs", False),
        (None, True),
    ]
    assert labels[0]["suggested"] == "order_status"


def test_a_new_intent_and_the_agents_reply_wait_for_a_supervisor(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    question = "Do you gift wrap orders for birthdays?"
    reply = "Yes! Tick 'gift wrap' at checkout; it costs 3 euros and includes a card."
    chat = _customer(client, factory, shop, question, "a human please")
    agent = login(client, shop.agent_email)
    _agent_handles(client, agent, chat.id, reply)
    assert client.get(f"{CONVERSATIONS}/{chat.id}/label", headers=agent).json()["text"] == question
    assert _resolve(client, agent, chat.id, intent="gift_wrapping").status_code == 200
    (example,) = _examples(factory, chat.id)
    assert example.pending and example.intent == "gift_wrapping"
    with transaction(factory, shop.id) as session:
        assert "gift_wrapping" not in training_examples(session)[1]  # not trained on yet
        assert session.scalar(select(Answer).where(Answer.intent == "gift_wrapping")) is None

    # Agents cannot approve; a supervisor sees the intent with its example and proposed answer.
    assert client.get("/api/v1/learning/intents", headers=agent).status_code == 403
    client.cookies.clear()
    supervisor = login(client, shop.supervisor_email)
    (pending,) = client.get("/api/v1/learning/intents", headers=supervisor).json()
    assert pending["intent"] == "gift_wrapping"
    assert [e["text"] for e in pending["examples"]] == [question]
    assert pending["candidate"]["body"] == reply
    candidate_id = pending["candidate"]["id"]
    edited = "Yes: choose gift wrap at checkout (3 euros, card included)."
    approved = client.post(
        f"/api/v1/learning/answers/{candidate_id}/approve",
        headers=supervisor,
        json={"title": "Gift wrapping", "body": edited},
    )
    assert approved.status_code == 200, approved.text
    again = client.post(
        f"/api/v1/learning/answers/{candidate_id}/approve", headers=supervisor, json={}
    )
    assert again.status_code == 409
    assert client.get("/api/v1/learning/intents", headers=supervisor).json() == []
    with transaction(factory, shop.id) as session:
        answer = session.scalar(select(Answer).where(Answer.intent == "gift_wrapping"))
        assert answer is not None and (answer.title, answer.body) == ("Gift wrapping", edited)
        assert answer.ai_allowed
        assert (question, "gift_wrapping") in set(zip(*training_examples(session), strict=True))
        types = set(session.scalars(select(Event.type).where(Event.workspace_id == shop.id)))
    assert {"learning.intent_approved", "learning.answer_approved", "answer.created"} <= types


def test_label_mistakes_get_clear_errors(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    chat = _customer(client, factory, shop, "I need a person now")
    agent = login(client, shop.agent_email)
    wrong_action = client.post(
        f"{CONVERSATIONS}/{chat.id}/status",
        headers=agent,
        json={"action": "reopen", "intent": "order_status"},
    )
    assert wrong_action.status_code == 422 and "resolve" in wrong_action.json()["error"]["message"]
    bad_code = _resolve(client, agent, chat.id, intent="gift wrap!")
    assert bad_code.status_code == 422 and "intent code" in bad_code.json()["error"]["message"]
    client.cookies.clear()
    supervisor = login(client, shop.supervisor_email)
    missing = client.post("/api/v1/learning/answers/nope/approve", headers=supervisor, json={})
    assert missing.status_code == 404
    unknown = client.post("/api/v1/learning/intents/nothing_here/approve", headers=supervisor)
    assert unknown.status_code == 404 and "waiting" in unknown.json()["error"]["message"]
