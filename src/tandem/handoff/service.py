"""Escalation to a human: one path for the AI, the customer and agents.

Whoever asks, the same steps run in the caller's transaction: the state machine moves the
conversation to `waiting_for_human`, routing picks a queue, priority, SLA and maybe an agent, a
handoff packet captures everything the AI knew, and the customer is told that a person is coming
and roughly when (or when the team is back, outside business hours).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import Author
from tandem.conversations.state import Action, Status
from tandem.core.text import one_line
from tandem.db.session import scope_session
from tandem.handoff.models import HandoffPacket
from tandem.handoff.need_words import choose_need
from tandem.handoff.summary import Turn, summarize
from tandem.routing import service as routing
from tandem.routing.service import RoutingOutcome
from tandem.triage.models import ModelVersion
from tandem.triage.responder import compose_handoff

PAST_CONVERSATIONS = 5
LATEST_CHARS = 300
TRIGGERS = frozenset({"ai", "customer", "agent"})
# The packet (and the console) names an intent only when its confidence clears the model's own
# answer threshold, and never below this floor: under it the label is likelier wrong than
# right, and an agent is better served by the need in the customer's words alone.
MIN_INTENT_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Need:
    """What the customer needs now: in words, and as an intent when one is confident enough."""

    text: str | None
    intent: str | None
    confidence: float | None
    min_confidence: float  # the bar the intent had to clear
    language: str | None = None


def latest_packet(session: Session, conversation_id: str) -> HandoffPacket | None:
    """Return the newest handoff packet of a conversation, if it was ever escalated."""
    return session.scalar(
        select(HandoffPacket)
        .where(HandoffPacket.conversation_id == conversation_id)
        .order_by(HandoffPacket.created_at.desc(), HandoffPacket.id.desc())
        .limit(1)
    )


def latest_packet_data(
    session: Session, conversation_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Return the data of each conversation's newest handoff packet (never escalated: absent)."""
    if not conversation_ids:
        return {}
    rows = session.execute(
        select(HandoffPacket.conversation_id, HandoffPacket.data)
        .where(HandoffPacket.conversation_id.in_(list(conversation_ids)))
        .order_by(HandoffPacket.created_at, HandoffPacket.id)
    )
    # Oldest first: each conversation ends up with its newest packet's data.
    return {conversation_id: data or {} for conversation_id, data in rows}


def request_human(
    session: Session,
    conversation: Conversation,
    *,
    trigger: str,
    actor_id: str | None = None,
    reasons: list[str] | None = None,
) -> bool:
    """Hand a (locked) conversation to the humans; return False if humans already have it.

    A customer may always ask: after a hand-back the conversation is the AI's again and escalates;
    a resolved one reopens first (to its former agent when it had one, which is then the handoff).
    """
    if conversation.status_enum is Status.RESOLVED:
        conversations.change_status(
            session,
            conversation,
            Action.REOPEN,
            actor_type="customer" if trigger == "customer" else "user",
            actor_id=actor_id,
        )
    if conversation.status_enum is not Status.AI:
        return False  # waiting for a human or with one already: asking twice changes nothing
    default_reason = {"customer": "human_requested", "agent": "agent_escalated"}.get(trigger, "ai")
    escalate(
        session,
        conversation,
        trigger=trigger,
        reasons=reasons or [default_reason],
        actor_id=actor_id,
    )
    return True


def escalate(
    session: Session,
    conversation: Conversation,
    *,
    trigger: str,
    reasons: Sequence[str],
    actor_id: str | None = None,
    intent: str | None = None,
    confidence: float | None = None,
    language: str | None = None,
    frustration: float | None = None,
    now: datetime | None = None,
) -> HandoffPacket:
    """Move an AI-owned, locked conversation to the humans, with its packet and a notice."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown handoff trigger {trigger!r}")
    messages = conversations.list_messages(session, conversation.id)
    need = find_need(session, conversation, messages, intent=intent, confidence=confidence)
    language = language or conversation.language or need.language
    if frustration is None:
        frustration = _max_frustration(messages)
    conversations.change_status(
        session,
        conversation,
        Action.ESCALATE,
        actor_type={"ai": "ai", "customer": "customer"}.get(trigger, "user"),
        actor_id=actor_id,
        data={
            "trigger": trigger,
            "reasons": list(reasons),
            "intent": need.intent,
            "confidence": need.confidence,
        },
    )
    outcome = routing.route_escalation(
        session,
        conversation,
        reasons=list(reasons),
        intent=need.intent,
        language=language,
        frustration=frustration,
        now=now,
    )
    packet = HandoffPacket(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        trigger=trigger,
        reasons=list(reasons),
        data=build_packet_data(session, conversation, messages, need=need, outcome=outcome),
    )
    session.add(packet)
    notice = compose_handoff(
        language=language,
        wait_minutes=outcome.expected_wait_minutes if outcome.staffed else None,
        back_at=None if outcome.staffed else _when(outcome.next_open_at),
    )
    conversations.post_message(
        session,
        conversation,
        author=Author.SYSTEM,
        text=notice.text,
        max_chars=len(notice.text),  # the desk's own text; the length limit is for people
        meta={
            "kind": "handoff",
            "reasons": list(reasons),
            "expected_wait_minutes": outcome.expected_wait_minutes,
            "queue": outcome.queue_name,
        },
    )
    session.flush()
    return packet


def intent_bar(session: Session, workspace_id: str, model_version: object) -> float:
    """Return the confidence an intent of this model version must reach to be shown."""
    threshold = None
    if isinstance(model_version, int) and not isinstance(model_version, bool):
        scope_session(session, workspace_id)
        description = session.scalar(
            select(ModelVersion.description).where(ModelVersion.version == model_version)
        )
        threshold = (description or {}).get("threshold")
    if not isinstance(threshold, int | float):
        return MIN_INTENT_CONFIDENCE
    return max(MIN_INTENT_CONFIDENCE, float(threshold))


def find_need(
    session: Session,
    conversation: Conversation,
    messages: Sequence[Message],
    *,
    intent: str | None = None,
    confidence: float | None = None,
) -> Need:
    """Return what the customer needs now: their newest message that states a need.

    A message that only asks for a person, says it is the third time, or vents is no need, and
    neither is its intent. The intent is that message's triage (or, for the newest message
    before triage, the caller's `intent`), shown only above `intent_bar`.
    """
    rows = [m for m in messages if m.author == Author.CUSTOMER.value and not m.is_private]
    triaged = [m.meta["triage"] for m in rows if isinstance(m.meta.get("triage"), dict)]
    language = next((t.get("language") for t in reversed(triaged) if t.get("language")), None)
    stated = choose_need([m.text for m in rows])
    if stated is None:
        return Need(None, None, None, MIN_INTENT_CONFIDENCE, language)
    triage = rows[stated.index].meta.get("triage") or {}
    guess, score = triage.get("intent"), triage.get("confidence")
    if not guess and stated.index == len(rows) - 1:
        guess, score = intent, confidence
    bar = intent_bar(session, conversation.workspace_id, triage.get("model_version"))
    shown = bool(guess) and not triage.get("out_of_scope") and score is not None and score >= bar
    return Need(
        text=stated.text,
        intent=str(guess) if shown else None,
        confidence=round(float(score), 4) if shown and score is not None else None,
        min_confidence=round(bar, 4),
        language=triage.get("language") or language,
    )


def shown_intent(data: Mapping[str, Any]) -> tuple[str, float] | None:
    """Return a packet's (intent, confidence) if it clears the bar, also for older packets."""
    intent, confidence = data.get("intent"), data.get("confidence")
    if not intent or not isinstance(confidence, int | float):
        return None
    bar = data.get("intent_min_confidence")
    bar = float(bar) if isinstance(bar, int | float) else MIN_INTENT_CONFIDENCE
    return (str(intent), float(confidence)) if confidence >= bar else None


def build_packet_data(
    session: Session,
    conversation: Conversation,
    messages: Sequence[Message],
    *,
    need: Need,
    outcome: RoutingOutcome | None,
) -> dict[str, Any]:
    """Return what an agent needs to continue without asking the customer to repeat anything."""
    customer_rows = [m for m in messages if m.author == Author.CUSTOMER.value]
    triages = [m.meta.get("triage") or {} for m in customer_rows]
    turns = [
        Turn(author=m.author, text=m.text)
        for m in messages
        if m.author in (Author.CUSTOMER.value, Author.AI.value, Author.AGENT.value)
    ]
    customer = conversation.customer
    latest = customer_rows[-1].text.strip() if customer_rows else ""
    return {
        "summary": _summary(turns, need.text),
        # The need in the customer's words (None until they said one), then its intent.
        "need": need.text,
        "last_customer_message": one_line(latest, LATEST_CHARS),
        "intent": need.intent,
        "confidence": need.confidence,
        "intent_min_confidence": need.min_confidence,
        "language": conversation.language,
        "entities": _entities(triages),
        "sentiment": _sentiment(triages),
        "ai_answers": [
            {
                "text": m.text,
                "intent": m.meta.get("intent"),
                "source_title": (m.meta.get("source") or {}).get("title"),
            }
            for m in messages
            if m.author == Author.AI.value
        ],
        "customer": {
            "name": customer.name,
            "email": customer.email,
            "is_vip": customer.is_vip,
        },
        "past_conversations": past_conversations(session, conversation),
        "customer_messages": len(customer_rows),
        "queue_name": outcome.queue_name if outcome else None,
        "priority": conversation.priority,
        "expected_wait_minutes": outcome.expected_wait_minutes if outcome else None,
        "open_now": outcome.open_now if outcome else True,
        "next_open_at": _iso(outcome.next_open_at) if outcome else None,
        "assignee_id": outcome.assignee_id if outcome else None,
    }


def past_conversations(session: Session, conversation: Conversation) -> list[dict[str, Any]]:
    """Return the customer's other conversations, newest first, with their opening line."""
    return [
        {
            "id": item.id,
            "status": item.status,
            "created_at": _iso(item.created_at),
            "resolved_at": _iso(item.resolved_at),
            "first_line": item.subject or "",
        }
        for item in conversations.customer_history(session, conversation, PAST_CONVERSATIONS)
    ]


def _summary(turns: Sequence[Turn], need: str | None) -> str:
    """Return the extractive summary, making sure it ends with what the customer needs now."""
    summary = summarize(turns) if turns else ""
    if need and one_line(need, 60).rstrip("…") not in summary:
        summary = (summary + "\n" if summary else "") + "Now: " + one_line(need, LATEST_CHARS)
    return summary


def _max_frustration(messages: Sequence[Message]) -> float | None:
    values = [
        float(m.meta["triage"]["frustration"])
        for m in messages
        if m.author == Author.CUSTOMER.value and "frustration" in (m.meta.get("triage") or {})
    ]
    return max(values) if values else None


def _entities(triages: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for triage in triages:
        for entity in triage.get("entities") or []:
            key = (str(entity.get("kind")), str(entity.get("value")))
            seen.setdefault(key, {"type": key[0], "value": key[1]})
    return list(seen.values())


def _sentiment(triages: Sequence[dict[str, Any]]) -> dict[str, Any]:
    scores = [float(t["sentiment"]) for t in triages if "sentiment" in t]
    frustration = [float(t["frustration"]) for t in triages if "frustration" in t]
    if not scores:
        return {"label": None, "average": None, "latest": None, "trend": None, "frustration": None}
    trend = scores[-1] - scores[0] if len(scores) > 1 else 0.0
    labels = [str(t["sentiment_label"]) for t in triages if t.get("sentiment_label")]
    return {
        # The latest message's label: "frustrated" says more than a polarity of 0.00 (VADER has
        # no score for "idiots"; the frustration model reads the whole message).
        "label": labels[-1] if labels else None,
        "average": round(fmean(scores), 3),
        "latest": round(scores[-1], 3),
        # Negative: the customer got more upset as the conversation went on.
        "trend": "worse" if trend < -0.2 else "better" if trend > 0.2 else "steady",
        "frustration": round(max(frustration), 3) if frustration else None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    # Routing gives the opening time in the workspace's timezone; name the zone for the customer.
    zone = getattr(value.tzinfo, "key", None) or value.tzname() or "UTC"
    return f"{value:%A %H:%M} ({zone})"
