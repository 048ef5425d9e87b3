"""Suggested replies, next actions and history, from real triage, knowledge and cases."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.conversations.state import Action
from tandem.copilot import service
from tandem.db.session import transaction
from tandem.knowledge.importers import Document, Section
from tandem.knowledge.service import import_documents, upsert_answer
from tandem.routing.models import Queue
from tandem.triage.embedders import get_embedder
from tandem.triage.pipeline import SIGNAL_EMBEDDER

from .conftest import Desk

TORN = "The jacket I ordered arrived with a torn sleeve."
TORN_REPLY = (
    "I'm so sorry! I've emailed you a prepaid return label, and a replacement jacket ships "
    "as soon as the carrier scans your parcel."
)
TRACKING_URL = "https://help.example/tracking"


def suggest(desk: Desk, conversation_id: str, limit: int = 3) -> list[service.Suggestion]:
    with transaction(desk.factory, desk.ws.id) as session:
        conversation = conversations.get_conversation(session, conversation_id)
        return service.suggestions(session, conversation, limit=limit)


def actions(desk: Desk, conversation_id: str) -> list[service.NextAction]:
    with transaction(desk.factory, desk.ws.id) as session:
        conversation = conversations.get_conversation(session, conversation_id)
        return service.next_actions(session, conversation)


def add_tracking_article(factory: sessionmaker[Session], workspace_id: str) -> None:
    document = Document(
        title="Tracking your parcel",
        source=TRACKING_URL,
        sections=[
            Section(
                "Where is my parcel?",
                "Every shipped order gets a tracking link by email. Scans can take 24 hours to "
                "appear. If tracking has not moved for 7 business days, contact us.",
            )
        ],
        intent="order_status",
    )
    with transaction(factory, workspace_id) as session:
        import_documents(
            session,
            workspace_id=workspace_id,
            documents=[document],
            embedder=get_embedder(SIGNAL_EMBEDDER),
        )


def test_suggestions_combine_approved_answer_and_similar_resolved_case(shop: Desk) -> None:
    earlier = shop.start(email="lee@example.com")
    shop.resolved_case(earlier, TORN, TORN_REPLY)
    current = shop.start()
    shop.customer(current, "My new jacket came torn at the sleeve, what can you do?")

    found = suggest(shop, current)
    kinds = {s.source_kind: s for s in found}
    assert set(kinds) == {"approved_answer", "resolved_case"}
    case = kinds["resolved_case"]
    assert case.text == TORN_REPLY
    assert case.source_ref == earlier
    assert case.source_title == TORN
    answer = kinds["approved_answer"]
    assert answer.source_ref == "damaged_or_wrong_item"
    assert all(0.0 <= s.score <= 1.0 for s in found)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert case.score >= service.CASE_MIN_SCORE


def test_a_conversation_is_never_suggested_its_own_case(shop: Desk) -> None:
    earlier = shop.start()
    shop.resolved_case(earlier, TORN, TORN_REPLY)
    assert all(s.source_ref != earlier for s in suggest(shop, earlier))


def test_articles_are_retrieved_for_the_latest_customer_message(shop: Desk) -> None:
    add_tracking_article(shop.factory, shop.ws.id)
    conversation_id = shop.start()
    shop.customer(conversation_id, "Hello, the tracking link for my parcel shows nothing yet")
    articles = [s for s in suggest(shop, conversation_id, limit=5) if s.source_kind == "article"]
    assert articles, "the tracking article should be suggested"
    assert articles[0].source_ref == TRACKING_URL
    assert articles[0].source_title == "Tracking your parcel"
    assert "tracking link" in articles[0].text


def test_near_identical_answers_are_suggested_once(shop: Desk) -> None:
    for n, question in enumerate(
        [TORN, "My jacket came with a hole in the sleeve", "The sleeve of my jacket is ripped"]
    ):
        conversation_id = shop.start(email=f"c{n}@example.com")
        shop.resolved_case(conversation_id, question, TORN_REPLY + ("" if n else " "))
    current = shop.start()
    shop.customer(current, "Jacket arrived ripped on the sleeve")
    found = suggest(shop, current, limit=5)
    assert [s.text.strip() for s in found].count(TORN_REPLY) == 1


def test_no_customer_message_means_no_suggestions(shop: Desk) -> None:
    assert suggest(shop, shop.start()) == []


def test_another_workspaces_cases_and_answers_are_never_suggested(shop: Desk, bare: Desk) -> None:
    secret = "OTHER WORKSPACE: we courier a new jacket the same day, no return needed."
    with transaction(bare.factory, bare.ws.id) as session:
        upsert_answer(
            session,
            workspace_id=bare.ws.id,
            intent="damaged_or_wrong_item",
            title="Damaged",
            body=secret,
        )
    add_tracking_article(bare.factory, bare.ws.id)
    theirs = bare.start()
    bare.resolved_case(theirs, TORN, secret)

    current = shop.start()
    shop.customer(current, TORN)
    found = suggest(shop, current, limit=10)
    assert found
    assert all(secret not in s.text for s in found)
    assert all(s.source_ref not in (theirs, TRACKING_URL) for s in found)

    # And the other way round: their desk sees its own case, never the shop's answers.
    ours = shop.start(email="lee@example.com")
    shop.resolved_case(ours, TORN, TORN_REPLY)
    their_current = bare.start()
    bare.customer(their_current, TORN)
    seen = suggest(bare, their_current, limit=10)
    assert [s.source_ref for s in seen if s.source_kind == "resolved_case"] == [theirs]
    assert all(TORN_REPLY not in s.text for s in seen)


def test_next_actions_for_an_order_question_a_human_took(shop: Desk) -> None:
    add_tracking_article(shop.factory, shop.ws.id)
    with transaction(shop.factory, shop.ws.id) as session:
        session.add(Queue(workspace_id=shop.ws.id, name="Logistics", intents=["order_status"]))
        session.add(Queue(workspace_id=shop.ws.id, name="Billing", intents=["refund_timing"]))
    conversation_id = shop.start()
    shop.customer(conversation_id, "Where is my order? I haven't received it yet")
    shop.act(conversation_id, Action.ASSIGN)  # conftest: an agent claims it from the AI
    found = actions(shop, conversation_id)
    by_kind = {a.kind: a for a in found}
    assert by_kind["ask_info"].target == "order_number"
    assert by_kind["ask_info"].label == "Ask for the order number"
    assert by_kind["article"].target == TRACKING_URL
    assert by_kind["queue"].label == "Escalate to Logistics"
    assert [a.label for a in found if a.kind == "queue"] == ["Escalate to Logistics"]
    assert by_kind["hand_back"].target == "order_status"
    assert "resolve" not in by_kind

    shop.customer(conversation_id, "It's order NW-482913")
    shop.agent(conversation_id, "It left our warehouse today; the tracking link is in your email.")
    after = {a.kind for a in actions(shop, conversation_id)}
    assert "ask_info" not in after
    assert "resolve" in after


def test_no_hand_back_once_the_customer_asked_for_a_person(shop: Desk) -> None:
    conversation_id = shop.start()
    shop.customer(conversation_id, "I want to talk to a real person please")
    shop.customer(conversation_id, "Where is my order? I haven't received it yet")
    assert "hand_back" not in {a.kind for a in actions(shop, conversation_id)}
    shop.agent(conversation_id, "Happy to help - it shipped yesterday and arrives on Friday.")
    shop.customer(conversation_id, "Thanks, great!")
    assert "resolve" in {a.kind for a in actions(shop, conversation_id)}
    shop.act(conversation_id, Action.RESOLVE)
    assert actions(shop, conversation_id) == []


def test_customer_history_lists_their_other_conversations(shop: Desk) -> None:
    first = shop.start()
    shop.resolved_case(first, TORN, TORN_REPLY)
    second = shop.start()
    shop.customer(second, "Do you ship to Canada?\nAnd how long does it take?")
    stranger = shop.start(email="someone-else@example.com")
    shop.customer(stranger, "Hello")
    current = shop.start()
    with transaction(shop.factory, shop.ws.id) as session:
        conversation = conversations.get_conversation(session, current)
        history = conversations.customer_history(session, conversation)
        assert [h.id for h in history] == [second, first]
        assert history[0].subject == "Do you ship to Canada?"
        assert history[0].resolved_at is None
        assert history[1].status == "resolved" and history[1].resolved_at is not None
        assert history[1].subject == TORN
        newest = conversations.customer_history(session, conversation, limit=1)
        assert [h.id for h in newest] == [second]
