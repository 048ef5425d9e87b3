"""SLA timers: announce each warning and breach once, as soon as the worker sees it has passed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, String, and_, cast, not_, or_, select
from sqlalchemy.orm import Session

from tandem.conversations.models import Conversation
from tandem.events.service import record
from tandem.live import notify_conversation
from tandem.routing import decisions
from tandem.routing.models import SlaPolicy
from tandem.routing.service import OPEN, policy_spec

CHECK_EVERY_SECONDS = 30.0
BATCH = 500


@dataclass(frozen=True)
class Announcement:
    """One SLA milestone that was announced."""

    conversation_id: str
    workspace_id: str
    milestone: str  # e.g. "first_response.warning"
    due_at: datetime


def _lead_time(policies: list[SlaPolicy]) -> timedelta:
    # The earliest a warning can come before its due time, over every policy there is.
    longest = max(
        (
            max(p.first_response_minutes, p.resolution_minutes) * (1 - p.warn_ratio)
            for p in policies
        ),
        default=0.0,
    )
    return timedelta(minutes=longest)


def _not_announced(milestone: str) -> ColumnElement[bool]:
    # sla_events is a JSON list; its text form contains each announced milestone's name.
    return not_(cast(Conversation.sla_events, String).contains(f'"{milestone}"', autoescape=True))


def _due_candidates(session: Session, now: datetime, lead: timedelta) -> list[Conversation]:
    horizon = now + lead
    first_response = and_(
        Conversation.first_human_response_at.is_(None),
        Conversation.first_response_due_at <= horizon,
        _not_announced("first_response.breached"),
    )
    resolution = and_(
        Conversation.first_human_response_at.is_not(None),
        Conversation.resolution_due_at <= horizon,
        _not_announced("resolution.breached"),
    )
    query = (
        select(Conversation)
        .where(Conversation.status.in_(OPEN), or_(first_response, resolution))
        .order_by(Conversation.id)
        .limit(BATCH)
        # Two workers never announce the same milestone: rows another worker is announcing are
        # skipped, and a row it has finished is read again with its new sla_events.
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def check_sla_timers(session: Session, now: datetime) -> list[Announcement]:
    """Announce every SLA warning or breach that has passed and was not announced yet."""
    policies = list(session.scalars(select(SlaPolicy)))
    by_id = {p.id: p for p in policies}
    announced: list[Announcement] = []
    for conversation in _due_candidates(session, now, _lead_time(policies)):
        policy = by_id.get(conversation.sla_policy_id or "")
        if policy is not None and policy.workspace_id != conversation.workspace_id:
            policy = None  # never apply another workspace's rules
        clock = decisions.sla_clock(
            status=conversation.status,
            first_response_due_at=conversation.first_response_due_at,
            resolution_due_at=conversation.resolution_due_at,
            first_human_response_at=conversation.first_human_response_at,
            now=now,
            policy=policy_spec(policy) if policy else None,
        )
        new = decisions.milestones_to_announce(clock, conversation.sla_events or [])
        if not new or clock.due_at is None:
            continue
        # Reassign (not append): JSON columns only notice a new value.
        conversation.sla_events = [*(conversation.sla_events or []), *new]
        # A breach found late stands for its warning too: announce only the most severe.
        milestone = new[-1]
        target, _, level = milestone.partition(".")
        record(
            session,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            type=f"sla.{level}",
            actor_type="system",
            data={"target": target, "due_at": clock.due_at.isoformat()},
        )
        notify_conversation(
            session,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            kind="sla",
            state=level,
            target=target,
            due_at=clock.due_at.isoformat(),
        )
        announced.append(
            Announcement(conversation.id, conversation.workspace_id, milestone, clock.due_at)
        )
    session.flush()
    return announced


def periodic_sla_check(session: Session, now: datetime) -> None:
    """Announce due SLA milestones (every CHECK_EVERY_SECONDS; see tandem.jobs.registry)."""
    check_sla_timers(session, now)
