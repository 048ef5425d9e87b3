"""The front line's orchestration: triage a stored customer message, then answer or escalate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from tandem.config import get_settings
from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import Author
from tandem.conversations.state import Status
from tandem.db.session import scope_session
from tandem.handoff import service as handoff
from tandem.jobs.service import register
from tandem.knowledge.service import ApprovedAnswer, approved_answers, retriever_cache
from tandem.triage.decision import Decision, Policy, Reason, decide
from tandem.triage.pipeline import MAX_TRIAGE_CHARS, SIGNAL_EMBEDDER, TriageResult, embed
from tandem.triage.responder import compose_answer
from tandem.triage.service import triage_cache
from tandem.triage.signals.bot_loop import Turn
from tandem.workspaces.models import Workspace

HISTORY_TURNS = 4
RELATED_MIN_SCORE = 0.35


@dataclass(frozen=True)
class Plan:
    """What the front line would do with one message: the decision and, if any, the reply."""

    triage: TriageResult
    decision: Decision
    answer: ApprovedAnswer | None
    related: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able record (what the admin test box and the API show)."""
        reply = None
        if self.answer is not None:
            reply = compose_answer(self.answer, language=self.triage.language).text
        return {
            "triage": self.triage.as_dict(),
            "decision": self.decision.as_dict(),
            "reply": reply,
            "source": (
                {"kind": self.answer.kind, "intent": self.answer.intent, "title": self.answer.title}
                if self.answer is not None
                else None
            ),
            "related_articles": self.related,
        }


def plan_reply(
    session: Session, workspace: Workspace, text: str, history: Sequence[Turn] = ()
) -> Plan:
    """Triage a message in its (scoped) workspace and decide whether and how the AI answers."""
    triage = triage_cache.get(session, workspace)
    result = triage.run(text, history)
    retriever = retriever_cache.get(
        session, workspace_id=workspace.id, embedder_name=SIGNAL_EMBEDDER
    )
    hits = retriever.search(result.vector, k=3) if result.vector is not None else []
    related = [
        {"title": hit.passage.title, "source": hit.passage.source, "score": round(hit.score, 3)}
        for hit in hits
        if hit.score >= RELATED_MIN_SCORE
    ]
    answers = approved_answers(session)
    policy = Policy.from_settings(
        workspace.settings or {},
        threshold=triage.intent_model.threshold if triage.intent_model else 1.0,
        blocked_intents=[i for i, a in answers.items() if not a.ai_allowed],
    )
    decision = decide(
        result.signals(), policy, answerable_intents=[i for i, a in answers.items() if a.ai_allowed]
    )
    answer = answers.get(decision.intent or "") if decision.answer else None
    return Plan(triage=result, decision=decision, answer=answer, related=related)


def preview_message(session: Session, *, workspace: Workspace, text: str) -> dict[str, Any]:
    """Return what the AI would do with a customer message, without storing anything."""
    scope_session(session, workspace.id)
    return plan_reply(session, workspace, text).as_dict()


@register("process_customer_message")
def process_customer_message(session: Session, payload: dict[str, Any]) -> None:
    """Triage a customer message; while the AI owns the conversation, answer or escalate."""
    message = session.get(Message, payload["message_id"])
    if message is None or message.meta.get("triage"):
        return  # deleted, or already processed by an earlier attempt
    scope_session(session, message.workspace_id)
    conversation = conversations.get_conversation(session, message.conversation_id, lock=True)
    workspace = session.get(Workspace, message.workspace_id)
    assert workspace is not None
    plan = plan_reply(
        session, workspace, message.text, _history(session, conversation, before_seq=message.seq)
    )
    result = plan.triage
    message.meta = {
        **message.meta,
        "triage": result.as_dict(),
        "related_articles": plan.related,
    }
    if result.language and not conversation.language:
        conversation.language = result.language
    if conversation.status_enum is not Status.AI:
        # A human owns it (or it is waiting for one): triage informs the agent; the AI stays silent.
        flag_modified(message, "meta")
        return
    message.meta = {**message.meta, "decision": plan.decision.as_dict()}
    flag_modified(message, "meta")
    if plan.answer is not None:
        _answer(session, conversation, plan.answer, result, plan.decision)
    else:
        _escalate(session, conversation, result, plan.decision)


def _history(session: Session, conversation: Conversation, *, before_seq: int) -> list[Turn]:
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.seq < before_seq)
        .order_by(Message.seq.desc())
        .limit(HISTORY_TURNS * 3)
    ).all()
    turns: list[Turn] = []
    answered_after = False
    for row in rows:  # newest first, so we know whether the AI answered after each turn
        if row.author == Author.AI.value:
            answered_after = True
        elif row.author == Author.CUSTOMER.value and len(turns) < HISTORY_TURNS:
            triage = row.meta.get("triage", {})
            turns.append(
                Turn(
                    text=row.text[:MAX_TRIAGE_CHARS],
                    vector=embed(SIGNAL_EMBEDDER, row.text[:MAX_TRIAGE_CHARS]),
                    intent=triage.get("intent"),
                    confidence=triage.get("confidence"),
                    ai_answered=answered_after,
                )
            )
            answered_after = False
        elif row.author in (Author.AGENT.value, Author.SYSTEM.value):
            break  # a human or a handoff reset the loop; earlier turns are another episode
    return list(reversed(turns))


def _answer(
    session: Session,
    conversation: Conversation,
    answer: ApprovedAnswer,
    result: TriageResult,
    decision: Decision,
) -> None:
    reply = compose_answer(answer, language=result.language)
    conversations.post_message(
        session,
        conversation,
        author=Author.AI,
        text=reply.text,
        max_chars=max(get_settings().max_message_chars, len(reply.text)),
        meta={
            "intent": decision.intent,
            "confidence": round(decision.confidence, 4),
            "source": {
                "kind": answer.kind,
                "intent": answer.intent,
                "title": reply.source_title,
                "url": reply.source_url,
            },
            "model_version": result.model_version,
        },
    )


def _escalate(
    session: Session, conversation: Conversation, result: TriageResult, decision: Decision
) -> None:
    # "Let me talk to a person" names who should answer, not the need: handoff then reads the
    # need from the customer's earlier messages. Priority, queue, SLA and assignment are
    # routing's decisions (tandem.routing).
    names_need = Reason.HUMAN_REQUESTED not in decision.reasons
    handoff.escalate(
        session,
        conversation,
        trigger="ai",
        reasons=[r.value for r in decision.reasons],
        intent=decision.intent if names_need else None,
        confidence=decision.confidence if names_need else None,
        language=result.language,
        frustration=result.frustration,
    )
