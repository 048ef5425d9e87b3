"""Which message states the customer's need (shared by handoff and co-pilot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tandem.triage.need import latest_need, latest_need_triage, latest_question_triage, states_need


@dataclass
class Msg:
    author: str
    meta: dict[str, Any] = field(default_factory=dict)


def triaged(
    intent: str | None, *, human: float = 0.0, oos: bool = False, off_topic: bool = False
) -> Msg:
    triage = {"intent": intent, "human_request": human, "out_of_scope": oos, "off_topic": off_topic}
    return Msg("customer", {"triage": triage})


def test_a_request_for_a_person_is_not_the_need() -> None:
    need = triaged("shipping_times_costs")
    messages = [need, Msg("ai"), triaged("contact_support_hours", human=0.93)]
    assert latest_need(messages) is need
    assert latest_need_triage(messages)["intent"] == "shipping_times_costs"


def test_untriaged_out_of_scope_and_non_customer_messages_are_skipped() -> None:
    need = triaged("return_policy")
    messages = [need, triaged("weather", oos=True), Msg("customer"), Msg("agent", need.meta)]
    assert latest_need(messages) is need


def test_no_stated_need_gives_nothing() -> None:
    assert latest_need([triaged("contact_support_hours", human=0.9)]) is None
    assert latest_need_triage([]) == {}
    assert not states_need(None) and not states_need({"intent": None})


def test_an_untaught_store_question_names_its_nearest_intent_for_the_co_pilot() -> None:
    untaught = triaged("gift_cards", oos=True)  # "do you gift wrap?": no intent covers it
    off_topic = triaged("contact_support_hours", oos=True, off_topic=True)
    asked_for_person = triaged("contact_support_hours", oos=True, human=0.9)
    messages = [untaught, Msg("ai"), off_topic, asked_for_person]
    assert latest_need(messages) is None  # not a stated in-scope need (handoff, learning)
    assert latest_question_triage(messages)["intent"] == "gift_cards"
    # A stated need wins over any untaught question, and off-topic alone gives nothing.
    need = triaged("return_policy")
    assert latest_question_triage([need, untaught])["intent"] == "return_policy"
    assert latest_question_triage([off_topic, asked_for_person]) == {}
