"""SLA timers announce each warning and breach exactly once, through the worker's periodic loop."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.models import Conversation
from tandem.conversations.service import change_status, get_conversation
from tandem.conversations.state import Action
from tandem.db.session import transaction
from tandem.events.models import Event
from tandem.jobs.worker import Worker
from tandem.live import get_broker
from tandem.live.broker import workspace_channel
from tandem.routing.timers import check_sla_timers

from ..factories import make_workspace
from .conftest import escalate_and_route, route

NOW = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)


def sla_events(factory: sessionmaker[Session], conversation_id: str) -> list[tuple[str, Any]]:
    with factory() as session:
        rows = session.scalars(
            select(Event)
            .where(Event.conversation_id == conversation_id, Event.type.like("sla.%"))
            .order_by(Event.id)
        ).all()
        return [(e.type, e.data) for e in rows]


def check(factory: sessionmaker[Session], minutes: float) -> list[str]:
    with transaction(factory) as session:
        found = check_sla_timers(session, NOW + timedelta(minutes=minutes))
        return [a.milestone for a in found]


def test_warning_then_breach_each_announced_once(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv_id, _ = escalate_and_route(factory, ws.id, now=NOW)  # Standard: 15 min, warn at 80 %
    assert check(factory, 5) == []
    assert check(factory, 12) == ["first_response.warning"]
    assert check(factory, 13) == []
    assert check(factory, 15) == ["first_response.breached"]
    assert check(factory, 16) == []
    due = (NOW + timedelta(minutes=15)).isoformat()
    assert sla_events(factory, conv_id) == [
        ("sla.warning", {"target": "first_response", "due_at": due}),
        ("sla.breached", {"target": "first_response", "due_at": due}),
    ]
    with factory() as session:
        row = session.get(Conversation, conv_id)
        assert row is not None
        assert row.sla_events == ["first_response.warning", "first_response.breached"]


def test_a_late_check_announces_only_the_breach(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv_id, _ = escalate_and_route(factory, ws.id, now=NOW)
    assert check(factory, 60) == ["first_response.breached"]
    assert [kind for kind, _ in sla_events(factory, conv_id)] == ["sla.breached"]
    assert check(factory, 14) == []  # the skipped warning is not announced afterwards either


def test_after_the_first_reply_the_resolution_target_is_watched(
    factory: sessionmaker[Session],
) -> None:
    ws = make_workspace(factory)
    conv_id, _ = escalate_and_route(factory, ws.id, now=NOW)
    with transaction(factory, workspace_id=ws.id) as session:
        conversation = get_conversation(session, conv_id)
        conversation.first_human_response_at = NOW + timedelta(minutes=3)
    assert check(factory, 60) == []  # first response was made in time
    assert check(factory, 7 * 60) == ["resolution.warning"]  # 8 h target, warned at 6.4 h
    assert check(factory, 8 * 60) == ["resolution.breached"]
    assert check(factory, 9 * 60) == []


def test_resolved_conversations_are_not_announced(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv_id, _ = escalate_and_route(factory, ws.id, now=NOW)
    with transaction(factory, workspace_id=ws.id) as session:
        change_status(session, get_conversation(session, conv_id), Action.RESOLVE, actor_type="ai")
    assert check(factory, 60) == []
    assert sla_events(factory, conv_id) == []


def test_a_new_escalation_starts_fresh_announcements(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv_id, _ = escalate_and_route(factory, ws.id, now=NOW)
    assert check(factory, 20) == ["first_response.breached"]
    with transaction(factory, workspace_id=ws.id) as session:
        conversation = get_conversation(session, conv_id)
        change_status(session, conversation, Action.HAND_BACK, actor_type="system")
        change_status(session, conversation, Action.ESCALATE, actor_type="ai")
    route(factory, ws.id, conv_id, now=NOW + timedelta(minutes=30))
    assert check(factory, 46) == ["first_response.breached"]
    assert [kind for kind, _ in sla_events(factory, conv_id)] == ["sla.breached", "sla.breached"]


def test_two_workers_at_once_announce_each_milestone_once(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    ids = [escalate_and_route(factory, ws.id, now=NOW)[0] for _ in range(5)]
    workers = [Worker(factory), Worker(factory)]
    start = threading.Barrier(len(workers))
    when = NOW + timedelta(minutes=20)

    def run(worker: Worker) -> None:
        start.wait()
        worker.run_periodic(now=when)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for conv_id in ids:
        assert [kind for kind, _ in sla_events(factory, conv_id)] == ["sla.breached"]


def test_worker_runs_registered_periodic_tasks_on_their_interval(
    factory: sessionmaker[Session],
) -> None:
    calls: list[datetime] = []
    worker = Worker(factory, periodic=[(30.0, lambda _session, now: calls.append(now))])
    assert worker.run_periodic(now=NOW) == 1
    assert worker.run_periodic(now=NOW + timedelta(seconds=10)) == 0
    assert worker.run_periodic(now=NOW + timedelta(seconds=30)) == 1
    assert calls == [NOW, NOW + timedelta(seconds=30)]
    # The default worker uses the registry, which holds the SLA check.
    ws = make_workspace(factory)
    conv_id, _ = escalate_and_route(factory, ws.id, now=NOW)
    Worker(factory).run_periodic(now=NOW + timedelta(minutes=30))
    assert [kind for kind, _ in sla_events(factory, conv_id)] == ["sla.breached"]


def test_a_failing_periodic_task_does_not_stop_the_others(factory: sessionmaker[Session]) -> None:
    ran: list[str] = []

    def broken(_session: Session, _now: datetime) -> None:
        raise RuntimeError("boom")

    worker = Worker(factory, periodic=[(1.0, broken), (1.0, lambda _s, _n: ran.append("ok"))])
    assert worker.run_periodic(now=NOW) == 2
    assert ran == ["ok"]


def test_consoles_hear_the_announcement_live(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conv_id, _ = escalate_and_route(factory, ws.id, now=NOW)

    async def listen() -> dict[str, Any]:
        async with get_broker().subscribe(workspace_channel(ws.id)) as queue:
            await asyncio.to_thread(check, factory, 20)
            while True:
                event = await asyncio.wait_for(queue.get(), timeout=10)
                if event["type"] == "sla":
                    return dict(event)

    event = asyncio.run(listen())
    assert event == {
        "type": "sla",
        "conversation_id": conv_id,
        "state": "breached",
        "target": "first_response",
        "due_at": (NOW + timedelta(minutes=15)).isoformat(),
    }
