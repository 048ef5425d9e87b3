"""The queue's headline and the triage badges: pure functions over stored values."""

from __future__ import annotations

from tandem.conversations.models import Conversation
from tandem.web.presenters import NO_MESSAGE, customer_badges, queue_headline


def headline(packet: dict[str, object] | None, texts: list[str], subject: str | None = None) -> str:
    return queue_headline(Conversation(subject=subject), packet, texts)


def test_the_packets_need_comes_first() -> None:
    packet = {"need": "Where is my order NW-1?", "summary": "Customer: hi."}
    assert headline(packet, ["hi", "Where is my order NW-1?"]) == "Where is my order NW-1?"


def test_without_a_packet_the_need_is_read_from_the_messages() -> None:
    assert headline(None, ["hi", "My parcel never arrived", "hello?? anyone there?"]) == (
        "My parcel never arrived"
    )


def test_a_subject_beats_guessing_and_a_summary_beats_the_last_message() -> None:
    assert headline(None, ["hi"], subject="Invoice for March") == "Invoice for March"
    packet = {"need": None, "summary": "AI: Returns are free within 30 days.\nNow: ..."}
    assert headline(packet, ["I need a person"]) == "AI: Returns are free within 30 days."


def test_with_nothing_stated_the_latest_message_or_a_placeholder() -> None:
    assert headline(None, ["hi", "I need a person"]) == "I need a person"
    assert headline(None, []) == NO_MESSAGE


def test_intent_badges_need_confidence_above_the_bar() -> None:
    low = {"triage": {"intent": "legal_complaint", "confidence": 0.48}}
    high = {"triage": {"intent": "order_status", "confidence": 0.97}}
    out_of_scope = {"triage": {"intent": "oos", "confidence": 0.99, "out_of_scope": True}}
    assert not [b for b in customer_badges(low) if b[0] == "intent"]
    assert ("intent", "order_status 97%") in customer_badges(high)
    assert not [b for b in customer_badges(high, intent_bar=0.98) if b[0] == "intent"]
    assert not [b for b in customer_badges(out_of_scope) if b[0] == "intent"]
