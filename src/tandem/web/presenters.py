"""Plain view data for the console's templates: pure functions over stored rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tandem.conversations.models import Conversation, Message
from tandem.conversations.state import Action, Status, allowed_actions
from tandem.handoff.need_words import choose_need
from tandem.handoff.service import MIN_INTENT_CONFIDENCE
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


NO_MESSAGE = "(no message yet)"


def queue_headline(
    conversation: Conversation,
    packet_data: Mapping[str, Any] | None,
    customer_texts: Sequence[str],
) -> str:
    """Return what a queue row says about a conversation: the customer's need, not "hi".

    In order: the need of the latest handoff packet, the conversation's subject, the need in the
    customer's messages, the packet summary's first line, and the customer's latest message.
    """
    data = packet_data or {}
    line = first_line(_text(data.get("need"))) or first_line(conversation.subject)
    if line:
        return line
    stated = choose_need(customer_texts)
    return (
        first_line(stated.text if stated else None)
        or first_line(_text(data.get("summary")))
        or first_line(customer_texts[-1] if customer_texts else None)
        or NO_MESSAGE
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def queue_row(
    conversation: Conversation,
    *,
    now: datetime,
    headline: str,
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
        first_line=headline,
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
    css = {"negative": "bad", "frustrated": "bad", "positive": "good"}.get(str(label), "neutral")
    return (css, f"sentiment: {label}")


def customer_badges(
    meta: Mapping[str, Any], *, intent_bar: float = MIN_INTENT_CONFIDENCE
) -> list[tuple[str, str]]:
    """Return the triage badges of a customer message: language, sentiment, intent, reasons.

    The intent shows, with its confidence, only when that clears `intent_bar`.
    """
    triage = meta.get("triage") or {}
    decision = meta.get("decision") or {}
    badges: list[tuple[str, str]] = []
    if triage.get("language"):
        badges.append(("lang", str(triage["language"]).upper()))
    sentiment = _sentiment_badge(triage)
    if sentiment:
        badges.append(sentiment)
    confidence = float(triage.get("confidence") or 0.0)
    if triage.get("intent") and not triage.get("out_of_scope") and confidence >= intent_bar:
        badges.append(("intent", f"{triage['intent']} {confidence:.0%}"))
    for reason in decision.get("reasons") or []:
        badges.append(("reason", str(reason).replace("_", " ")))
    masked = meta.get("masked") or []
    for kind in dict.fromkeys(masked):
        badges.append(("pii", f"{str(kind).replace('_', ' ')} hidden"))
    if set(triage.get("personal_data") or []) - set(masked):
        badges.append(("pii", "personal data"))
    return badges


def message_view(
    message: Message,
    user_names: Mapping[str, str],
    *,
    intent_bar: float = MIN_INTENT_CONFIDENCE,
) -> MessageView:
    """Return the view of one stored message (intent badges only above `intent_bar`)."""
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
        badges=customer_badges(meta, intent_bar=intent_bar)
        if kind == "customer"
        else [
            ("pii", f"{str(k).replace('_', ' ')} hidden")
            for k in dict.fromkeys(meta.get("masked") or [])
        ],
        ai_intent=meta.get("intent") if kind == "ai" else None,
        ai_confidence=float(confidence) if kind == "ai" and confidence is not None else None,
        ai_source=source.get("title") if kind == "ai" else None,
        ai_source_url=source.get("url") if kind == "ai" else None,
    )


def available_actions(status: str) -> set[str]:
    """Return the console's actions valid in a status."""
    return {a.value for a in allowed_actions(Status(status)) if a is not Action.ESCALATE}
