"""The packet's need and intent: the stated need in words, an intent only above the bar."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations import service as conversations
from tandem.conversations.service import Author
from tandem.db.session import transaction
from tandem.handoff.service import (
    MIN_INTENT_CONFIDENCE,
    escalate,
    find_need,
    intent_bar,
    shown_intent,
)
from tandem.routing import service as routing
from tandem.triage.models import ModelVersion

from ..factories import make_workspace

FRUSTRATED = "This is ridiculous, third time I'm asking, nobody helps!!!"
MODEL_THRESHOLD = 0.87


def triage(intent: str, confidence: float, **extra: Any) -> dict[str, Any]:
    return {"triage": {"intent": intent, "confidence": confidence, "model_version": 1, **extra}}


def with_messages(
    session: Session, workspace_id: str, turns: list[tuple[str, dict[str, Any] | None]]
) -> conversations.Conversation:
    session.add(
        ModelVersion(
            workspace_id=workspace_id,
            version=1,
            artifact=b"",
            status="active",
            description={"threshold": MODEL_THRESHOLD},
        )
    )
    conversation = conversations.start_conversation(session, workspace_id=workspace_id).conversation
    for text, meta in turns:
        conversations.post_message(
            session, conversation, author=Author.CUSTOMER, text=text, max_chars=10_000, meta=meta
        )
    session.flush()
    return conversation


def need_of(factory: sessionmaker[Session], turns: list[tuple[str, dict[str, Any] | None]]):  # type: ignore[no-untyped-def]
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = with_messages(session, ws.id, turns)
        return find_need(
            session, conversation, conversations.list_messages(session, conversation.id)
        )


def test_a_frustrated_follow_up_is_not_the_need_nor_a_legal_complaint(
    factory: sessionmaker[Session],
) -> None:
    need = need_of(
        factory,
        [
            ("Where is my order NW-123456?", triage("order_status", 0.97)),
            # The classifier's nearest guess for anger is the legal intent: it must not show.
            (FRUSTRATED, triage("legal_complaint", 0.48, frustration=0.99)),
        ],
    )
    assert need.text == "Where is my order NW-123456?"
    assert (need.intent, need.confidence) == ("order_status", 0.97)
    assert need.min_confidence == MODEL_THRESHOLD


def test_venting_alone_gives_no_need_and_no_intent(factory: sessionmaker[Session]) -> None:
    need = need_of(
        factory,
        [
            ("hi", triage("contact_support_hours", 0.95)),
            (FRUSTRATED, triage("legal_complaint", 0.9)),
        ],
    )
    assert (need.text, need.intent, need.confidence) == (None, None, None)


def test_below_the_models_threshold_the_need_has_words_but_no_label(
    factory: sessionmaker[Session],
) -> None:
    need = need_of(factory, [("My jacket arrived with a hole in it", triage("damaged", 0.8))])
    assert need.text == "My jacket arrived with a hole in it"
    assert (need.intent, need.confidence) == (None, None)


def test_out_of_scope_guesses_are_never_shown(factory: sessionmaker[Session]) -> None:
    need = need_of(
        factory, [("What will the weather be tomorrow?", triage("oos", 0.99, out_of_scope=True))]
    )
    assert need.text == "What will the weather be tomorrow?" and need.intent is None


def test_the_bar_is_the_models_threshold_but_never_below_the_floor(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        for version, threshold in ((1, 0.9), (2, 0.2), (3, None)):
            session.add(
                ModelVersion(
                    workspace_id=ws.id,
                    version=version,
                    artifact=b"",
                    description={"threshold": threshold},
                )
            )
        session.flush()
        assert intent_bar(session, ws.id, 1) == 0.9
        assert intent_bar(session, ws.id, 2) == MIN_INTENT_CONFIDENCE
        assert intent_bar(session, ws.id, 3) == MIN_INTENT_CONFIDENCE  # no threshold found
        assert intent_bar(session, ws.id, None) == MIN_INTENT_CONFIDENCE
        assert intent_bar(session, ws.id, 99) == MIN_INTENT_CONFIDENCE


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ({"intent": "order_status", "confidence": 0.9, "intent_min_confidence": 0.87}, True),
        ({"intent": "order_status", "confidence": 0.8, "intent_min_confidence": 0.87}, False),
        # Packets stored before the bar was recorded use the floor.
        ({"intent": "legal_complaint", "confidence": 0.48}, False),
        ({"intent": "order_status", "confidence": 0.7}, True),
        ({"intent": "order_status", "confidence": None}, False),
        ({"intent": None, "confidence": 0.99}, False),
    ],
)
def test_shown_intent_needs_a_confidence_above_the_bar(data: dict[str, Any], shown: bool) -> None:
    assert (shown_intent(data) is not None) is shown


def test_the_packet_states_the_need_and_routes_on_the_shown_intent_only(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        routing.ensure_default_setup(session, ws.id)
        legal = routing.create_queue(
            session, workspace_id=ws.id, name="Legal", intents=["legal_complaint"]
        )
        conversation = with_messages(
            session,
            ws.id,
            [("hi", None), (FRUSTRATED, triage("legal_complaint", 0.6, frustration=0.99))],
        )
        # The front line passes its guess for the newest message; it is venting, so no intent.
        packet = escalate(
            session,
            conversation,
            trigger="ai",
            reasons=["frustration", "low_confidence"],
            intent="legal_complaint",
            confidence=0.6,
        )
        data = packet.data
        assert data["need"] is None and data["intent"] is None and data["confidence"] is None
        assert data["queue_name"] == "General" and conversation.queue_id != legal.id
        assert "ridiculous" not in data["summary"]
        assert data["last_customer_message"] == FRUSTRATED  # still there, verbatim
        assert "legal" not in str(conversations.list_messages(session, conversation.id)[-1].meta)


def test_the_callers_intent_counts_for_a_newest_message_not_yet_triaged(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        conversation = with_messages(session, ws.id, [("Can I change my delivery address?", None)])
        messages = conversations.list_messages(session, conversation.id)
        need = find_need(
            session, conversation, messages, intent="change_shipping_address", confidence=0.93
        )
        assert need.text == "Can I change my delivery address?"
        assert (need.intent, need.confidence) == ("change_shipping_address", 0.93)
        low = find_need(session, conversation, messages, intent="legal_complaint", confidence=0.4)
        assert low.intent is None
