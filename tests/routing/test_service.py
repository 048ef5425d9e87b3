"""route_escalation and friends on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.models import Conversation
from tandem.conversations.service import Author, change_status, post_message, start_conversation
from tandem.conversations.state import Action
from tandem.core.errors import ConflictError, ValidationError
from tandem.db.session import transaction
from tandem.events.models import Event
from tandem.routing import service
from tandem.routing.models import Queue, SlaPolicy
from tandem.users.models import User

from ..factories import make_workspace
from .conftest import add_agent, escalate, escalate_and_route, route, set_user

NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)  # a Monday


def conversation(factory: sessionmaker[Session], conversation_id: str) -> Conversation:
    with factory() as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        return row


def make_queue(factory: sessionmaker[Session], workspace_id: str, **fields: object) -> str:
    with transaction(factory, workspace_id=workspace_id) as session:
        service.ensure_default_setup(session, workspace_id)
        return service.create_queue(session, workspace_id=workspace_id, **fields).id  # type: ignore[arg-type]


def test_ensure_default_setup_creates_general_and_policies_once(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    for _ in range(2):
        with transaction(factory, workspace_id=ws.id) as session:
            service.ensure_default_setup(session, ws.id)
    with factory() as session:
        queues = session.scalars(select(Queue).where(Queue.workspace_id == ws.id)).all()
        policies = session.scalars(
            select(SlaPolicy)
            .where(SlaPolicy.workspace_id == ws.id)
            .order_by(SlaPolicy.min_priority)
        ).all()
    assert [(q.name, q.is_default) for q in queues] == [("General", True)]
    assert [(p.min_priority, p.first_response_minutes, p.resolution_minutes) for p in policies] == [
        (0, 15, 480),
        (3, 5, 120),
    ]


def test_route_assigns_the_least_loaded_online_agent_and_respects_capacity(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    busy = add_agent(factory, ws.id, capacity=1)
    free = add_agent(factory, ws.id, capacity=2)
    add_agent(factory, ws.id, presence="away", capacity=10)
    outcomes = [escalate_and_route(factory, ws.id, now=NOW) for _ in range(4)]
    assignees = [outcome.assignee_id for _, outcome in outcomes]
    # busy and free both empty: tie on load, more room first; then whoever is less loaded.
    assert assignees[:3] == [free, busy, free]
    assert assignees[3] is None  # everyone online is at capacity
    last_id, last = outcomes[3]
    assert conversation(factory, last_id).status == "waiting_for_human"
    assert last.queue_name == "General" and last.open_now
    first = conversation(factory, outcomes[0][0])
    assert (first.status, first.assignee_id) == ("human", free)


def test_assignment_goes_through_the_state_machine_and_is_logged(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    agent = add_agent(factory, ws.id)
    conv_id, outcome = escalate_and_route(
        factory, ws.id, reasons=["low_confidence"], intent="refund", now=NOW
    )
    with factory() as session:
        events = session.scalars(
            select(Event).where(Event.conversation_id == conv_id).order_by(Event.id)
        ).all()
    by_type = {e.type: e for e in events}
    assert by_type["conversation.assign"].actor_type == "system"
    assert by_type["conversation.assign"].data["assignee_id"] == agent
    routed = by_type["conversation.routed"].data
    assert routed["queue_id"] == outcome.queue_id and routed["assignee_id"] == agent
    assert routed["reasons"] == ["low_confidence"]


def test_queue_skills_pick_the_queue_and_only_its_members_take_it(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    billing_agent = add_agent(factory, ws.id)
    other_agent = add_agent(factory, ws.id)
    with transaction(factory, workspace_id=ws.id) as session:
        service.ensure_default_setup(session, ws.id)
        billing = service.create_queue(
            session, workspace_id=ws.id, name="Billing DE", intents=["refund"], languages=["de"]
        )
        service.set_queue_members(
            session, workspace_id=ws.id, queue_id=billing.id, user_ids=[billing_agent]
        )
    _, refund_de = escalate_and_route(factory, ws.id, intent="refund", language="de", now=NOW)
    assert (refund_de.queue_name, refund_de.assignee_id) == ("Billing DE", billing_agent)
    _, refund_en = escalate_and_route(factory, ws.id, intent="refund", language="en", now=NOW)
    assert refund_en.queue_name == "General"
    assert refund_en.assignee_id == other_agent  # General has no members: the team, least loaded
    set_user(factory, ws.id, billing_agent, presence="offline")
    _, waiting = escalate_and_route(factory, ws.id, intent="refund", language="de", now=NOW)
    assert (waiting.queue_name, waiting.assignee_id) == ("Billing DE", None)


def test_sla_due_times_follow_the_policy_for_the_priority(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    normal_id, normal = escalate_and_route(factory, ws.id, now=NOW)
    urgent_id, urgent = escalate_and_route(
        factory, ws.id, reasons=["sensitive_topic", "legal_threat"], now=NOW
    )
    assert (normal.priority, urgent.priority) == (1, 3)
    normal_row, urgent_row = conversation(factory, normal_id), conversation(factory, urgent_id)
    assert normal_row.first_response_due_at == NOW + timedelta(minutes=15)
    assert normal_row.resolution_due_at == NOW + timedelta(hours=8)
    assert urgent_row.first_response_due_at == NOW + timedelta(minutes=5)
    assert urgent_row.resolution_due_at == NOW + timedelta(hours=2)
    with factory() as session:
        names = {p.id: p.name for p in session.scalars(select(SlaPolicy))}
    assert names[normal_row.sla_policy_id or ""] == "Standard"
    assert names[urgent_row.sla_policy_id or ""] == "Urgent"


def test_vip_and_recorded_topics_raise_the_priority(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    _, vip = escalate_and_route(factory, ws.id, vip=True, now=NOW)
    assert vip.priority == 2
    with transaction(factory, workspace_id=ws.id) as session:
        conv = start_conversation(session, workspace_id=ws.id).conversation
        post_message(
            session,
            conv,
            author=Author.CUSTOMER,
            text="I will call my lawyer",
            max_chars=1000,
            meta={"decision": {"reasons": ["sensitive_topic"], "topics": ["legal_threat"]}},
        )
        change_status(session, conv, Action.ESCALATE, actor_type="ai")
        conv_id = conv.id
    # The caller passed only the reason code; the topic comes from the front line's record.
    assert route(factory, ws.id, conv_id, reasons=["sensitive_topic"], now=NOW).priority == 3


def test_closed_desk_starts_the_clock_at_opening_and_has_no_estimate(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    add_agent(factory, ws.id)
    hours = {"timezone": "UTC", "days": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]]}}
    with transaction(factory, workspace_id=ws.id) as session:
        service.update_routing_settings(
            session, workspace_id=ws.id, business_hours=hours, auto_assign=False
        )
    evening = datetime(2024, 5, 6, 20, 0, tzinfo=UTC)
    conv_id, outcome = escalate_and_route(factory, ws.id, now=evening)
    opening = datetime(2024, 5, 7, 9, 0, tzinfo=UTC)
    assert (outcome.open_now, outcome.next_open_at) == (False, opening)
    assert outcome.expected_wait_minutes is None and outcome.assignee_id is None
    row = conversation(factory, conv_id)
    assert row.first_response_due_at == opening + timedelta(minutes=15)
    # 8 open hours: Tuesday 09:00-17:00 exactly.
    assert row.resolution_due_at == datetime(2024, 5, 7, 17, 0, tzinfo=UTC)


def test_an_online_agent_after_hours_takes_it_with_an_expected_wait(
    factory: sessionmaker[Session],
) -> None:
    # Found by a newcomer check: auto-assigned to Ada at 18:22, yet told "our team is away".
    ws = make_workspace(factory)
    agent = add_agent(factory, ws.id)
    hours = {"timezone": "UTC", "days": {"mon": [["09:00", "17:00"]]}}
    with transaction(factory, workspace_id=ws.id) as session:
        service.update_routing_settings(session, workspace_id=ws.id, business_hours=hours)
    evening = datetime(2024, 5, 6, 20, 0, tzinfo=UTC)
    _, outcome = escalate_and_route(factory, ws.id, now=evening)
    assert outcome.assignee_id == agent and not outcome.open_now
    assert outcome.staffed and outcome.expected_wait_minutes is not None


def test_auto_assign_off_leaves_it_waiting(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    add_agent(factory, ws.id)
    with transaction(factory, workspace_id=ws.id) as session:
        service.update_routing_settings(session, workspace_id=ws.id, auto_assign=False)
    conv_id, outcome = escalate_and_route(factory, ws.id, now=NOW)
    assert outcome.assignee_id is None
    assert conversation(factory, conv_id).status == "waiting_for_human"


def test_expected_wait_uses_recent_first_responses_and_the_line(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    agent = add_agent(factory, ws.id, capacity=1)
    first_id, first = escalate_and_route(factory, ws.id, now=NOW)
    # No history yet: the wait is the Standard policy's first-response target.
    assert first.assignee_id == agent and first.expected_wait_minutes == 15
    # Three earlier conversations of this queue were answered after 4, 6 and 8 minutes.
    with transaction(factory, workspace_id=ws.id) as session:
        for minutes in (4, 6, 8):
            conv = start_conversation(session, workspace_id=ws.id).conversation
            conv.queue_id = first.queue_id
            conv.escalated_at = NOW - timedelta(hours=1)
            conv.first_human_response_at = conv.escalated_at + timedelta(minutes=minutes)
    _, second = escalate_and_route(factory, ws.id, now=NOW)
    # The only agent is full: one waiting slot opens per pace (median 6) → 2 rounds.
    assert second.assignee_id is None and second.expected_wait_minutes == 12
    _, third = escalate_and_route(factory, ws.id, now=NOW + timedelta(minutes=1))
    assert third.expected_wait_minutes == 18  # one more ahead in the line
    assert first_id


def test_another_workspaces_queues_and_agents_are_never_used(
    factory: sessionmaker[Session],
) -> None:
    ours, theirs = make_workspace(factory), make_workspace(factory)
    their_agent = add_agent(factory, theirs.id)
    their_queue = make_queue(factory, theirs.id, name="Refunds", intents=["refund"])
    with transaction(factory, workspace_id=theirs.id) as session:
        service.set_queue_members(
            session, workspace_id=theirs.id, queue_id=their_queue, user_ids=[their_agent]
        )
    _, outcome = escalate_and_route(factory, ours.id, intent="refund", now=NOW)
    assert outcome.queue_id != their_queue and outcome.queue_name == "General"
    assert outcome.assignee_id is None
    with transaction(factory, workspace_id=ours.id) as session:
        assert [q.name for q in service.list_queues(session, ours.id)] == ["General"]
        with pytest.raises(ValidationError, match="unknown users"):
            service.set_queue_members(
                session,
                workspace_id=ours.id,
                queue_id=outcome.queue_id or "",
                user_ids=[their_agent],
            )


def test_queue_overview_counts_for_the_console(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    me = add_agent(factory, ws.id, capacity=1)
    billing = make_queue(factory, ws.id, name="Billing", intents=["refund"])
    with transaction(factory, workspace_id=ws.id) as session:
        service.set_queue_members(session, workspace_id=ws.id, queue_id=billing, user_ids=[me])
    now = datetime.now(UTC)
    escalate_and_route(factory, ws.id, intent="refund", now=now)  # assigned to me
    escalate_and_route(factory, ws.id, intent="refund", now=now)  # waits in Billing
    escalate_and_route(factory, ws.id, intent="other", now=now - timedelta(minutes=30))  # breached
    with factory() as session:
        user = session.get(User, me)
        assert user is not None
        data = service.queue_overview(session, user, now=now)
    assert (data.waiting, data.waiting_in_my_queues, data.mine, data.all_open) == (2, 1, 1, 3)
    assert (data.sla_warning, data.sla_breached) == (0, 1)
    loads = {q.name: q for q in data.queues}
    assert (loads["Billing"].waiting, loads["Billing"].assigned) == (1, 1)
    assert loads["Billing"].is_member and not loads["General"].is_member
    assert loads["General"].online_agents == 1


def test_presence_is_validated_and_stamped(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    user_id = add_agent(factory, ws.id, presence="offline")
    with transaction(factory, workspace_id=ws.id) as session:
        user = session.get(User, user_id)
        assert user is not None
        with pytest.raises(ValidationError, match="presence"):
            service.set_presence(session, user, "busy")
        service.set_presence(session, user, "online")
    with factory() as session:
        user = session.get(User, user_id)
        assert user is not None and user.presence == "online" and user.last_seen_at is not None


def test_queue_and_policy_rules(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, workspace_id=ws.id) as session:
        service.ensure_default_setup(session, ws.id)
        general = service.list_queues(session, ws.id)[0]
        vip = service.create_queue(session, workspace_id=ws.id, name="VIP", is_default=True)
        assert not general.is_default and vip.is_default  # exactly one default
        with pytest.raises(ConflictError, match="default"):
            service.delete_queue(session, workspace_id=ws.id, queue_id=vip.id)
        with pytest.raises(ConflictError, match="already exists"):
            service.create_queue(session, workspace_id=ws.id, name="General")
        with pytest.raises(ValidationError, match="not a valid code"):
            service.create_queue(session, workspace_id=ws.id, name="X", intents=["no spaces"])
        with pytest.raises(ValidationError, match="warn_ratio"):
            service.create_sla_policy(session, workspace_id=ws.id, name="Odd", warn_ratio=1.5)
        with pytest.raises(ValidationError, match="shorter"):
            service.create_sla_policy(
                session,
                workspace_id=ws.id,
                name="Odd",
                first_response_minutes=60,
                resolution_minutes=30,
            )
        service.delete_queue(session, workspace_id=ws.id, queue_id=general.id)
        assert [q.name for q in service.list_queues(session, ws.id)] == ["VIP"]


def test_route_ignores_an_escalation_it_cannot_assign(factory: sessionmaker[Session]) -> None:
    # Called for a conversation a human already took: routing still files it, never reassigns.
    ws = make_workspace(factory)
    first_agent = add_agent(factory, ws.id)
    conv_id = escalate(factory, ws.id)
    route(factory, ws.id, conv_id, now=NOW)
    add_agent(factory, ws.id, capacity=50)
    again = route(factory, ws.id, conv_id, now=NOW)
    assert again.assignee_id is None
    assert conversation(factory, conv_id).assignee_id == first_agent
