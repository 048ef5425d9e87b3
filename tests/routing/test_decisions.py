"""The pure routing decisions: queue, priority, policy, agent, SLA clock, expected wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tandem.routing.decisions import (
    DEFAULT_PACE_MINUTES,
    Candidate,
    PolicySpec,
    QueueSpec,
    SlaClock,
    SlaState,
    choose_policy,
    choose_queue,
    compute_priority,
    expected_wait_minutes,
    milestones_to_announce,
    pick_agent,
    sla_clock,
)

GENERAL = QueueSpec("q-general", "General", is_default=True)
BILLING = QueueSpec("q-billing", "Billing", intents=frozenset({"refund", "invoice"}))
GERMAN = QueueSpec("q-de", "German", languages=frozenset({"de"}))
GERMAN_BILLING = QueueSpec(
    "q-de-billing", "German billing", intents=frozenset({"refund"}), languages=frozenset({"de"})
)
REFUNDS_ONLY = QueueSpec("q-refunds", "Refunds", intents=frozenset({"refund"}))
QUEUES = [GENERAL, BILLING, GERMAN, GERMAN_BILLING]


@pytest.mark.parametrize(
    ("intent", "language", "expected"),
    [
        ("refund", "de", GERMAN_BILLING),  # intent and language beat either alone
        ("refund", "en", BILLING),  # intent match
        ("shipping", "de", GERMAN),  # language match only
        ("shipping", "en", GENERAL),  # nothing matches: the default
        (None, None, GENERAL),
        ("invoice", "de", BILLING),  # an intent match outranks a language match
    ],
)
def test_choose_queue_prefers_the_most_specific_skills(
    intent: str | None, language: str | None, expected: QueueSpec
) -> None:
    assert choose_queue(QUEUES, intent, language) == expected


def test_narrower_queue_wins_between_equally_specific_matches() -> None:
    assert choose_queue([BILLING, REFUNDS_ONLY, GENERAL], "refund", "en") == REFUNDS_ONLY


def test_without_a_default_a_skill_less_queue_catches_the_rest() -> None:
    anything = QueueSpec("q-any", "Anything")
    assert choose_queue([BILLING, anything], "shipping", "en") == anything
    assert choose_queue([BILLING], "shipping", "en") is None
    assert choose_queue([], "refund", "en") is None


@pytest.mark.parametrize(
    ("current", "reasons", "vip", "frustration", "expected"),
    [
        (1, ["low_confidence"], False, None, 1),
        (0, ["low_confidence"], False, None, 1),  # escalations are at least normal
        (1, ["sensitive_topic"], False, None, 2),
        (1, ["sensitive_topic", "cancellation"], False, None, 2),
        (1, ["sensitive_topic", "legal_threat"], False, None, 3),
        (1, ["sensitive_topic:vulnerable_customer"], False, None, 3),
        (1, ["frustration"], False, 0.8, 2),
        (1, ["frustration"], False, 0.95, 3),  # strong frustration is urgent
        (1, ["low_confidence"], False, 0.92, 3),  # the score counts even without the reason
        (1, ["bot_loop"], False, None, 2),
        (1, ["human_requested"], True, None, 2),  # VIP
        (3, ["low_confidence"], False, None, 3),  # never lowered
        (2, ["bot_loop"], False, 0.1, 2),
    ],
)
def test_compute_priority(
    current: int, reasons: list[str], vip: bool, frustration: float | None, expected: int
) -> None:
    assert compute_priority(current, reasons, vip, frustration) == expected


def test_choose_policy_takes_the_highest_threshold_not_above_the_priority() -> None:
    standard = PolicySpec("p-std", 0, 15, 480)
    high = PolicySpec("p-high", 2, 10, 240)
    urgent = PolicySpec("p-urg", 3, 5, 120)
    policies = [urgent, standard, high]
    assert choose_policy(policies, 0) == standard
    assert choose_policy(policies, 1) == standard
    assert choose_policy(policies, 2) == high
    assert choose_policy(policies, 3) == urgent
    assert choose_policy([high], 1) is None


def agent(
    user_id: str, open_count: int, *, capacity: int = 3, presence: str = "online"
) -> Candidate:
    return Candidate(user_id=user_id, presence=presence, capacity=capacity, open_count=open_count)


def test_pick_agent_takes_the_least_loaded_online_agent_with_room() -> None:
    team = [
        agent("a", 2),
        agent("b", 1),
        agent("c", 0, presence="away"),
        agent("d", 0, presence="offline"),
        agent("e", 3),  # full
    ]
    chosen = pick_agent(team)
    assert chosen is not None and chosen.user_id == "b"


def test_pick_agent_breaks_ties_by_room_then_id_regardless_of_order() -> None:
    team = [agent("z", 1, capacity=5), agent("m", 1, capacity=2), agent("k", 1, capacity=5)]
    assert pick_agent(team) == agent("k", 1, capacity=5)
    assert pick_agent(list(reversed(team))) == agent("k", 1, capacity=5)


def test_pick_agent_returns_none_when_nobody_can_take_it() -> None:
    assert pick_agent([agent("a", 3), agent("b", 0, presence="away")]) is None
    assert pick_agent([agent("a", 0, capacity=0)]) is None
    inactive = Candidate("x", "online", 5, 0, is_active=False)
    assert pick_agent([inactive]) is None
    assert pick_agent([]) is None


T0 = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
POLICY = PolicySpec("p", 0, first_response_minutes=10, resolution_minutes=100, warn_ratio=0.8)


def clock_at(
    minutes: float, *, replied_after: float | None = None, status: str = "waiting_for_human"
) -> SlaClock:
    return sla_clock(
        status=status,
        first_response_due_at=T0 + timedelta(minutes=10),
        resolution_due_at=T0 + timedelta(minutes=100),
        first_human_response_at=(
            None if replied_after is None else T0 + timedelta(minutes=replied_after)
        ),
        now=T0 + timedelta(minutes=minutes),
        policy=POLICY,
    )


@pytest.mark.parametrize(
    ("minutes", "state"),
    [(0, SlaState.OK), (7.9, SlaState.OK), (8, SlaState.WARNING), (10, SlaState.BREACHED)],
)
def test_first_response_clock_warns_at_the_ratio_then_breaches(
    minutes: float, state: SlaState
) -> None:
    clock = clock_at(minutes)
    assert (clock.target, clock.state) == ("first_response", state)


def test_after_the_first_reply_the_resolution_clock_runs() -> None:
    clock = clock_at(50, replied_after=5, status="human")
    assert (clock.target, clock.state) == ("resolution", SlaState.OK)
    assert clock_at(80, replied_after=5, status="human").state is SlaState.WARNING
    breached = clock_at(100, replied_after=5, status="human")
    assert breached.state is SlaState.BREACHED and breached.milestone == "resolution.breached"


def test_no_clock_runs_when_resolved_or_back_with_the_ai() -> None:
    assert clock_at(500, status="resolved").state is SlaState.OK
    assert clock_at(500, status="ai").target is None


@pytest.mark.parametrize(("seconds", "state"), [(-1, SlaState.OK), (0, SlaState.BREACHED)])
def test_without_a_policy_only_breaches_show(seconds: int, state: SlaState) -> None:
    no_policy = sla_clock(
        status="human",
        first_response_due_at=T0,
        resolution_due_at=None,
        first_human_response_at=None,
        now=T0 + timedelta(seconds=seconds),
        policy=None,
    )
    assert no_policy.state is state


def test_milestones_are_announced_once_and_a_late_breach_implies_its_warning() -> None:
    assert milestones_to_announce(clock_at(9), []) == ["first_response.warning"]
    assert milestones_to_announce(clock_at(9), ["first_response.warning"]) == []
    assert milestones_to_announce(clock_at(11), []) == [
        "first_response.warning",
        "first_response.breached",
    ]
    assert milestones_to_announce(clock_at(11), ["first_response.warning"]) == [
        "first_response.breached"
    ]
    assert milestones_to_announce(clock_at(1), []) == []


def test_expected_wait_is_unknown_only_when_nobody_is_online() -> None:
    assert (
        expected_wait_minutes(
            ahead=0, free_slots=0, online_agents=0, recent_first_response_minutes=[2, 2, 2]
        )
        is None
    )


def test_without_enough_history_the_pace_is_the_first_response_target() -> None:
    # Two samples are too few: the SLA's promise stands in, or the default without a policy.
    few = [2.0, 2.0]
    assert (
        expected_wait_minutes(
            ahead=0,
            free_slots=3,
            online_agents=1,
            recent_first_response_minutes=few,
            target_first_response_minutes=10,
        )
        == 10
    )
    assert (
        expected_wait_minutes(
            ahead=0, free_slots=3, online_agents=1, recent_first_response_minutes=few
        )
        == DEFAULT_PACE_MINUTES
    )
    # The line still counts: one agent, no free slot, two ahead → 1 + 3 rounds of the target.
    assert (
        expected_wait_minutes(
            ahead=2,
            free_slots=0,
            online_agents=1,
            recent_first_response_minutes=[],
            target_first_response_minutes=5,
        )
        == 20
    )
    # Enough history wins over the target.
    assert (
        expected_wait_minutes(
            ahead=0,
            free_slots=1,
            online_agents=1,
            recent_first_response_minutes=[4.0, 6.0, 8.0],
            target_first_response_minutes=60,
        )
        == 6
    )


def test_expected_wait_grows_with_the_queue_beyond_free_capacity() -> None:
    samples = [1.0, 4.0, 3.0, 100.0, 3.0]  # median 3: one slow outlier does not dominate
    free = expected_wait_minutes(
        ahead=1, free_slots=2, online_agents=2, recent_first_response_minutes=samples
    )
    assert free == 3
    busy = expected_wait_minutes(
        ahead=5, free_slots=2, online_agents=2, recent_first_response_minutes=samples
    )
    # Position 6, two free slots: four wait for slots, two agents take two a round: 1 + 2 rounds.
    assert busy == 9
    assert free is not None and busy is not None and busy > free
