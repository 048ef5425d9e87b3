"""Which message states the customer's need (shared by handoff and co-pilot)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tandem.triage.need import latest_need, latest_need_triage, states_need


@dataclass
class Msg:
    author: str
    meta: dict[str, Any] = field(default_factory=dict)


def triaged(intent: str | None, *, human: float = 0.0, oos: bool = False) -> Msg:
    return Msg(
        "customer", {"triage": {"intent": intent, "human_request": human, "out_of_scope": oos}}
    )


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
