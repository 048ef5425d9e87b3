"""Plain view data for the console's templates: pure functions over stored rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tandem.conversations.models import Conversation, Message
from tandem.conversations.state import Action, Status, allowed_actions
from tandem.routing import service as routing
from tandem.routing.models import SlaPolicy


class Tab(StrEnum):
    """The queue's tabs."""

    WAITING = "waiting"
    MINE = "mine"
    ALL = "all"


TAB_LABELS = {Tab.WAITING: "Waiting", Tab.MINE: "Mine", Tab.ALL: "All"}
TAB_STATUSES: dict[Tab, tuple[Status, ...]] = {
    Tab.WAITING: (Status.WAITING_FOR_HUMAN,),
    # "Mine" is what I still have to finish: assigned to me and not resolved.
    Tab.MINE: (Status.HUMAN, Status.WAITING_FOR_HUMAN),
    Tab.ALL: (),
}


@dataclass(frozen=True)
class QueueRow:
    """One conversation as the queue lists it."""

    id: str
    customer: str
    customer_is_vip: bool
    first_line: str
    priority: int
    status: str
    waiting_since: datetime | None
    wait_seconds: float | None
    sla: str | None
    queue_name: str | None
    assignee_name: str | None


def customer_label(name: str | None, email: str | None) -> str:
    """Return how the console names a customer."""
    return (name or "").strip() or (email or "").strip() or "Anonymous visitor"


def first_line(text: str | None, limit: int = 120) -> str:
    """Return the first non-empty line of a text, shortened."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def queue_row(
    conversation: Conversation,
    *,
    now: datetime,
    opening: str | None,
    sla: str | None,
    queue_names: Mapping[str, str],
    user_names: Mapping[str, str],
) -> QueueRow:
    """Return the queue row of a conversation."""
    customer = conversation.customer
    waiting_since = conversation.escalated_at or conversation.created_at
    open_statuses = (Status.WAITING_FOR_HUMAN.value, Status.HUMAN.value, Status.AI.value)
    return QueueRow(
        id=conversation.id,
        customer=customer_label(customer.name, customer.email),
        customer_is_vip=bool(customer.is_vip),
        first_line=first_line(conversation.subject or opening) or "(no message yet)",
        priority=int(conversation.priority or 0),
        status=conversation.status,
        waiting_since=waiting_since,
        wait_seconds=(
            (now - waiting_since).total_seconds() if conversation.status in open_statuses else None
        ),
        sla=sla,
        queue_name=queue_names.get(conversation.queue_id or ""),
        assignee_name=user_names.get(conversation.assignee_id or ""),
    )


def sla_badge(
    conversation: Conversation, now: datetime, policies: Mapping[str, SlaPolicy]
) -> str | None:
    """Return ok | warning | breached for a conversation under an SLA, else None."""
    clock = routing.sla_state(
        conversation, now, policy=policies.get(conversation.sla_policy_id or "")
    )
    return clock.state.value if clock.target is not None else None


def sort_rows(rows: Iterable[QueueRow]) -> list[QueueRow]:
    """Return rows by priority (urgent first), then longest wait first."""
    return sorted(rows, key=lambda r: (-r.priority, -(r.wait_seconds or 0.0), r.id))


@dataclass(frozen=True)
class MessageView:
    """One message with what the console shows around it."""

    seq: int
    kind: str  # customer | ai | agent | system | note
    author_label: str
    text: str
    created_at: datetime
    badges: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)
    ai_intent: str | None = None
    ai_confidence: float | None = None
    ai_source: str | None = None
    ai_source_url: str | None = None


def _sentiment_badge(triage: Mapping[str, Any]) -> tuple[str, str] | None:
    label = triage.get("sentiment_label")
    if not label:
        return None
    css = {"negative": "bad", "positive": "good"}.get(str(label), "neutral")
    return (css, f"sentiment: {label}")


def customer_badges(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the triage badges of a customer message: language, sentiment, intent, reasons."""
    triage = meta.get("triage") or {}
    decision = meta.get("decision") or {}
    badges: list[tuple[str, str]] = []
    if triage.get("language"):
        badges.append(("lang", str(triage["language"]).upper()))
    sentiment = _sentiment_badge(triage)
    if sentiment:
        badges.append(sentiment)
    if triage.get("intent"):
        badges.append(("intent", f"{triage['intent']} {float(triage.get('confidence', 0)):.0%}"))
    for reason in decision.get("reasons") or []:
        badges.append(("reason", str(reason).replace("_", " ")))
    if triage.get("personal_data"):
        badges.append(("pii", "personal data"))
    return badges


def message_view(message: Message, user_names: Mapping[str, str]) -> MessageView:
    """Return the view of one stored message."""
    meta = message.meta or {}
    if message.is_private:
        kind, label = "note", f"Note · {user_names.get(message.author_user_id or '', 'agent')}"
    elif message.author == "agent":
        kind, label = "agent", user_names.get(message.author_user_id or "", "Agent")
    elif message.author == "ai":
        kind, label = "ai", "AI assistant"
    elif message.author == "system":
        kind, label = "system", "System"
    else:
        kind, label = "customer", "Customer"
    source = meta.get("source") or {}
    confidence = meta.get("confidence")
    return MessageView(
        seq=message.seq,
        kind=kind,
        author_label=label,
        text=message.text,
        created_at=message.created_at,
        badges=customer_badges(meta) if kind == "customer" else [],
        ai_intent=meta.get("intent") if kind == "ai" else None,
        ai_confidence=float(confidence) if kind == "ai" and confidence is not None else None,
        ai_source=source.get("title") if kind == "ai" else None,
        ai_source_url=source.get("url") if kind == "ai" else None,
    )


def available_actions(status: str) -> set[str]:
    """Return the console's actions valid in a status."""
    return {a.value for a in allowed_actions(Status(status)) if a is not Action.ESCALATE}


def opening_lines(messages: Sequence[Message]) -> dict[str, str]:
    """Return each conversation's first customer message (messages ordered by seq)."""
    result: dict[str, str] = {}
    for message in messages:
        result.setdefault(message.conversation_id, message.text)
    return result
