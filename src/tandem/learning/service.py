"""Resolve = label: a human's resolution becomes a training example and maybe a candidate answer.

When an agent resolves a conversation a human handled, they confirm (or correct, or skip) the
intent of the customer's need. A confirmed intent the workspace already has becomes a training
example at once; an example of a new intent, and any candidate answer taken from the agent's
reply, wait for a supervisor: nothing the AI says to customers changes without one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import Author
from tandem.conversations.state import Action
from tandem.copilot.cases import extract_case
from tandem.core.errors import ConflictError, NotFoundError, ValidationError
from tandem.db.base import utcnow
from tandem.db.session import one_or_not_found
from tandem.events.service import audit
from tandem.knowledge.intents import MAX_EXAMPLE_CHARS, clean_intent, known_intents
from tandem.knowledge.models import Answer, AnswerCandidate, TrainingExample
from tandem.knowledge.service import upsert_answer
from tandem.triage.need import need_to_learn_from

MAX_TITLE_CHARS = 200
LEARNED = "resolution"  # TrainingExample.source of examples learned from resolutions


@dataclass(frozen=True)
class LabelSuggestion:
    """What the resolve dialog pre-fills: the customer's need and triage's guess at its intent."""

    asked: bool  # whether resolving asks for a label (a human handled the conversation)
    text: str | None
    message_id: str | None
    intent: str | None
    confidence: float
    known_intents: list[str]


@dataclass(frozen=True)
class Label:
    """What a resolution taught: the example (None when skipped) and a candidate answer."""

    skipped: bool
    example: TrainingExample | None = None
    candidate: AnswerCandidate | None = None


def human_handled(session: Session, conversation: Conversation) -> bool:
    """Return whether a person worked on the conversation (owned it or replied)."""
    if conversation.assignee_id is not None:
        return True
    replied = select(Message.id).where(
        Message.conversation_id == conversation.id, Message.author == Author.AGENT.value
    )
    return session.scalar(replied.limit(1)) is not None


def suggest_label(session: Session, conversation: Conversation) -> LabelSuggestion:
    """Return the need to label and triage's best guess (its intent, unless out of scope)."""
    messages = conversations.list_messages(session, conversation.id)
    need = need_to_learn_from(messages)
    triage = need.meta.get("triage") if need is not None else None
    guess = triage if isinstance(triage, dict) and not triage.get("out_of_scope") else {}
    return LabelSuggestion(
        asked=human_handled(session, conversation),
        text=need.text if need is not None else None,
        message_id=need.id if need is not None else None,
        intent=guess.get("intent") or None,
        confidence=float(guess.get("confidence") or 0.0),
        known_intents=sorted(known_intents(session)),
    )


def resolve(
    session: Session,
    conversation: Conversation,
    *,
    actor_id: str,
    intent: str | None,
    reason: str | None = None,
) -> Label:
    """Resolve a locked conversation and record its label (or that the agent skipped it).

    A conversation yields at most one example: resolving it again after a reopen replaces the
    label it gave before.
    """
    suggestion = suggest_label(session, conversation)
    chosen = clean_intent(intent) if intent is not None and intent.strip() else None
    if chosen is not None and suggestion.text is None:
        raise ValidationError("the customer has not written anything to learn from yet")
    label: dict[str, object] = {
        "intent": chosen,
        "suggested": suggestion.intent,
        "skipped": chosen is None,
    }
    if chosen is not None:
        label["new_intent"] = chosen not in suggestion.known_intents
    data: dict[str, object] = {"label": label} if suggestion.asked or chosen else {}
    if reason:
        data["reason"] = reason
    conversations.change_status(
        session,
        conversation,
        Action.RESOLVE,
        actor_type="user",
        actor_id=actor_id,
        data=data or None,
    )
    if chosen is None or suggestion.text is None:
        # A skipped label takes back what an earlier resolution of this conversation taught.
        session.execute(
            delete(TrainingExample).where(TrainingExample.conversation_id == conversation.id)
        )
        return Label(skipped=True)
    example = _store_example(
        session,
        conversation,
        text=suggestion.text[:MAX_EXAMPLE_CHARS],
        intent=chosen,
        pending=chosen not in suggestion.known_intents,
        actor_id=actor_id,
    )
    return Label(
        skipped=False,
        example=example,
        candidate=_propose_answer(session, conversation, intent=chosen, actor_id=actor_id),
    )


def _store_example(
    session: Session,
    conversation: Conversation,
    *,
    text: str,
    intent: str,
    pending: bool,
    actor_id: str,
) -> TrainingExample:
    example = session.scalar(
        select(TrainingExample).where(TrainingExample.conversation_id == conversation.id)
    )
    if example is None:
        example = TrainingExample(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            source=LEARNED,
            text=text,
            intent=intent,
        )
        session.add(example)
    example.text, example.intent, example.pending = text, intent, pending
    example.confirmed_by, example.created_at = actor_id, utcnow()
    session.flush()
    return example


def _propose_answer(
    session: Session, conversation: Conversation, *, intent: str, actor_id: str
) -> AnswerCandidate | None:
    """Offer the agent's reply as the intent's answer when it has none (and none is proposed)."""
    if session.scalar(select(Answer.id).where(Answer.intent == intent)) is not None:
        return None
    waiting = select(AnswerCandidate.id).where(
        AnswerCandidate.intent == intent, AnswerCandidate.status == "pending"
    )
    if session.scalar(waiting) is not None:
        return None
    case = extract_case(conversations.list_messages(session, conversation.id))
    if case is None:
        return None  # no substantive human reply (or it held payment data)
    candidate = AnswerCandidate(
        workspace_id=conversation.workspace_id,
        intent=intent,
        body=case.answer,
        conversation_id=conversation.id,
        proposed_by=actor_id,
    )
    session.add(candidate)
    session.flush()
    return candidate


# --- a supervisor's approvals -----------------------------------------------------------------


@dataclass(frozen=True)
class PendingIntent:
    """A new intent agents named at resolution, with its examples, waiting for approval."""

    intent: str
    examples: list[TrainingExample]
    candidate: AnswerCandidate | None


def pending_intents(session: Session) -> list[PendingIntent]:
    """Return the new intents waiting for a supervisor, the most examples first."""
    rows = session.scalars(
        select(TrainingExample)
        .where(TrainingExample.pending.is_(True))
        .order_by(TrainingExample.created_at, TrainingExample.id)
    ).all()
    grouped: dict[str, list[TrainingExample]] = {}
    for row in rows:
        grouped.setdefault(row.intent, []).append(row)
    candidates = {c.intent: c for c in list_candidates(session)}
    found = [PendingIntent(i, examples, candidates.get(i)) for i, examples in grouped.items()]
    return sorted(found, key=lambda p: (-len(p.examples), p.intent))


def _waiting(session: Session, intent: str) -> int:
    query = select(func.count(TrainingExample.id)).where(
        TrainingExample.intent == intent, TrainingExample.pending.is_(True)
    )
    count = int(session.scalar(query) or 0)
    if not count:
        raise NotFoundError(f"no new intent {intent!r} is waiting for approval")
    return count


def approve_intent(session: Session, *, workspace_id: str, intent: str) -> int:
    """Make a new intent's examples trainable; return how many there are."""
    count = _waiting(session, intent)
    session.execute(
        update(TrainingExample)
        .where(TrainingExample.intent == intent, TrainingExample.pending.is_(True))
        .values(pending=False)
    )
    audit(
        session,
        workspace_id=workspace_id,
        type="learning.intent_approved",
        data={"intent": intent, "examples": count},
    )
    return count


def dismiss_intent(session: Session, *, workspace_id: str, intent: str) -> int:
    """Drop a proposed new intent: its waiting examples and answer are discarded."""
    count = _waiting(session, intent)
    session.execute(
        delete(TrainingExample).where(
            TrainingExample.intent == intent, TrainingExample.pending.is_(True)
        )
    )
    for candidate in list_candidates(session):
        if candidate.intent == intent:
            _decide(candidate, "dismissed", decided_by=None)
    audit(
        session,
        workspace_id=workspace_id,
        type="learning.intent_dismissed",
        data={"intent": intent, "examples": count},
    )
    return count


def list_candidates(session: Session) -> list[AnswerCandidate]:
    """Return the answers proposed from agents' replies that wait for a supervisor."""
    return list(
        session.scalars(
            select(AnswerCandidate)
            .where(AnswerCandidate.status == "pending")
            .order_by(AnswerCandidate.created_at, AnswerCandidate.id)
        )
    )


def get_candidate(session: Session, candidate_id: str) -> AnswerCandidate:
    """Return one proposed answer of the scoped workspace, or raise NotFoundError."""
    query = select(AnswerCandidate).where(AnswerCandidate.id == candidate_id)
    return one_or_not_found(session, query, "answer candidate")


def approve_candidate(
    session: Session,
    *,
    candidate_id: str,
    actor_id: str,
    title: str | None = None,
    body: str | None = None,
) -> Answer:
    """Make a proposed answer (as the supervisor edited it) the intent's approved answer.

    The intent's waiting examples are approved with it: an answer needs an intent to answer.
    """
    candidate = get_candidate(session, candidate_id)
    if candidate.status != "pending":
        raise ConflictError(f"this answer was already {candidate.status}")
    intent = candidate.intent
    waiting = select(TrainingExample.id).where(
        TrainingExample.intent == intent, TrainingExample.pending.is_(True)
    )
    if session.scalar(waiting.limit(1)) is not None:
        approve_intent(session, workspace_id=candidate.workspace_id, intent=intent)
    answer = upsert_answer(
        session,
        workspace_id=candidate.workspace_id,
        intent=intent,
        title=(title or "").strip() or intent.replace("_", " ").capitalize()[:MAX_TITLE_CHARS],
        body=body if body is not None and body.strip() else candidate.body,
        ai_allowed=True,
    )
    _decide(candidate, "approved", decided_by=actor_id)
    audit(
        session,
        workspace_id=candidate.workspace_id,
        type="learning.answer_approved",
        data={"intent": intent, "candidate_id": candidate.id, "edited": body is not None},
    )
    return answer


def dismiss_candidate(session: Session, *, candidate_id: str, actor_id: str) -> AnswerCandidate:
    """Turn a proposed answer down; the intent keeps its examples."""
    candidate = get_candidate(session, candidate_id)
    if candidate.status != "pending":
        raise ConflictError(f"this answer was already {candidate.status}")
    _decide(candidate, "dismissed", decided_by=actor_id)
    audit(
        session,
        workspace_id=candidate.workspace_id,
        type="learning.answer_dismissed",
        data={"intent": candidate.intent, "candidate_id": candidate.id},
    )
    return candidate


def _decide(candidate: AnswerCandidate, status: str, *, decided_by: str | None) -> None:
    candidate.status, candidate.decided_by, candidate.decided_at = status, decided_by, utcnow()
