"""The team's load: who can take work, how busy they are, and how long a queue waits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.conversations.models import Conversation
from tandem.conversations.state import Status
from tandem.db.base import utcnow
from tandem.db.session import scope_session
from tandem.routing import decisions
from tandem.routing.decisions import Candidate
from tandem.routing.models import QueueMember
from tandem.users.models import User

# Recent first responses that feed the wait estimate: the newest few of the past week.
WAIT_SAMPLE_WINDOW = timedelta(days=7)
WAIT_SAMPLE_SIZE = 50


def lock_candidates(
    session: Session, workspace_id: str, user_ids: Sequence[str] | None
) -> list[Candidate]:
    """Return the workspace's active users (or those listed) with their load, row-locked."""
    scope_session(session, workspace_id)
    query = select(User).where(User.is_active.is_(True))
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    # Lock the agents (in id order, so concurrent routings cannot deadlock) before counting
    # their load: two escalations at once must not both take an agent's last free slot.
    users = list(session.scalars(query.order_by(User.id).with_for_update()))
    loads = open_counts(session, workspace_id, [u.id for u in users])
    return [
        Candidate(
            user_id=u.id,
            presence=u.presence,
            capacity=u.capacity,
            open_count=loads.get(u.id, 0),
            is_active=u.is_active,
        )
        for u in users
    ]


def open_counts(session: Session, workspace_id: str, user_ids: Sequence[str]) -> dict[str, int]:
    """Return how many conversations in status `human` each user holds."""
    if not user_ids:
        return {}
    scope_session(session, workspace_id)
    rows = session.execute(
        select(Conversation.assignee_id, func.count())
        .where(
            Conversation.status == Status.HUMAN.value,
            Conversation.assignee_id.in_(user_ids),
        )
        .group_by(Conversation.assignee_id)
    )
    return {str(user_id): int(count) for user_id, count in rows}


def queue_candidates(session: Session, workspace_id: str, queue_id: str) -> list[Candidate]:
    """Return who may take a queue's conversations: its members, or the whole team if none."""
    scope_session(session, workspace_id)
    members = list(
        session.scalars(select(QueueMember.user_id).where(QueueMember.queue_id == queue_id))
    )
    # A queue nobody was put on is worked by the whole team.
    return lock_candidates(session, workspace_id, members or None)


def recent_first_responses(
    session: Session, workspace_id: str, queue_id: str, now: datetime
) -> list[float]:
    """Return the queue's recent first-response times in minutes (newest first)."""
    scope_session(session, workspace_id)
    rows = session.execute(
        select(Conversation.escalated_at, Conversation.first_human_response_at)
        .where(
            Conversation.queue_id == queue_id,
            Conversation.first_human_response_at.is_not(None),
            Conversation.escalated_at.is_not(None),
            Conversation.first_human_response_at >= now - WAIT_SAMPLE_WINDOW,
        )
        .order_by(Conversation.first_human_response_at.desc())
        .limit(WAIT_SAMPLE_SIZE)
    )
    samples: list[float] = []
    for escalated, answered in rows:
        if escalated is not None and answered is not None and answered >= escalated:
            samples.append((answered - escalated).total_seconds() / 60)
    return samples


def waiting_ahead(session: Session, conversation: Conversation) -> int:
    """Return how many waiting conversations of its queue come before this one."""
    # Ahead: waiting in the same queue with a higher priority, or as high and escalated earlier.
    escalated = conversation.escalated_at or utcnow()
    scope_session(session, conversation.workspace_id)
    query = select(func.count()).where(
        Conversation.queue_id == conversation.queue_id,
        Conversation.status == Status.WAITING_FOR_HUMAN.value,
        Conversation.id != conversation.id,
        (Conversation.priority > conversation.priority)
        | (
            (Conversation.priority == conversation.priority)
            & (Conversation.escalated_at < escalated)
        ),
    )
    return int(session.scalar(query) or 0)


def expected_wait(
    session: Session,
    workspace_id: str,
    queue_id: str,
    *,
    ahead: int,
    candidates: Sequence[Candidate],
    now: datetime,
    target_first_response_minutes: float | None = None,
) -> int | None:
    """Return the queue's expected wait in minutes for someone with `ahead` conversations before.

    `target_first_response_minutes` (the SLA policy's) stands in while the queue has too little
    history; see `decisions.expected_wait_minutes`.
    """
    online = [c for c in candidates if c.is_active and c.presence == "online"]
    return decisions.expected_wait_minutes(
        ahead=ahead,
        free_slots=sum(c.free for c in online),
        online_agents=len(online),
        recent_first_response_minutes=recent_first_responses(session, workspace_id, queue_id, now),
        target_first_response_minutes=target_first_response_minutes,
    )


def load_snapshot(session: Session, workspace_id: str) -> list[Candidate]:
    """Return the team's load for display (no row locks)."""
    # Read-only view of the team's load (no row locks: the console only displays it).
    scope_session(session, workspace_id)
    users = list(session.scalars(select(User).where(User.is_active.is_(True))))
    loads = open_counts(session, workspace_id, [u.id for u in users])
    return [Candidate(u.id, u.presence, u.capacity, loads.get(u.id, 0), u.is_active) for u in users]
