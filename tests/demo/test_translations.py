"""The demo store answers in the languages it says it supports: es, de and fr beside en."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import scope_session, transaction
from tandem.demo.knowledge import faq_entries
from tandem.demo.seed import load_demo_content, seed_demo
from tandem.knowledge.models import Answer
from tandem.triage.decision import Action
from tandem.triage.flows import plan_reply
from tandem.triage.intent import IntentModel
from tandem.triage.service import store_model
from tandem.workspaces.ai_settings import workspace_ai_settings
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import get_workspace_by_name

TRANSLATED = ("es", "de", "fr")
# Words an English sentence can hardly do without, and no es/de/fr reply should contain.
ENGLISH_WORDS = {"the", "you", "your", "and", "we", "our", "is", "it", "to", "of", "within"}
LINK_OR_EMAIL = re.compile(r"https?://[\w./-]*\w|[\w.+-]+@[\w.-]*\w")


def english_words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+", LINK_OR_EMAIL.sub(" ", text).lower())) & ENGLISH_WORDS


def seeded_answers(factory: sessionmaker[Session]) -> dict[str, Answer]:
    with factory() as session:
        workspace = get_workspace_by_name(session, "demo")
        scope_session(session, workspace.id)
        return {a.intent: a for a in session.scalars(select(Answer))}


def snapshot(factory: sessionmaker[Session]) -> dict[str, tuple[Any, ...]]:
    return {
        i: (a.id, a.title, a.body, a.ai_allowed, a.translations, a.updated_at)
        for i, a in seeded_answers(factory).items()
    }


def test_every_faq_in_the_file_is_translated_faithfully() -> None:
    content = load_demo_content()
    assert set(TRANSLATED) < set(content["store"]["languages"])
    for entry in faq_entries(content):
        translations = entry["translations"]
        assert set(translations) == set(TRANSLATED), entry["intent"]
        links = sorted(LINK_OR_EMAIL.findall(entry["answer"]))
        numbers = sorted(re.findall(r"NW-\d+|[$€]?\d+(?:[.:–]\d+)*", entry["answer"]))
        for lang, translation in translations.items():
            where = f"{entry['intent']} ({lang})"
            assert translation["title"].strip() and translation["body"].strip(), where
            assert translation["title"] != entry["title"], where
            assert sorted(LINK_OR_EMAIL.findall(translation["body"])) == links, where
            found = sorted(re.findall(r"NW-\d+|[$€]?\d+(?:[.:–]\d+)*", translation["body"]))
            assert found == numbers, where
            assert not english_words(translation["body"]), (
                where,
                english_words(translation["body"]),
            )


def test_the_seeded_demo_has_every_answer_in_es_de_and_fr(
    factory: sessionmaker[Session],
) -> None:
    with transaction(factory) as session:
        assert seed_demo(session, train=False).created
    answers = seeded_answers(factory)
    entries = {e["intent"]: e for e in faq_entries(load_demo_content())}
    assert set(answers) == set(entries)
    assert any(a.ai_allowed for a in answers.values())
    for intent, answer in answers.items():
        # Every AI-allowed answer (and the human-only guidance too) in each language.
        assert set(answer.translations) == set(TRANSLATED), intent
        for lang in TRANSLATED:
            expected = entries[intent]["translations"][lang]
            assert answer.translations[lang] == {
                "title": expected["title"].strip(),
                "body": expected["body"].strip(),
            }, (intent, lang)


def test_seeding_an_existing_demo_again_changes_nothing(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        first = seed_demo(session, train=False)
    before = {
        i: (a.id, a.body, a.translations, a.updated_at) for i, a in seeded_answers(factory).items()
    }
    with transaction(factory) as session:
        again = seed_demo(session, train=False)
    assert first.created and not again.created
    assert again.widget_key == first.widget_key
    after = {
        i: (a.id, a.body, a.translations, a.updated_at) for i, a in seeded_answers(factory).items()
    }
    assert after == before


@pytest.fixture
def demo_desk(factory: sessionmaker[Session], demo_model: IntentModel) -> str:
    """Seed the demo workspace and give it the session's trained demo model; return its id."""
    with transaction(factory) as session:
        seed_demo(session, train=False)
        workspace = get_workspace_by_name(session, "demo")
        scope_session(session, workspace.id)
        store_model(session, workspace_id=workspace.id, model=demo_model, activate=True)
        return workspace.id


def plan(factory: sessionmaker[Session], workspace_id: str, text: str, hint: str | None) -> Any:
    with factory() as session:
        scope_session(session, workspace_id)
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        persona = workspace_ai_settings(workspace)
        return plan_reply(session, workspace, text, language_hint=hint), persona


@pytest.mark.parametrize(
    ("text", "lang", "hint"),
    [
        ("¿Cuánto tarda el reembolso después de devolver un pedido?", "es", None),
        # Too short to be sure of its language alone, so in a conversation already in Spanish.
        ("¿Cuánto tarda el reembolso?", "es", "es"),
        ("Wann bekomme ich meine Erstattung? Die Rücksendung ist schon unterwegs.", "de", None),
        ("Quand vais-je recevoir mon remboursement ? J'ai déjà renvoyé le colis.", "fr", None),
    ],
)
def test_a_question_in_another_language_gets_the_answer_in_that_language(
    factory: sessionmaker[Session], demo_desk: str, text: str, lang: str, hint: str | None
) -> None:
    entry = next(e for e in load_demo_content()["faqs"] if e["intent"] == "refund_timing")
    translation = entry["translations"][lang]
    result, persona = plan(factory, demo_desk, text, hint)
    assert result.decision.action is Action.ANSWER, result.decision.as_dict()
    assert result.decision.intent == "refund_timing"
    assert result.reply is not None
    reply = result.reply.text
    assert result.reply.language == lang
    assert reply.startswith(translation["body"])
    assert translation["title"] in reply
    assert reply.rstrip().endswith(persona.notice(lang))
    # Not one English sentence: neither the English answer's nor the English notice's.
    for sentence in re.split(r"(?<=[.?!])\s+", f"{entry['answer']} {persona.notice('en')}"):
        assert sentence.strip() not in reply
    assert not english_words(reply), english_words(reply)


def test_a_short_spanish_first_message_gets_the_spanish_answer(
    factory: sessionmaker[Session], demo_desk: str
) -> None:
    result, _ = plan(factory, demo_desk, "¿Cuánto tarda el reembolso?", None)
    assert result.decision.intent == "refund_timing"
    assert result.reply is not None and result.reply.language == "es"


def test_the_demo_answers_how_to_cancel_but_a_dispute_still_goes_to_a_person(
    factory: sessionmaker[Session], demo_desk: str
) -> None:
    # The store has an FAQ for cancelling an order; a cancellation how-to is not a sensitive topic.
    result, _ = plan(factory, demo_desk, "How can I cancel an order I placed this morning?", None)
    assert result.decision.intent == "cancel_order_howto"
    assert result.decision.action.value == "answer", result.decision.as_dict()
    disputed = "You charged me twice and refused my refund, I'm disputing it with my bank"
    result, _ = plan(factory, demo_desk, disputed, None)
    assert result.decision.action.value == "escalate"
    assert "sensitive_topic" in result.decision.as_dict()["reasons"]
