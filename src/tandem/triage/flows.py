"""The front line's orchestration: triage a stored customer message; answer, reply or escalate."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import Author
from tandem.conversations.state import Status
from tandem.db.session import scope_session
from tandem.handoff import service as handoff
from tandem.knowledge.grounded import find_grounded_answer
from tandem.knowledge.models import TrainingExample
from tandem.knowledge.service import ApprovedAnswer, approved_answers, retriever_cache
from tandem.privacy.detect import shares_payment_data
from tandem.triage.decision import (
    FRONT_LINE_KEY,
    SMALL_TALK_REASONS,
    Action,
    Decision,
    Policy,
    Reason,
    answered_from_article,
    decide,
)
from tandem.triage.offtopic import scope_cache
from tandem.triage.pipeline import MAX_TRIAGE_CHARS, SIGNAL_EMBEDDER, TriageResult, embed
from tandem.triage.responder import (
    Reply,
    compose_answer,
    compose_article_answer,
    compose_scope,
    compose_small_talk,
    reply_language,
)
from tandem.triage.service import triage_cache
from tandem.triage.signals.bot_loop import Turn
from tandem.triage.smalltalk import SmallTalk, detect_small_talk
from tandem.workspaces.ai_settings import AiSettings, read_ai_settings, workspace_ai_settings
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

HISTORY_TURNS = 4
RELATED_MIN_SCORE = 0.35
SCOPE_TOPICS = 3  # answer titles named in a scope reply


@dataclass(frozen=True)
class Plan:
    """What the front line would do with one message: the decision and, if any, the reply."""

    triage: TriageResult
    decision: Decision
    answer: ApprovedAnswer | None
    related: list[dict[str, Any]]
    reply: Reply | None = None
    source: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-able record (what the admin test box and the API show)."""
        return {
            "triage": self.triage.as_dict(),
            "decision": self.decision.as_dict(),
            "reply": self.reply.text if self.reply is not None else None,
            "reply_language": self.reply.language if self.reply is not None else None,
            "source": self.source,
            "related_articles": self.related,
        }


def plan_reply(
    session: Session,
    workspace: Workspace,
    text: str,
    history: Sequence[Turn] = (),
    *,
    scope_replies_before: int = 0,
    language_hint: str | None = None,
    masked: Collection[str] = (),
) -> Plan:
    """Triage a message in its (scoped) workspace and decide whether and how the AI answers.

    scope_replies_before: how many scope replies the customer's previous messages got in a
    row; language_hint: the conversation's language so far (for short messages); masked: the
    kinds of personal data masked out of the text before it was stored.
    """
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
    settings = workspace_settings(workspace)
    persona = read_ai_settings(settings, workspace_name=workspace.name)
    policy = Policy.from_settings(
        settings,
        threshold=triage.intent_model.threshold if triage.intent_model else 1.0,
        blocked_intents=[i for i, a in answers.items() if not a.ai_allowed],
    )
    small_talk = detect_small_talk(text, result.vector)
    language = _reply_language(result, policy, hint=language_hint, small_talk=small_talk)
    allowed = [i for i, a in answers.items() if a.ai_allowed]
    signals = replace(
        result.signals(),
        small_talk=small_talk.kind if small_talk else None,
        scope_replies_before=scope_replies_before,
    )
    localized = [i for i in allowed if _in_language(answers[i], language, policy)]
    decision = decide(signals, policy, answerable_intents=allowed, localized_intents=localized)
    if decision.missed and result.vector is not None:
        oos_label = triage.intent_model.oos_label if triage.intent_model else None
        reference = scope_cache.get(session, workspace_id=workspace.id, oos_label=oos_label)
        off_topic, why = reference.check(result.vector)
        # Either the intent model put it with the built-in background (none of our intents),
        # or it sits closer to the background than to anything this workspace has taught.
        off_topic = off_topic or result.off_topic
        why = {**why, "intent_model_off_topic": result.off_topic}
        # A customer who sends card or account numbers is dealing with a payment, whatever
        # the words around them: that is for a person, never a "what I can help with" reply.
        if off_topic and shares_payment_data(text, masked):
            off_topic, why = False, {**why, "payment_data": True}
        signals = replace(signals, off_topic=off_topic)
        decision = decide(signals, policy, answerable_intents=allowed, localized_intents=localized)
        decision = replace(decision, details={**decision.details, "scope": why})
    if decision.may_answer_from_articles:
        plan = _plan_article(session, workspace, text, result, decision, language, policy)
        if plan is not None:
            return replace(plan, related=related)
    answer = answers.get(decision.intent or "") if decision.answer else None
    reply, source = _compose(decision, answer, answers, language, persona, policy, session)
    return Plan(
        triage=result, decision=decision, answer=answer, related=related, reply=reply, source=source
    )


def _reply_language(
    result: TriageResult, policy: Policy, *, hint: str | None, small_talk: SmallTalk | None
) -> str:
    """Return the language to reply in: this message's (when sure), the conversation's, or the
    small-talk phrase's; the workspace's default when none of those is one it supports."""
    trusted = result.signals().language
    if trusted is None and small_talk is not None:
        # "hola" is too short for language detection, but it is a Spanish greeting.
        candidates = [lang for lang in small_talk.languages if lang in policy.languages]
        if hint in candidates or result.language in candidates:
            trusted = hint if hint in candidates else result.language
        elif hint is None and candidates:
            trusted = candidates[0]
    return reply_language(
        trusted or hint, supported=sorted(policy.languages), default=policy.default_language
    )


def _in_language(answer: ApprovedAnswer, language: str, policy: Policy) -> bool:
    # Approved answers are written in the default language; translations cover the others.
    if language == policy.default_language:
        return True
    return bool((answer.translations.get(language) or {}).get("body"))


def _compose(
    decision: Decision,
    answer: ApprovedAnswer | None,
    answers: Mapping[str, ApprovedAnswer],
    language: str,
    persona: AiSettings,
    policy: Policy,
    session: Session,
) -> tuple[Reply | None, dict[str, Any] | None]:
    """Return the AI's reply for a decision (None when it escalates) and the answer's source."""
    if decision.action is Action.REPLY:
        small_talk = next((k for k, r in SMALL_TALK_REASONS.items() if r in decision.reasons), None)
        if small_talk is not None:
            return compose_small_talk(small_talk, language=language, persona=persona), None
        topics = _scope_topics(session, answers, language, policy)
        return compose_scope(topics, language=language, persona=persona), None
    if answer is None:
        return None, None
    in_default = "answer_language" in decision.details
    shown = answer if in_default else answer.localized(language)
    reply = compose_answer(
        shown,
        language=policy.default_language if in_default else language,
        persona=persona,
        untranslated=in_default,
    )
    source = {
        "kind": answer.kind,
        "intent": answer.intent,
        "title": reply.source_title,
        "url": reply.source_url,
    }
    return reply, source


def _scope_topics(
    session: Session, answers: Mapping[str, ApprovedAnswer], language: str, policy: Policy
) -> list[str]:
    """Return a few AI-allowed answers' titles in the reply's language, most-asked first."""
    counts = dict(
        session.execute(
            select(TrainingExample.intent, func.count(TrainingExample.id)).group_by(
                TrainingExample.intent
            )
        ).all()
    )
    titles = []
    for _, answer in sorted(answers.items(), key=lambda kv: (-counts.get(kv[0], 0), kv[0])):
        if answer.ai_allowed and answer.kind == "answer" and _in_language(answer, language, policy):
            titles.append(answer.localized(language).title)
    return titles[:SCOPE_TOPICS]


def _plan_article(
    session: Session,
    workspace: Workspace,
    text: str,
    result: TriageResult,
    decision: Decision,
    language: str,
    policy: Policy,
) -> Plan | None:
    """Return a plan answering from a knowledge-base article, or None when none answers.

    The one place the knowledge base (tandem.knowledge.grounded) plugs into the front line:
    only when the intent model's miss is all that stands between the customer and an answer.
    """
    found = find_grounded_answer(
        session, workspace, text=text, vector=result.vector, language=language
    )
    if found is None:
        return None
    # Articles are written in the default language (the knowledge base has no translations).
    untranslated = language != policy.default_language
    if untranslated and policy.language_fallback != "default_language":
        return None  # escalating as decided lets routing find an agent with the language
    persona = workspace_ai_settings(workspace)
    reply = compose_article_answer(
        title=found.title,
        passage=found.passage,
        url=found.url,
        language=policy.default_language if untranslated else language,
        persona=persona,
        untranslated=untranslated,
    )
    details: dict[str, Any] = {
        "article_score": found.score,
        "article_confidence": round(found.confidence, 4),
        "article_threshold": round(found.threshold, 4),
    }
    if untranslated:
        details["answer_language"] = policy.default_language
    return Plan(
        triage=result,
        decision=answered_from_article(decision, **details),
        answer=None,
        related=[],
        reply=reply,
        source={
            "kind": "article",
            "article_id": found.article_id,
            "title": found.title,
            "url": found.url,
        },
    )


def preview_message(session: Session, *, workspace: Workspace, text: str) -> dict[str, Any]:
    """Return what the AI would do with a customer message, without storing anything."""
    scope_session(session, workspace.id)
    return plan_reply(session, workspace, text).as_dict()


def process_customer_message(session: Session, payload: dict[str, Any]) -> None:
    """Triage a customer message; while the AI owns the conversation, answer, reply or escalate."""
    message = session.get(Message, payload["message_id"])
    if message is None or message.meta.get("triage"):
        return  # deleted, or already processed by an earlier attempt
    scope_session(session, message.workspace_id)
    conversation = conversations.get_conversation(session, message.conversation_id, lock=True)
    workspace = session.get(Workspace, message.workspace_id)
    assert workspace is not None
    earlier = _earlier_messages(session, conversation, before_seq=message.seq)
    plan = plan_reply(
        session,
        workspace,
        message.text,
        _history(earlier),
        scope_replies_before=_scope_replies_in_a_row(earlier),
        language_hint=conversation.language,
        masked=message.meta.get("masked") or (),
    )
    result = plan.triage
    triage = result.as_dict()
    # Card numbers were masked before the message was stored: triage sees only the mask.
    masked = message.meta.get("masked") or []
    triage["personal_data"] = sorted(set(triage.get("personal_data") or []) | set(masked))
    message.meta = {**message.meta, "triage": triage, "related_articles": plan.related}
    # Only a language the front line trusts names the conversation's ("card••••4444" is no Welsh).
    language = result.signals().language
    if language and not conversation.language:
        conversation.language = language
    if conversation.status_enum is not Status.AI:
        # A human owns it (or it is waiting for one): triage informs the agent; the AI stays
        # silent, but what it would have done is kept (the co-pilot asks: "hand back?").
        message.meta = {**message.meta, FRONT_LINE_KEY: plan.decision.as_dict()}
        flag_modified(message, "meta")
        return
    message.meta = {**message.meta, "decision": plan.decision.as_dict()}
    flag_modified(message, "meta")
    if plan.reply is not None:
        _post_reply(session, conversation, plan)
    else:
        _escalate(session, conversation, result, plan.decision)


def _earlier_messages(
    session: Session, conversation: Conversation, *, before_seq: int
) -> list[Message]:
    """Return the conversation's recent messages before one, newest first."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.seq < before_seq)
            .order_by(Message.seq.desc())
            .limit(HISTORY_TURNS * 3)
        ).all()
    )


def _history(rows: Sequence[Message]) -> list[Turn]:
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
                    confidence=None if triage.get("off_topic") else triage.get("confidence"),
                    ai_answered=answered_after,
                )
            )
            answered_after = False
        elif row.author in (Author.AGENT.value, Author.SYSTEM.value):
            break  # a human or a handoff reset the loop; earlier turns are another episode
    return list(reversed(turns))


def _scope_replies_in_a_row(rows: Sequence[Message]) -> int:
    """Return how many of the customer's latest messages got a scope reply, in a row.

    Small talk in between neither counts nor breaks the run; anything else (an answer, a
    person, a handoff) does.
    """
    count = 0
    for row in rows:  # newest first
        if row.author in (Author.AGENT.value, Author.SYSTEM.value):
            break
        if row.author != Author.CUSTOMER.value:
            continue
        decision = row.meta.get("decision") or {}
        reasons = decision.get("reasons") or []
        if decision.get("action") != Action.REPLY.value:
            break
        if Reason.OFF_TOPIC.value in reasons:
            count += 1
        elif not any(r.value in reasons for r in SMALL_TALK_REASONS.values()):
            break
    return count


def _post_reply(session: Session, conversation: Conversation, plan: Plan) -> None:
    reply, decision = plan.reply, plan.decision
    assert reply is not None
    conversations.post_message(
        session,
        conversation,
        author=Author.AI,
        text=reply.text,
        max_chars=len(reply.text),  # the desk's own text; the length limit is for people
        meta={
            "action": decision.action.value,
            "reasons": [r.value for r in decision.reasons],
            "intent": decision.intent,
            "confidence": round(decision.confidence, 4),
            "language": reply.language,
            "source": plan.source,
            "model_version": plan.triage.model_version,
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
