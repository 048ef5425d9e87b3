"""The front line's replies that are not answers: small talk, scope, persona and language."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified

from tandem.conversations.models import Message
from tandem.db.session import transaction
from tandem.events.models import Event
from tandem.knowledge.service import upsert_answer
from tandem.workspaces.ai_settings import DEFAULT_NOTICES
from tandem.workspaces.models import Workspace

from ..factories import MadeWorkspace, open_conversation
from .test_front_line_flow import say

RETURNS_ES = {
    "title": "¿Cuánto tiempo tengo para devolver algo?",
    "body": "Tienes 30 días desde la entrega para devolver cualquier artículo sin usar.",
}


def configure(factory: sessionmaker[Session], shop: MadeWorkspace, **settings: Any) -> None:
    with transaction(factory, shop.id) as session:
        workspace = session.get(Workspace, shop.id)
        assert workspace is not None
        workspace.settings = {**(workspace.settings or {}), **settings}
        flag_modified(workspace, "settings")


def translate_returns(factory: sessionmaker[Session], shop: MadeWorkspace) -> None:
    from tandem.demo.seed import load_demo_content

    entry = next(e for e in load_demo_content()["faqs"] if e["intent"] == "return_policy")
    with transaction(factory, shop.id) as session:
        upsert_answer(
            session,
            workspace_id=shop.id,
            intent="return_policy",
            title=entry["title"],
            body=entry["answer"],
            translations={"es": RETURNS_ES},
        )


def ai_meta(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with factory() as session:
        rows = session.scalars(select(Message).order_by(Message.seq)).all()
        return [dict(m.meta) for m in rows if m.author == "ai"]


def customer_decisions(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with factory() as session:
        rows = session.scalars(select(Message).order_by(Message.seq)).all()
        return [m.meta["decision"] for m in rows if m.author == "customer" and "decision" in m.meta]


def handoffs(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return len(
            session.scalars(select(Event).where(Event.type == "conversation.escalate")).all()
        )


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("hi", "greeting", "How can I help"),
        ("hello?", "greeting", "How can I help"),
        ("thanks!", "thanks", "You're welcome"),
        ("bye", "goodbye", "Goodbye"),
    ],
)
def test_small_talk_gets_small_talk_back_with_the_notice(
    client: TestClient,
    factory: sessionmaker[Session],
    shop: MadeWorkspace,
    text: str,
    kind: str,
    expected: str,
) -> None:
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, text)
    assert state["status"] == "ai"
    reply = state["messages"][-1]
    assert reply["author"] == "ai" and expected in reply["text"]
    assert reply["text"].count("an AI assistant") == 1
    assert f"I'm the {shop.name} assistant" in reply["text"]  # the default persona: the store's
    decision = customer_decisions(factory)[-1]
    assert decision["action"] == "reply"
    assert decision["reasons"] == [f"small_talk_{kind}"]
    assert ai_meta(factory)[-1]["action"] == "reply"
    assert handoffs(factory) == 0


def test_a_greeting_with_a_need_is_answered_not_greeted(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, "hi, how long do I have to return something?")
    decision = customer_decisions(factory)[-1]
    assert not any(r.startswith("small_talk") for r in decision["reasons"])
    assert "How can I help you today" not in state["messages"][-1]["text"]


def test_off_topic_gets_a_scope_reply_then_a_second_miss_escalates(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, "What's the weather going to be like on Mars next week?")
    assert state["status"] == "ai"
    reply = state["messages"][-1]
    assert reply["author"] == "ai"
    assert "outside what I can help with" in reply["text"]
    assert 'say "talk to a human"' in reply["text"]
    assert "questions such as:" in reply["text"]  # names a few of the store's answers
    assert reply["text"].count("an AI assistant") == 1
    decision = customer_decisions(factory)[-1]
    assert decision["action"] == "reply" and decision["reasons"][0] == "off_topic"
    assert handoffs(factory) == 0
    # A second miss in a row goes to a person: the customer is not left in a loop.
    state = say(client, factory, conv, "who won the football world cup in 1998?")
    assert state["status"] == "waiting_for_human"
    decision = customer_decisions(factory)[-1]
    assert decision["action"] == "escalate" and "repeated_miss" in decision["reasons"]
    assert handoffs(factory) == 1


def test_a_card_number_is_for_a_person_not_a_scope_reply(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conv = open_conversation(client, shop.widget_key)
    # Without the card number this reads as off-topic abuse; with it, it is a payment matter.
    state = say(client, factory, conv, "my card is 4111 1111 1111 1111 you idiots")
    assert state["status"] == "waiting_for_human"
    decision = customer_decisions(factory)[-1]
    assert decision["action"] == "escalate" and "off_topic" not in decision["reasons"]
    assert handoffs(factory) == 1
    texts = [m["text"] for m in state["messages"]]
    assert not any("4111 1111 1111 1111" in t for t in texts)
    assert "outside what I can help with" not in texts[-1]


def test_a_store_question_the_model_is_unsure_about_goes_to_a_person(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, "Can I pay for my jacket in three instalments?")
    assert state["status"] == "waiting_for_human"
    assert customer_decisions(factory)[-1]["action"] == "escalate"


def test_after_a_scope_reply_talk_to_a_human_escalates(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conv = open_conversation(client, shop.widget_key)
    assert say(client, factory, conv, "how do volcanoes form")["status"] == "ai"
    state = say(client, factory, conv, "talk to a human")
    assert state["status"] == "waiting_for_human"
    assert "human_requested" in customer_decisions(factory)[-1]["reasons"]


def test_notice_uses_the_workspace_assistant_name_once_per_message(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    configure(factory, shop, assistant_name="Nora")
    conv = open_conversation(client, shop.widget_key)
    say(client, factory, conv, "hello")
    state = say(client, factory, conv, "How long do I have to return something?")
    ai = [m["text"] for m in state["messages"] if m["author"] == "ai"]
    assert len(ai) == 2
    for text in ai:
        assert text.count("I'm Nora, an AI assistant.") == 1
        assert "Tandem" not in text


def test_answer_uses_the_translation_in_the_customers_language(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    configure(factory, shop, languages=["en", "es"])
    translate_returns(factory, shop)
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, "¿Cuál es el plazo para devolver un artículo?")
    reply = state["messages"][-1]
    assert reply["author"] == "ai", customer_decisions(factory)
    assert reply["text"].startswith(RETURNS_ES["body"])
    assert f"Fuente: {RETURNS_ES['title']}" in reply["text"]
    assert reply["text"].count("un asistente de IA") == 1
    assert "AI assistant" not in reply["text"]  # one language per reply
    assert ai_meta(factory)[-1]["language"] == "es"


def test_no_translation_escalates_by_default(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    configure(factory, shop, languages=["en", "es"])
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, "¿Cuál es el plazo para devolver un artículo?")
    assert state["status"] == "waiting_for_human"
    decision = customer_decisions(factory)[-1]
    assert decision["reasons"] == ["no_translation"], decision
    with factory() as session:
        event = session.scalars(select(Event).where(Event.type == "conversation.escalate")).one()
        assert event.data["reasons"] == ["no_translation"]


def test_no_translation_answers_in_the_default_language_when_configured(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    configure(factory, shop, languages=["en", "es"], language_fallback="default_language")
    conv = open_conversation(client, shop.widget_key)
    state = say(client, factory, conv, "¿Cuál es el plazo para devolver un artículo?")
    assert state["status"] == "ai"
    reply = state["messages"][-1]["text"]
    assert reply.startswith("This answer is only available in English.")
    assert reply.count("an AI assistant") == 1
    assert "asistente" not in reply  # the whole reply is in the default language
    assert customer_decisions(factory)[-1]["answer_language"] == "en"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("hola", "es", "¿En qué puedo ayudarte hoy?"),
        ("danke schön", "de", "Gern geschehen"),
        ("bonjour", "fr", "Comment puis-je vous aider"),
    ],
)
def test_small_talk_is_answered_in_the_customers_language(
    client: TestClient,
    factory: sessionmaker[Session],
    shop: MadeWorkspace,
    text: str,
    language: str,
    expected: str,
) -> None:
    configure(factory, shop, languages=["en", "es", "de", "fr"])
    conv = open_conversation(client, shop.widget_key)
    reply = say(client, factory, conv, text)["messages"][-1]
    assert expected in reply["text"]
    assert reply["text"].count(DEFAULT_NOTICES[language].split("{name}")[0]) == 1
    assert ai_meta(factory)[-1]["language"] == language


def test_small_talk_in_a_language_the_workspace_does_not_serve_uses_the_default(
    client: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conv = open_conversation(client, shop.widget_key)  # languages: en only
    reply = say(client, factory, conv, "hola")["messages"][-1]
    assert "How can I help you today?" in reply["text"]
    assert ai_meta(factory)[-1]["language"] == "en"
