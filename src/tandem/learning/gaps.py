"""Knowledge gaps: needs humans answered that no approved answer covers, grouped by meaning.

Gaps are computed on read from the resolved cases (one per human-resolved conversation, with
the need's embedding the triage computed), so there is no table of gaps. A case is a gap when
the AI could not have answered its need: triage found no intent (out of scope), its intent has
no approved answer the AI may use, or the front line escalated it for low confidence, a missing
answer or a forbidden intent. Cases are clustered with scikit-learn's agglomerative clustering
(average linkage on cosine distance); groups of two or more are gaps, largest and most recent
first. A gap's id hashes its conversation ids: it changes when a new case joins the group.

A supervisor approves a gap (a new intent, its examples and an approved answer), merges it into
an existing intent, or dismisses it. Both decisions are audit events naming the conversations
they covered, and those conversations are never proposed again.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tandem.conversations.models import Message
from tandem.conversations.service import Author
from tandem.copilot.models import ResolvedCase
from tandem.core.errors import NotFoundError, ValidationError
from tandem.events.models import Event
from tandem.events.service import audit
from tandem.knowledge.intents import MAX_EXAMPLE_CHARS, add_example, clean_intent, known_intents
from tandem.knowledge.models import Answer, TrainingExample
from tandem.knowledge.service import approved_answers, upsert_answer
from tandem.triage.decision import Reason, front_line_decision
from tandem.triage.pipeline import SIGNAL_EMBEDDER

# Average-linkage cosine distance under which two groups merge: members of a gap are, on
# average, at least 0.5 cosine-similar. Measured on use-m3 paraphrases: rewordings of one need
# score 0.5-0.9, different needs 0.0-0.45 (see tests/learning/test_gaps.py's phrasings).
DISTANCE_THRESHOLD = 0.5
MIN_GAP_SIZE = 2
REPRESENTATIVES = 5
MAX_ANSWERS = 10
EXAMPLE_SOURCE = "gap"
APPROVED = "learning.gap_approved"
DISMISSED = "learning.gap_dismissed"
# Why the front line handed a need to a person when no approved answer covered it.
GAP_REASONS = frozenset(
    {
        Reason.OUT_OF_SCOPE.value,
        Reason.LOW_CONFIDENCE.value,
        Reason.INTENT_NOT_ALLOWED.value,
        Reason.NO_APPROVED_ANSWER.value,
        Reason.NO_MODEL.value,
        Reason.REPEATED_MISS.value,
        Reason.OFF_TOPIC.value,
    }
)
_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True)
class GapCase:
    """One need in a gap and how the agent answered it."""

    conversation_id: str
    question: str
    answer: str
    intent: str | None  # triage's guess, None when out of scope
    created_at: datetime
    centrality: float  # cosine similarity to the gap's centroid


@dataclass(frozen=True)
class Gap:
    """A group of similar needs no approved answer covers, central case first."""

    id: str
    cases: list[GapCase]
    proposed_intent: str
    proposed_answer: str

    @property
    def size(self) -> int:
        """Return how many needs the gap groups."""
        return len(self.cases)

    @property
    def last_seen(self) -> datetime:
        """Return when the latest of its needs was resolved."""
        return max(c.created_at for c in self.cases)

    @property
    def representatives(self) -> list[str]:
        """Return the needs closest to the gap's meaning, most central first."""
        return [c.question for c in self.cases[:REPRESENTATIVES]]

    @property
    def answers(self) -> list[str]:
        """Return how agents answered, distinct, the most central case's first."""
        return list(dict.fromkeys(c.answer for c in self.cases))[:MAX_ANSWERS]

    @property
    def conversation_ids(self) -> list[str]:
        """Return the conversations of its needs, sorted."""
        return sorted(c.conversation_id for c in self.cases)


@dataclass(frozen=True)
class GapApproval:
    """What approving a gap taught: the intent, its new examples, and the answer (if written)."""

    intent: str
    merged: bool  # the intent existed before
    examples_added: int
    examples_total: int
    answer: Answer | None


def gap_id(conversation_ids: Iterable[str]) -> str:
    """Return a gap's stable id: a hash of its sorted conversation ids."""
    joined = ",".join(sorted(conversation_ids))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def find_gaps(session: Session, *, limit: int | None = 20) -> list[Gap]:
    """Return the scoped workspace's knowledge gaps, the largest and most recent first."""
    cases = _uncovered_cases(session)
    if len(cases) < MIN_GAP_SIZE:
        return []
    from sklearn.cluster import AgglomerativeClustering

    matrix = np.vstack([np.frombuffer(c.embedding, dtype=np.float32) for c in cases])
    clusterer = AgglomerativeClustering(
        n_clusters=None,
        distance_threshold=DISTANCE_THRESHOLD,
        metric="cosine",
        linkage="average",
    )
    labels = clusterer.fit_predict(matrix)
    covered = _ai_answered_intents(session)
    gaps = []
    for label in set(labels.tolist()):
        members = [i for i, lab in enumerate(labels) if lab == label]
        if len(members) >= MIN_GAP_SIZE:
            gaps.append(_gap([cases[i] for i in members], matrix[members], covered))
    gaps.sort(key=lambda g: (-g.size, -g.last_seen.timestamp(), g.id))
    return gaps if limit is None else gaps[:limit]


def get_gap(session: Session, gap_id: str) -> Gap:
    """Return one current gap, or raise NotFoundError (it changed when a new need joined it)."""
    found = next((g for g in find_gaps(session, limit=None) if g.id == gap_id), None)
    if found is None:
        raise NotFoundError("knowledge gap not found (it may have changed; reload the gaps)")
    return found


def approve_gap(
    session: Session,
    *,
    workspace_id: str,
    gap_id: str,
    intent: str,
    title: str | None = None,
    body: str | None = None,
    actor_id: str | None = None,
) -> GapApproval:
    """Teach a gap as an intent: its needs become examples, and it gets an approved answer.

    A new intent's answer is the supervisor's `body`, else the proposed one. Merging into an
    intent the workspace knows writes the answer only when that intent has none, or a body
    other than the proposed one is given. Either way the answer the AI may use is then
    allowed for the AI.
    """
    gap = get_gap(session, gap_id)
    intent = clean_intent(intent)
    merged = intent in known_intents(session)
    existing_texts = set(
        session.scalars(select(TrainingExample.text).where(TrainingExample.intent == intent))
    )
    added = 0
    for case in gap.cases:
        text = case.question.strip()[:MAX_EXAMPLE_CHARS]
        if not text or text in existing_texts:
            continue
        add_example(
            session, workspace_id=workspace_id, intent=intent, text=text, source=EXAMPLE_SOURCE
        )
        existing_texts.add(text)
        added += 1
    current = session.scalar(select(Answer).where(Answer.intent == intent))
    # The proposed answer sent back unchanged (as a form does) is not an edit: merging keeps
    # the intent's own answer then.
    edited = body is not None and body.strip() not in ("", gap.proposed_answer.strip())
    answer: Answer | None = None
    if edited or current is None:
        default_title = current.title if current else intent.replace("_", " ").capitalize()
        answer = upsert_answer(
            session,
            workspace_id=workspace_id,
            intent=intent,
            title=(title or "").strip() or default_title,
            body=body if edited and body is not None else gap.proposed_answer,
            ai_allowed=True,
        )
    audit(
        session,
        workspace_id=workspace_id,
        type=APPROVED,
        data={
            "gap_id": gap.id,
            "intent": intent,
            "merged": merged,
            "examples": added,
            "answer_written": answer is not None,
            "edited": edited,
            "approved_by": actor_id,
            "conversation_ids": gap.conversation_ids,
        },
    )
    return GapApproval(
        intent=intent,
        merged=merged,
        examples_added=added,
        examples_total=len(existing_texts),
        answer=answer,
    )


def dismiss_gap(session: Session, *, workspace_id: str, gap_id: str) -> Gap:
    """Set a gap aside: its needs are not proposed again (new similar needs may form a gap)."""
    gap = get_gap(session, gap_id)
    audit(
        session,
        workspace_id=workspace_id,
        type=DISMISSED,
        data={"gap_id": gap.id, "conversation_ids": gap.conversation_ids},
    )
    return gap


# --- internals --------------------------------------------------------------------------------


def _ai_answered_intents(session: Session) -> set[str]:
    return {i for i, a in approved_answers(session).items() if a.ai_allowed}


def _decided_conversations(session: Session) -> set[str]:
    rows = session.scalars(select(Event.data).where(Event.type.in_([APPROVED, DISMISSED])))
    return {str(cid) for data in rows for cid in (data or {}).get("conversation_ids") or []}


def _uncovered_cases(session: Session) -> list[ResolvedCase]:
    """Return the cases (of the triage's embedder) whose need no AI-usable answer covered."""
    covered = _ai_answered_intents(session)
    decided = _decided_conversations(session)
    cases = [
        c
        for c in session.scalars(
            select(ResolvedCase)
            .where(ResolvedCase.embedder == SIGNAL_EMBEDDER)
            .order_by(ResolvedCase.created_at, ResolvedCase.id)
        )
        if c.conversation_id not in decided
    ]
    if not cases:
        return []
    ids = [c.conversation_id for c in cases]
    # A need an agent labelled at resolution with an intent the AI now answers is covered.
    labelled: dict[str | None, str] = {
        conversation_id: intent
        for conversation_id, intent in session.execute(
            select(TrainingExample.conversation_id, TrainingExample.intent).where(
                TrainingExample.conversation_id.in_(ids)
            )
        )
    }
    escalated = _escalated_for_a_gap(session, ids)
    return [
        c
        for c in cases
        if labelled.get(c.conversation_id) not in covered
        and (c.intent is None or c.intent not in covered or c.conversation_id in escalated)
    ]


def _escalated_for_a_gap(session: Session, conversation_ids: Sequence[str]) -> set[str]:
    """Return the conversations where the front line found no answer it could give."""
    rows = session.execute(
        select(Message.conversation_id, Message.meta).where(
            Message.conversation_id.in_(conversation_ids),
            Message.author == Author.CUSTOMER.value,
        )
    )
    found = set()
    for conversation_id, meta in rows:
        reasons = front_line_decision(meta or {}).get("reasons") or []
        if GAP_REASONS.intersection(reasons):
            found.add(conversation_id)
    return found


def _gap(cases: Sequence[ResolvedCase], vectors: np.ndarray, covered: set[str]) -> Gap:
    centroid = vectors.mean(axis=0)
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    scores = vectors @ centroid
    order = np.argsort(-scores, kind="stable")
    members = [
        GapCase(
            conversation_id=cases[i].conversation_id,
            question=cases[i].question,
            answer=cases[i].answer,
            intent=cases[i].intent,
            created_at=cases[i].created_at,
            centrality=float(scores[i]),
        )
        for i in order
    ]
    return Gap(
        id=gap_id(c.conversation_id for c in members),
        cases=members,
        proposed_intent=_propose_intent(members, covered),
        proposed_answer=members[0].answer,  # the most central agent reply
    )


def _propose_intent(cases: Sequence[GapCase], covered: set[str]) -> str:
    """Return triage's intent when most needs had one the AI cannot answer, else a word slug."""
    guesses = Counter(c.intent for c in cases if c.intent and c.intent not in covered)
    if guesses:
        intent, count = guesses.most_common(1)[0]
        if count * 2 > len(cases):
            return intent
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words: Counter[str] = Counter()
    for case in cases:  # how many needs use a word, not how often one need repeats it
        words.update({w for w in _WORD.findall(case.question.lower())} - ENGLISH_STOP_WORDS)
    top = [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:2]]
    slug = "_".join(top)[:100] or "new_intent"
    try:
        return clean_intent(slug)
    except ValidationError:
        return "new_intent"
