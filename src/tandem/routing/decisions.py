"""Routing decisions as pure functions over plain values: queue, priority, agent, SLA, wait."""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

LOW, NORMAL, HIGH, URGENT = 0, 1, 2, 3

# Topics where a person may be at risk or the company is threatened: a human at once.
URGENT_TOPICS = frozenset({"legal_threat", "vulnerable_customer"})
# Every other reason that means "do not keep this person waiting long".
HIGH_REASONS = frozenset(
    {
        "sensitive_topic",
        "frustration",
        "bot_loop",
        "cancellation",
        "refund_dispute",
        "complaint",
        "security_incident",
    }
)
FRUSTRATION_HIGH = 0.75  # the front line's default escalation threshold
FRUSTRATION_URGENT = 0.9

# An estimate from history needs this many recent first responses in the queue; with fewer,
# the pace is the first-response target the desk promises (its SLA policy), or this default.
MIN_WAIT_SAMPLES = 3
DEFAULT_PACE_MINUTES = 15


@dataclass(frozen=True)
class QueueSpec:
    """What routing needs to know about a queue."""

    id: str
    name: str
    intents: frozenset[str] = frozenset()  # empty = any intent
    languages: frozenset[str] = frozenset()  # empty = any language
    is_default: bool = False


def _specificity(queue: QueueSpec, intent: str | None, language: str | None) -> int | None:
    # None: the queue does not take this conversation; higher: a closer skills match.
    if queue.intents and intent not in queue.intents:
        return None
    if queue.languages and language not in queue.languages:
        return None
    return (2 if queue.intents else 0) + (1 if queue.languages else 0)


def choose_queue(
    queues: Sequence[QueueSpec], intent: str | None, language: str | None
) -> QueueSpec | None:
    """Return the queue whose skills match most specifically; else the default queue.

    An intent match outranks a language match, and both together outrank either. Among equally
    specific queues the narrower one (fewer skills listed) wins, then the name. When nothing
    matches on skills, the default queue takes it, else a queue without skills, else None.
    """
    scored = [(_specificity(q, intent, language), q) for q in queues]
    skilled = [(score, q) for score, q in scored if score]
    if skilled:
        best = max(score for score, _ in skilled)
        return min(
            (q for score, q in skilled if score == best),
            key=lambda q: (len(q.intents) + len(q.languages), q.name, q.id),
        )
    defaults = sorted((q for q in queues if q.is_default), key=lambda q: (q.name, q.id))
    if defaults:
        return defaults[0]
    catch_all = sorted((q for score, q in scored if score == 0), key=lambda q: (q.name, q.id))
    return catch_all[0] if catch_all else None


def compute_priority(
    current: int, reasons: Iterable[str], is_vip: bool, frustration: float | None
) -> int:
    """Return the conversation's priority after escalation; it is never lowered.

    Reasons are the front line's codes ("sensitive_topic", "frustration", "bot_loop", ...) and may
    also name the sensitive topics themselves ("legal_threat", or "sensitive_topic:legal_threat").
    """
    codes: set[str] = set()
    for reason in reasons:
        codes.update(part.strip() for part in reason.split(":"))
    level = NORMAL
    if (
        codes & HIGH_REASONS
        or is_vip
        or (frustration is not None and frustration >= FRUSTRATION_HIGH)
    ):
        level = HIGH
    if codes & URGENT_TOPICS or (frustration is not None and frustration >= FRUSTRATION_URGENT):
        level = URGENT
    return max(min(max(current, LOW), URGENT), level)


@dataclass(frozen=True)
class PolicySpec:
    """An SLA policy's targets."""

    id: str
    min_priority: int
    first_response_minutes: int
    resolution_minutes: int
    warn_ratio: float = 0.8


def choose_policy(policies: Iterable[PolicySpec], priority: int) -> PolicySpec | None:
    """Return the policy with the highest `min_priority` not above the priority (ties: by id)."""
    eligible = [p for p in policies if p.min_priority <= priority]
    if not eligible:
        return None
    return max(eligible, key=lambda p: (p.min_priority, p.id))


@dataclass(frozen=True)
class Candidate:
    """An agent who might take a conversation."""

    user_id: str
    presence: str  # online | away | offline
    capacity: int
    open_count: int  # conversations in status `human` assigned to them
    is_active: bool = True

    @property
    def free(self) -> int:
        """Return how many more conversations they can take."""
        return max(0, self.capacity - self.open_count)


def available(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Return the active, online candidates with spare capacity, least loaded first."""
    ready = [c for c in candidates if c.is_active and c.presence == "online" and c.free > 0]
    # Least loaded first; then the one with more room; then a stable order by id.
    return sorted(ready, key=lambda c: (c.open_count, -c.free, c.user_id))


def pick_agent(candidates: Iterable[Candidate]) -> Candidate | None:
    """Return who should take the next conversation, or None when nobody online has room."""
    ready = available(candidates)
    return ready[0] if ready else None


class SlaState(StrEnum):
    """How a conversation stands against its SLA."""

    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"


SlaTarget = Literal["first_response", "resolution"]
OPEN_STATUSES = frozenset({"waiting_for_human", "human"})


@dataclass(frozen=True)
class SlaClock:
    """The running SLA target of a conversation and where it stands."""

    state: SlaState
    target: SlaTarget | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None

    @property
    def milestone(self) -> str | None:
        """Return the milestone name this state announces, e.g. 'resolution.breached'."""
        if self.target is None or self.state is SlaState.OK:
            return None
        return f"{self.target}.{self.state.value}"


def warn_moment(due_at: datetime, target_minutes: float | None, warn_ratio: float) -> datetime:
    """Return when a warning is due: when only (1 - warn_ratio) of the target time is left."""
    if target_minutes is None:
        return due_at
    return due_at - timedelta(minutes=target_minutes * (1 - warn_ratio))


def sla_clock(
    *,
    status: str,
    first_response_due_at: datetime | None,
    resolution_due_at: datetime | None,
    first_human_response_at: datetime | None,
    now: datetime,
    policy: PolicySpec | None = None,
) -> SlaClock:
    """Return the SLA state at `now`: first response until a human replied, then resolution.

    Clocks run only while a human owns or is awaited (waiting_for_human, human). The warning
    comes when less than (1 - warn_ratio) of the target is left (so with business hours it
    falls shortly before the due time, not during the night); without a policy the warning
    coincides with the breach.
    """
    if status not in OPEN_STATUSES:
        return SlaClock(SlaState.OK)
    ratio = policy.warn_ratio if policy else 1.0
    target: SlaTarget
    if first_human_response_at is None:
        target, due = "first_response", first_response_due_at
        minutes = policy.first_response_minutes if policy else None
    else:
        target, due = "resolution", resolution_due_at
        minutes = policy.resolution_minutes if policy else None
    if due is None:
        return SlaClock(SlaState.OK)
    warn_at = warn_moment(due, minutes, ratio)
    if now >= due:
        state = SlaState.BREACHED
    elif now >= warn_at:
        state = SlaState.WARNING
    else:
        state = SlaState.OK
    return SlaClock(state, target=target, due_at=due, warn_at=warn_at)


def milestones_to_announce(clock: SlaClock, announced: Collection[str]) -> list[str]:
    """Return the milestones reached and not yet announced (a breach implies its warning)."""
    if clock.target is None or clock.state is SlaState.OK:
        return []
    reached = [f"{clock.target}.warning"]
    if clock.state is SlaState.BREACHED:
        reached.append(f"{clock.target}.breached")
    return [m for m in reached if m not in announced]


def expected_wait_minutes(
    *,
    ahead: int,
    free_slots: int,
    online_agents: int,
    recent_first_response_minutes: Sequence[float],
    target_first_response_minutes: float | None = None,
) -> int | None:
    """Return a rough wait in minutes for a new conversation in a queue (None: nobody online).

    This is the one place the customer's expected wait is computed. `pace` is the median of the
    queue's recent first-response times (escalation to the first human reply); with fewer than
    MIN_WAIT_SAMPLES of them it is the first-response target of the conversation's SLA policy
    (what the desk promises), else DEFAULT_PACE_MINUTES. If the online agents' free capacity
    covers everyone ahead plus this one, the wait is about one pace. Otherwise the conversations
    beyond the free slots wait for slots to open, which we assume happens at about one pace per
    online agent, giving pace * (1 + ceil(overflow / online_agents)). With no agent online
    nobody can honestly say: None.
    """
    if online_agents <= 0:
        return None
    if len(recent_first_response_minutes) >= MIN_WAIT_SAMPLES:
        pace = max(0.0, statistics.median(recent_first_response_minutes))
    elif target_first_response_minutes is not None and target_first_response_minutes > 0:
        pace = float(target_first_response_minutes)
    else:
        pace = float(DEFAULT_PACE_MINUTES)
    position = max(0, ahead) + 1
    overflow = position - max(0, free_slots)
    rounds = 1 if overflow <= 0 else 1 + math.ceil(overflow / online_agents)
    return max(1, math.ceil(pace * rounds))
