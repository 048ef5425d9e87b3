"""Route escalated conversations: queue, priority, SLA due times and (optionally) an agent.

Everything here runs inside the caller's transaction and never commits. The decisions are the
pure functions of `tandem.routing.decisions` and `tandem.routing.hours`; this module only loads
their inputs and writes their outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.state import Action, Status
from tandem.core.errors import ConflictError, ValidationError
from tandem.core.schemas import value_from_row
from tandem.db.base import utcnow
from tandem.db.session import scope_session
from tandem.events.service import record
from tandem.live import notify_conversation
from tandem.routing import decisions, hours, team
from tandem.routing.admin import (
    RoutingSettings,
    create_queue,
    create_sla_policy,
    delete_queue,
    delete_sla_policy,
    ensure_default_setup,
    get_queue,
    get_routing_settings,
    get_sla_policy,
    list_queues,
    list_sla_policies,
    queue_members,
    set_queue_members,
    update_queue,
    update_routing_settings,
    update_sla_policy,
)
from tandem.routing.decisions import Candidate, PolicySpec, QueueSpec, SlaClock
from tandem.routing.models import Queue, SlaPolicy
from tandem.users.models import User
from tandem.users.service import PRESENCES
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

__all__ = [
    "QueueLoad",
    "QueueOverview",
    "RoutingOutcome",
    "create_queue",
    "create_sla_policy",
    "delete_queue",
    "delete_sla_policy",
    "ensure_default_setup",
    "get_queue",
    "get_routing_settings",
    "get_sla_policy",
    "list_queues",
    "list_sla_policies",
    "queue_members",
    "queue_overview",
    "route_escalation",
    "set_presence",
    "set_queue_members",
    "sla_state",
    "transfer",
    "update_queue",
    "update_routing_settings",
    "update_sla_policy",
]

OPEN = [Status.WAITING_FOR_HUMAN.value, Status.HUMAN.value]
MAX_NOTE_CHARS = 10_000  # the default message limit; callers pass the configured one


@dataclass(frozen=True)
class RoutingOutcome:
    """Where an escalated conversation went and what the customer can be told."""

    queue_id: str | None
    queue_name: str | None
    priority: int
    assignee_id: str | None
    expected_wait_minutes: int | None
    open_now: bool  # within business hours
    next_open_at: datetime | None  # None while open (or if the schedule never opens)

    @property
    def staffed(self) -> bool:
        """Whether a person can answer now: within business hours, or an online agent took it."""
        return self.open_now or self.assignee_id is not None


def queue_spec(queue: Queue) -> QueueSpec:
    """Return the plain value routing decides on."""
    return QueueSpec(
        id=queue.id,
        name=queue.name,
        intents=frozenset(queue.intents or ()),
        languages=frozenset(queue.languages or ()),
        is_default=queue.is_default,
    )


def policy_spec(policy: SlaPolicy) -> PolicySpec:
    """Return the plain value SLA decisions use."""
    return value_from_row(PolicySpec, policy)


def _sensitive_topics(session: Session, conversation: Conversation) -> list[str]:
    # The front line records which human-only topics fired on the customer's latest message.
    meta = session.scalar(
        select(Message.meta)
        .where(Message.conversation_id == conversation.id, Message.author == "customer")
        .order_by(Message.seq.desc())
        .limit(1)
    )
    topics = ((meta or {}).get("decision") or {}).get("topics") or []
    return [str(t) for t in topics]


def _set_due_times(
    conversation: Conversation,
    policy: PolicySpec | None,
    schedule: hours.Schedule | None,
    now: datetime,
) -> None:
    conversation.sla_policy_id = policy.id if policy else None
    conversation.sla_events = []  # a new escalation is a new episode with fresh announcements
    if policy is None:
        conversation.first_response_due_at = conversation.resolution_due_at = None
        return
    # SLA clocks count open hours only: a conversation that arrives at night is due after the
    # desk has been open for the target time, not before it opens.
    conversation.first_response_due_at = hours.add_open_minutes(
        schedule, now, policy.first_response_minutes
    )
    conversation.resolution_due_at = hours.add_open_minutes(
        schedule, now, policy.resolution_minutes
    )


def route_escalation(
    session: Session,
    conversation: Conversation,
    *,
    reasons: list[str],
    intent: str | None,
    language: str | None,
    frustration: float | None = None,
    now: datetime | None = None,
) -> RoutingOutcome:
    """Put a just-escalated conversation in a queue with a priority and SLA, and maybe assign it."""
    now = now or utcnow()
    workspace_id = conversation.workspace_id
    settings = workspace_settings(session.get(Workspace, workspace_id)).routing_settings
    ensure_default_setup(session, workspace_id)
    queue_rows = {q.id: q for q in list_queues(session, workspace_id)}
    chosen = decisions.choose_queue(
        [queue_spec(q) for q in queue_rows.values()], intent, language or conversation.language
    )
    is_vip = bool(conversation.customer.is_vip) if conversation.customer else False
    all_reasons = [*reasons, *_sensitive_topics(session, conversation)]
    priority = decisions.compute_priority(conversation.priority, all_reasons, is_vip, frustration)
    policies = [policy_spec(p) for p in list_sla_policies(session, workspace_id) if p.is_active]
    policy = decisions.choose_policy(policies, priority)

    conversation.queue_id = chosen.id if chosen else None
    conversation.priority = priority
    _set_due_times(conversation, policy, settings.business_hours, now)
    candidates = team.queue_candidates(session, workspace_id, chosen.id) if chosen else []
    assignee = _auto_assign(session, conversation, settings, candidates, via="routing")
    target = policy.first_response_minutes if policy else None
    outcome = _outcome(session, conversation, chosen, settings, candidates, assignee, now, target)
    _announce_routing(session, conversation, outcome, all_reasons, policy)
    return outcome


def _auto_assign(
    session: Session,
    conversation: Conversation,
    settings: RoutingSettings,
    candidates: list[Candidate],
    *,
    via: str,
) -> Candidate | None:
    # Only a conversation nobody owns yet is handed to someone: an agent's work is never taken.
    if not settings.auto_assign or conversation.status_enum is not Status.WAITING_FOR_HUMAN:
        return None
    agent = decisions.pick_agent(candidates)
    if agent is None:
        return None
    conversations.change_status(
        session,
        conversation,
        Action.ASSIGN,
        actor_type="system",
        assignee_id=agent.user_id,
        data={"via": via, "queue_id": conversation.queue_id},
    )
    return agent


def _outcome(
    session: Session,
    conversation: Conversation,
    queue: QueueSpec | None,
    settings: RoutingSettings,
    candidates: list[Candidate],
    assignee: Candidate | None,
    now: datetime,
    target_first_response_minutes: float | None,
) -> RoutingOutcome:
    open_now = hours.is_open(settings.business_hours, now)
    wait = None
    # An agent who is online after hours and was given the conversation answers it now.
    if queue is not None and (open_now or assignee is not None):
        ahead = 0 if assignee else team.waiting_ahead(session, conversation)
        wait = team.expected_wait(
            session,
            conversation.workspace_id,
            queue.id,
            ahead=ahead,
            candidates=candidates,
            now=now,
            target_first_response_minutes=target_first_response_minutes,
        )
    return RoutingOutcome(
        queue_id=conversation.queue_id,
        queue_name=queue.name if queue else None,
        priority=conversation.priority,
        assignee_id=assignee.user_id if assignee else None,
        expected_wait_minutes=wait,
        open_now=open_now,
        next_open_at=None if open_now else hours.next_open(settings.business_hours, now),
    )


def _announce_routing(
    session: Session,
    conversation: Conversation,
    outcome: RoutingOutcome,
    reasons: list[str],
    policy: PolicySpec | None,
) -> None:
    due = conversation.first_response_due_at
    record(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="conversation.routed",
        actor_type="system",
        data={
            "queue_id": outcome.queue_id,
            "queue_name": outcome.queue_name,
            "priority": outcome.priority,
            "reasons": reasons,
            "sla_policy_id": policy.id if policy else None,
            "first_response_due_at": due.isoformat() if due else None,
            "assignee_id": outcome.assignee_id,
            "expected_wait_minutes": outcome.expected_wait_minutes,
            "open_now": outcome.open_now,
        },
    )
    notify_conversation(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        kind="routed",
        queue_id=outcome.queue_id,
        priority=outcome.priority,
        assignee_id=outcome.assignee_id,
    )


def transfer(
    session: Session,
    conversation: Conversation,
    *,
    queue_id: str,
    actor_id: str,
    note: str | None = None,
    max_note_chars: int = MAX_NOTE_CHARS,
    now: datetime | None = None,
) -> RoutingOutcome:
    """Move an open conversation to another queue of its workspace, and maybe assign it there.

    Its status, owner, priority and SLA due times stay as they are: the customer's clock does
    not restart because the team passed the conversation on. A waiting conversation is offered
    to the new queue's online members when auto-assignment is on. The note, if any, is kept as
    a private note for the team.
    """
    now = now or utcnow()
    target = get_queue(session, conversation.workspace_id, queue_id)
    _ensure_transferable(conversation, target)
    settings = workspace_settings(
        session.get(Workspace, conversation.workspace_id)
    ).routing_settings
    from_queue_id = conversation.queue_id
    conversation.queue_id = target.id
    conversation.updated_at = now
    text = note.strip() if note else ""
    if text:
        conversations.post_message(
            session,
            conversation,
            author=conversations.Author.AGENT,
            text=text,
            user_id=actor_id,
            is_private=True,
            max_chars=max_note_chars,
        )
    candidates = team.queue_candidates(session, conversation.workspace_id, target.id)
    assignee = _auto_assign(session, conversation, settings, candidates, via="transfer")
    policy = (
        session.get(SlaPolicy, conversation.sla_policy_id) if conversation.sla_policy_id else None
    )
    outcome = _outcome(
        session,
        conversation,
        queue_spec(target),
        settings,
        candidates,
        assignee,
        now,
        policy.first_response_minutes if policy else None,
    )
    record(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="conversation.transferred",
        actor_type="user",
        actor_id=actor_id,
        data={
            "from_queue": from_queue_id,
            "to_queue": target.id,
            "to_queue_name": target.name,
            "note": text or None,
            "assignee_id": outcome.assignee_id,
        },
    )
    notify_conversation(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        kind="routed",
        queue_id=target.id,
        priority=conversation.priority,
        assignee_id=conversation.assignee_id,
    )
    return outcome


def _ensure_transferable(conversation: Conversation, target: Queue) -> None:
    status = conversation.status_enum
    if status.value not in OPEN:
        owner = "the AI handles it" if status is Status.AI else "it is resolved"
        raise ConflictError(f"only open conversations can change queue; {owner}")
    if conversation.queue_id == target.id:
        raise ConflictError(f"the conversation is already in the {target.name} queue")


def sla_state(
    conversation: Conversation, now: datetime | None = None, *, policy: SlaPolicy | None = None
) -> SlaClock:
    """Return the conversation's SLA clock at `now` (`.state` is ok | warning | breached).

    Pass its policy for warnings before the breach; without one only breaches show.
    """
    return decisions.sla_clock(
        status=conversation.status,
        first_response_due_at=conversation.first_response_due_at,
        resolution_due_at=conversation.resolution_due_at,
        first_human_response_at=conversation.first_human_response_at,
        now=now or utcnow(),
        policy=policy_spec(policy) if policy else None,
    )


def set_presence(session: Session, user: User, presence: str) -> User:
    """Set whether a user is online, away or offline (only online users are auto-assigned)."""
    if presence not in PRESENCES:
        raise ValidationError(f"presence must be one of {', '.join(PRESENCES)}")
    user.presence = presence
    user.last_seen_at = utcnow()
    session.flush()
    return user


@dataclass(frozen=True)
class QueueLoad:
    """One queue's numbers for the console."""

    queue_id: str
    name: str
    is_default: bool
    waiting: int
    assigned: int
    online_agents: int
    expected_wait_minutes: int | None
    is_member: bool


@dataclass(frozen=True)
class QueueOverview:
    """Counts for the console's queue switcher: waiting, mine, all open, SLA trouble."""

    waiting: int  # every conversation waiting for a human
    waiting_in_my_queues: int
    mine: int  # status human, assigned to the user
    all_open: int  # waiting + human
    sla_warning: int
    sla_breached: int
    presence: str
    capacity: int
    queues: list[QueueLoad]


def queue_overview(session: Session, user: User, now: datetime | None = None) -> QueueOverview:
    """Return the console's counts for a user's workspace."""
    now = now or utcnow()
    workspace_id = user.workspace_id
    scope_session(session, workspace_id)
    rows = list(session.scalars(select(Conversation).where(Conversation.status.in_(OPEN))))
    policies = {p.id: p for p in list_sla_policies(session, workspace_id)}
    members = queue_members(session, workspace_id)
    my_queues = {q for q, users in members.items() if user.id in users}
    clocks = [sla_state(c, now, policy=policies.get(c.sla_policy_id or "")) for c in rows]
    waiting = [c for c in rows if c.status == Status.WAITING_FOR_HUMAN.value]
    agents = team.load_snapshot(session, workspace_id)
    # The wait a new conversation of normal priority would be told.
    normal = decisions.choose_policy(
        [policy_spec(p) for p in policies.values() if p.is_active], decisions.NORMAL
    )
    loads = []
    for queue in list_queues(session, workspace_id):
        queue_team = (
            [c for c in agents if c.user_id in members[queue.id]] if queue.id in members else agents
        )
        online = [c for c in queue_team if c.presence == "online"]
        in_queue = [c for c in rows if c.queue_id == queue.id]
        queue_waiting = sum(1 for c in in_queue if c.status == Status.WAITING_FOR_HUMAN.value)
        loads.append(
            QueueLoad(
                queue_id=queue.id,
                name=queue.name,
                is_default=queue.is_default,
                waiting=queue_waiting,
                assigned=len(in_queue) - queue_waiting,
                online_agents=len(online),
                expected_wait_minutes=team.expected_wait(
                    session,
                    workspace_id,
                    queue.id,
                    ahead=queue_waiting,
                    candidates=queue_team,
                    now=now,
                    target_first_response_minutes=normal.first_response_minutes if normal else None,
                ),
                is_member=queue.id in my_queues,
            )
        )
    return QueueOverview(
        waiting=len(waiting),
        waiting_in_my_queues=sum(1 for c in waiting if c.queue_id in my_queues),
        mine=sum(1 for c in rows if c.status == Status.HUMAN.value and c.assignee_id == user.id),
        all_open=len(rows),
        sla_warning=sum(1 for k in clocks if k.state is decisions.SlaState.WARNING),
        sla_breached=sum(1 for k in clocks if k.state is decisions.SlaState.BREACHED),
        presence=user.presence,
        capacity=user.capacity,
        queues=loads,
    )
