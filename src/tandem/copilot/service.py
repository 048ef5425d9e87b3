"""What the co-pilot offers an agent: suggested replies, next actions, history, draft checks."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import Author
from tandem.conversations.state import Status
from tandem.copilot.cases import is_substantive
from tandem.copilot.compliance import ComplianceRules, Flag, check_draft
from tandem.copilot.models import ResolvedCase
from tandem.core.text import one_line
from tandem.db.session import scope_session
from tandem.knowledge.models import Article
from tandem.knowledge.service import approved_answers, retriever_cache
from tandem.routing.models import Queue
from tandem.triage.decision import asked_for_human, front_line_decision, would_answer
from tandem.triage.need import latest_need, latest_question_triage
from tandem.triage.pipeline import MAX_TRIAGE_CHARS, SIGNAL_EMBEDDER, embed
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import update_settings
from tandem.workspaces.settings import workspace_settings

SourceKind = Literal["approved_answer", "article", "resolved_case"]
ActionKind = Literal["article", "queue", "hand_back", "resolve", "ask_info"]

# Below these cosine similarities a passage or case is more often about something else
# (measured on the bitext replay, see scripts/bench_copilot.py).
ARTICLE_MIN_SCORE = 0.35
CASE_MIN_SCORE = 0.45
DUPLICATE_JACCARD = 0.8
CANDIDATES_PER_SOURCE = 8
# Intents that cannot be handled without the customer's order reference (override per workspace
# with settings["copilot"]["required_entities"] = {intent: [entity kind, ...]}).
DEFAULT_REQUIRED_ENTITIES: Mapping[str, tuple[str, ...]] = {
    intent: ("order_number",)
    for intent in (
        "order_status",
        "track_order",
        "cancel_order",
        "change_order",
        "change_shipping_address",
        "start_return",
        "get_refund",
        "track_refund",
        "exchange_size",
        "damaged_or_wrong_item",
        "order_never_arrived_claim",
        "refund_dispute",
        "check_invoice",
        "get_invoice",
        "price_drop_adjustment",
    )
}
# An order number also identifies the order when the customer gave its tracking number.
_EQUIVALENT_ENTITIES = {"order_number": {"order_number", "tracking_number"}}


@dataclass(frozen=True)
class Suggestion:
    """A reply the agent may send or adapt, where it came from, and how well it fits (0..1)."""

    text: str
    source_kind: SourceKind
    source_title: str
    source_ref: str
    score: float


@dataclass(frozen=True)
class NextAction:
    """A step the agent may take next."""

    label: str
    kind: ActionKind
    target: str | None


# --- suggestions --------------------------------------------------------------------------


def suggestions(
    session: Session, conversation: Conversation, *, limit: int = 3
) -> list[Suggestion]:
    """Return up to `limit` replies for the customer's latest need, best first, deduplicated."""
    asked = _customer_messages(session, conversation)
    if not asked:
        return []
    # "Can I talk to a person?" is not the need: look up the message that states one.
    need = latest_need(asked) or asked[-1]
    vector = embed(SIGNAL_EMBEDDER, need.text[:MAX_TRIAGE_CHARS])
    candidates = [
        *_from_approved_answer(session, asked),
        *_from_articles(session, conversation.workspace_id, vector),
        *_from_cases(session, conversation, vector),
    ]
    return _dedupe(sorted(candidates, key=lambda s: -s.score))[:limit]


def _from_approved_answer(session: Session, asked: Sequence[Message]) -> list[Suggestion]:
    triage = _latest_triage(asked)
    intent = triage.get("intent")
    # People may see knowledge the AI may not use (ai_only=False).
    answer = approved_answers(session, ai_only=False).get(intent) if intent else None
    # Off-topic means no intent is near. A store question the intents do not cover (out of scope,
    # not off-topic) still names the nearest intent, with its own probability: a person may judge.
    if answer is None or triage.get("off_topic"):
        return []
    # The intent model's confidence is calibrated: it is the chance this answer is the right one.
    return [
        Suggestion(
            text=answer.body,
            source_kind="approved_answer",
            source_title=answer.title,
            source_ref=answer.intent,
            score=_unit(triage.get("confidence", 0.0)),
        )
    ]


def _from_articles(session: Session, workspace_id: str, vector: np.ndarray) -> list[Suggestion]:
    # Suggestions go to a person, who may use articles switched off for the AI.
    retriever = retriever_cache.get(
        session, workspace_id=workspace_id, embedder_name=SIGNAL_EMBEDDER, ai_only=False
    )
    return [
        Suggestion(
            text=hit.passage.text,
            source_kind="article",
            source_title=hit.passage.title,
            source_ref=hit.passage.source,
            score=_unit(hit.score),
        )
        for hit in retriever.search(vector, k=CANDIDATES_PER_SOURCE)
        if hit.score >= ARTICLE_MIN_SCORE
    ]


def _from_cases(
    session: Session, conversation: Conversation, vector: np.ndarray
) -> list[Suggestion]:
    index = case_index_cache.get(session, workspace_id=conversation.workspace_id)
    nearest = index.search(vector, k=CANDIDATES_PER_SOURCE, exclude=conversation.id)
    nearest = [(case_id, score) for case_id, score in nearest if score >= CASE_MIN_SCORE]
    if not nearest:
        return []
    rows = {
        case.id: case
        for case in session.scalars(
            select(ResolvedCase).where(ResolvedCase.id.in_([c for c, _ in nearest]))
        )
    }
    return [
        Suggestion(
            text=rows[case_id].answer,
            source_kind="resolved_case",
            source_title=one_line(rows[case_id].question, 80),
            source_ref=rows[case_id].conversation_id,
            score=_unit(score),
        )
        for case_id, score in nearest
        if case_id in rows  # deleted since the index was built
    ]


class CaseIndex:
    """The unit-length question embeddings of one workspace's resolved cases."""

    def __init__(self, ids: Sequence[str], conversation_ids: Sequence[str], matrix: np.ndarray):
        self.ids = list(ids)
        self.conversation_ids = np.asarray(conversation_ids, dtype=object)
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, vector: np.ndarray, *, k: int, exclude: str | None) -> list[tuple[str, float]]:
        """Return up to k (case id, cosine) pairs, most similar first."""
        if not self.ids:
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        if exclude is not None:
            scores = np.where(self.conversation_ids == exclude, -np.inf, scores)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if np.isfinite(scores[i])]


class CaseIndexCache:
    """One case index per workspace, reloaded when its cases change."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, object], CaseIndex]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, *, workspace_id: str) -> CaseIndex:
        """Return the workspace's index (scoping the session to that workspace)."""
        scope_session(session, workspace_id)
        scoped = ResolvedCase.embedder == SIGNAL_EMBEDDER
        # Replacing a case deletes one row and adds a newer one, so the newest time changes.
        count, newest = session.execute(
            select(func.count(), func.max(ResolvedCase.created_at)).where(scoped)
        ).one()
        fingerprint = (int(count), newest)
        with self._lock:
            cached = self._entries.get(workspace_id)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
        rows = session.execute(
            select(ResolvedCase.id, ResolvedCase.conversation_id, ResolvedCase.embedding).where(
                scoped
            )
        ).all()
        matrix = (
            np.vstack([np.frombuffer(r.embedding, dtype=np.float32) for r in rows])
            if rows
            else np.zeros((0, 1), dtype=np.float32)
        )
        index = CaseIndex([r.id for r in rows], [r.conversation_id for r in rows], matrix)
        with self._lock:
            self._entries[workspace_id] = (fingerprint, index)
        return index


case_index_cache = CaseIndexCache()


def _dedupe(ranked: Sequence[Suggestion]) -> list[Suggestion]:
    kept: list[tuple[Suggestion, frozenset[str]]] = []
    for suggestion in ranked:
        words = frozenset(_WORDS.findall(suggestion.text.lower()))
        if any(_jaccard(words, other) >= DUPLICATE_JACCARD for _, other in kept):
            continue
        kept.append((suggestion, words))
    return [s for s, _ in kept]


_WORDS = re.compile(r"\w+")


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


# --- next actions -------------------------------------------------------------------------


def next_actions(session: Session, conversation: Conversation) -> list[NextAction]:
    """Return the steps worth taking next, most useful first."""
    if conversation.status_enum is Status.RESOLVED:
        return []
    workspace = session.get(Workspace, conversation.workspace_id)
    assert workspace is not None
    messages = conversations.list_messages(session, conversation.id)
    asked = [m for m in messages if m.author == Author.CUSTOMER.value]
    triage = _latest_triage(asked)
    intent = triage.get("intent") if not triage.get("out_of_scope") else None
    actions: list[NextAction] = []
    actions.extend(_ask_for_missing(workspace, asked, intent))
    if intent:
        actions.extend(_article_for(session, intent))
        actions.extend(_queues_for(session, conversation, intent))
    actions.extend(_hand_back(session, workspace, conversation, asked))
    actions.extend(_resolve(conversation, messages))
    return actions


def _ask_for_missing(
    workspace: Workspace, asked: Sequence[Message], intent: str | None
) -> list[NextAction]:
    if intent is None:
        return []
    required = workspace_settings(workspace).copilot.required_entities or DEFAULT_REQUIRED_ENTITIES
    needed = required.get(intent) or ()
    found = {
        entity.get("kind")
        for m in asked
        for entity in (m.meta.get("triage") or {}).get("entities", [])
        if isinstance(entity, dict)
    }
    return [
        NextAction(f"Ask for the {kind.replace('_', ' ')}", "ask_info", kind)
        for kind in needed
        if isinstance(kind, str) and not (_EQUIVALENT_ENTITIES.get(kind, {kind}) & found)
    ]


def _article_for(session: Session, intent: str) -> list[NextAction]:
    article = session.scalar(
        select(Article).where(Article.intent == intent).order_by(Article.created_at).limit(1)
    )
    if article is None:
        return []
    return [NextAction(f"Share the article “{article.title}”", "article", article.source)]


def _queues_for(session: Session, conversation: Conversation, intent: str) -> list[NextAction]:
    if conversation.status_enum is Status.AI:
        return []
    queues = session.scalars(select(Queue).order_by(Queue.name)).all()
    return [
        NextAction(f"Escalate to {queue.name}", "queue", queue.id)
        for queue in queues
        if intent in (queue.intents or []) and queue.id != conversation.queue_id
    ]


def _hand_back(
    session: Session, workspace: Workspace, conversation: Conversation, asked: Sequence[Message]
) -> list[NextAction]:
    if conversation.status_enum not in (Status.HUMAN, Status.WAITING_FOR_HUMAN):
        return []
    need = latest_need(asked)
    # The front line's own decision on that message (tandem.triage.decision): only what the AI
    # would answer on its own goes back, and never after the customer asked for a person.
    if need is None or not would_answer(need.meta):
        return []
    if any(asked_for_human(m.meta) for m in asked):
        return []
    intent = front_line_decision(need.meta).get("intent")
    answer = approved_answers(session).get(intent) if intent else None
    if answer is None or not answer.ai_allowed:  # changed since: the AI may no longer say it
        return []
    label = f"Hand back to AI (it can answer “{intent}” on its own)"
    return [NextAction(label, "hand_back", str(intent))]


def _resolve(conversation: Conversation, messages: Sequence[Message]) -> list[NextAction]:
    if conversation.status_enum is not Status.HUMAN:
        return []
    spoken = [m for m in messages if m.author in (Author.CUSTOMER.value, Author.AGENT.value)]
    if not spoken:
        return []
    last = spoken[-1]
    agent_answered = last.author == Author.AGENT.value and is_substantive(last.text)
    # "Thanks, that worked!" after an agent reply: nothing is left to answer.
    customer_done = (
        last.author == Author.CUSTOMER.value
        and not is_substantive(last.text)
        and any(m.author == Author.AGENT.value for m in spoken)
    )
    if not (agent_answered or customer_done):
        return []
    return [NextAction("Resolve the conversation", "resolve", conversation.id)]


# --- history and checks -------------------------------------------------------------------


def rules_for(workspace: Workspace) -> ComplianceRules:
    """Return a workspace's compliance rules (defaults where it has none)."""
    return workspace_settings(workspace).compliance_rules


def update_rules(session: Session, workspace: Workspace, value: object) -> ComplianceRules:
    """Validate and store a workspace's compliance rules; raise ValidationError if bad."""
    rules = ComplianceRules.from_settings(value)
    update_settings(
        session,
        workspace,
        {"compliance": rules.as_dict()},
        audit_type="compliance.rules_changed",
        audit_data=rules.as_dict(),
    )
    return rules


def check(session: Session, workspace: Workspace, text: str) -> list[Flag]:
    """Return the compliance flags of a draft under the workspace's rules."""
    return check_draft(text, rules_for(workspace))


# --- helpers ------------------------------------------------------------------------------


def _customer_messages(session: Session, conversation: Conversation) -> list[Message]:
    messages = conversations.list_messages(session, conversation.id)
    return [m for m in messages if m.author == Author.CUSTOMER.value]


def _latest_triage(asked: Sequence[Message]) -> dict[str, Any]:
    # The newest message may not be triaged yet (its job is queued), or may only ask for a
    # person: use the newest that states a need (or asks what no intent covers).
    return latest_question_triage(asked)


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 4)
