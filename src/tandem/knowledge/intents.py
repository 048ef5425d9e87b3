"""Teach the AI intent by intent: what it may answer, and the phrasings it learns from.

Plain functions in the caller's transaction (never commit); reads go through the scoped
session, so another workspace's example id is not found. Examples change the intent model
from its next training run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.core.errors import ConflictError, NotFoundError, ValidationError
from tandem.db.session import one_or_not_found
from tandem.events.service import audit
from tandem.knowledge.models import Answer, Article, TrainingExample
from tandem.knowledge.service import clean_text, upsert_answer

MAX_EXAMPLE_CHARS = 2000
_INTENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


@dataclass(frozen=True)
class IntentSummary:
    """One intent: its approved answer (if any) and how much the AI has to learn from."""

    intent: str
    answer: Answer | None
    examples: int
    articles: int

    @property
    def ai_allowed(self) -> bool:
        """Return whether the AI may answer this intent (it needs an approved answer)."""
        return self.answer is not None and self.answer.ai_allowed


def clean_intent(intent: str) -> str:
    """Return an intent code, or raise ValidationError saying what a code looks like."""
    intent = (intent or "").strip()
    if not _INTENT.match(intent):
        raise ValidationError(
            f"{intent!r} is not a valid intent code (letters, digits, '_', '.', '-'; "
            "at most 100 characters)"
        )
    return intent


def list_intents(session: Session) -> list[IntentSummary]:
    """Return every intent the workspace knows (examples, answers, tagged articles), by name."""
    examples: dict[str, int] = {
        intent: count
        for intent, count in session.execute(
            select(TrainingExample.intent, func.count(TrainingExample.id))
            .where(TrainingExample.pending.is_(False))  # new intents wait for a supervisor
            .group_by(TrainingExample.intent)
        )
    }
    articles: dict[str, int] = {
        intent: count
        for intent, count in session.execute(
            select(Article.intent, func.count(Article.id))
            .where(Article.intent.is_not(None))
            .group_by(Article.intent)
        )
        if intent
    }
    answers = {a.intent: a for a in session.scalars(select(Answer))}
    names = sorted({*examples, *answers, *articles})
    return [
        IntentSummary(
            intent=name,
            answer=answers.get(name),
            examples=examples.get(name, 0),
            articles=articles.get(name, 0),
        )
        for name in names
    ]


def known_intents(session: Session) -> set[str]:
    """Return the names of the intents the workspace knows."""
    return {summary.intent for summary in list_intents(session)}


def require_intent(session: Session, intent: str) -> str:
    """Return a known intent, or raise NotFoundError naming it."""
    if intent not in known_intents(session):
        raise NotFoundError(f"unknown intent {intent!r}: add example phrasings for it first")
    return intent


def set_intent_ai_allowed(session: Session, *, intent: str, ai_allowed: bool) -> Answer:
    """Allow or forbid the AI to answer an intent with its approved answer."""
    answer = session.scalar(select(Answer).where(Answer.intent == intent))
    if answer is None:
        require_intent(session, intent)
        raise ValidationError(
            f"“{intent}” has no approved answer yet; write one before letting the AI answer"
        )
    answer.ai_allowed = ai_allowed
    session.flush()
    audit(
        session,
        workspace_id=answer.workspace_id,
        type="answer.ai_allowed" if ai_allowed else "answer.ai_forbidden",
        data={"intent": intent},
    )
    return answer


def save_intent_answer(
    session: Session,
    *,
    workspace_id: str,
    intent: str,
    title: str,
    body: str,
    translations: dict[str, dict[str, str]] | None = None,
    ai_allowed: bool | None = None,
    source_url: str | None = None,
) -> Answer:
    """Write the approved answer of a known intent (None keeps ai_allowed/translations)."""
    require_intent(session, intent)
    return upsert_answer(
        session,
        workspace_id=workspace_id,
        intent=intent,
        title=title,
        body=body,
        ai_allowed=ai_allowed,
        source_url=source_url,
        translations=translations,
    )


def list_examples(session: Session, *, intent: str) -> list[TrainingExample]:
    """Return an intent's example phrasings, oldest first."""
    require_intent(session, intent)
    return list(
        session.scalars(
            select(TrainingExample)
            .where(TrainingExample.intent == intent)
            .order_by(TrainingExample.created_at, TrainingExample.id)
        )
    )


def add_example(
    session: Session, *, workspace_id: str, intent: str, text: str, source: str = "console"
) -> TrainingExample:
    """Add one phrasing of an intent (a new intent code starts a new intent)."""
    intent = clean_intent(intent)
    text = clean_text(text, "the example", MAX_EXAMPLE_CHARS)
    duplicate = session.scalar(
        select(TrainingExample.id).where(
            TrainingExample.intent == intent, TrainingExample.text == text
        )
    )
    if duplicate is not None:
        raise ConflictError(f"“{text}” is already an example of {intent}")
    example = TrainingExample(workspace_id=workspace_id, intent=intent, text=text, source=source)
    session.add(example)
    session.flush()
    return example


def get_example(session: Session, *, example_id: str) -> TrainingExample:
    """Return one example phrasing of the scoped workspace, or raise NotFoundError."""
    query = select(TrainingExample).where(TrainingExample.id == example_id)
    return one_or_not_found(session, query, "example")


def remove_example(session: Session, *, example_id: str) -> TrainingExample:
    """Delete one example phrasing; return it (for a message)."""
    example = get_example(session, example_id=example_id)
    session.delete(example)
    session.flush()
    return example


def move_example(session: Session, *, example_id: str, intent: str) -> TrainingExample:
    """Relabel an example phrasing as another known intent."""
    example = get_example(session, example_id=example_id)
    target = clean_intent(intent)
    if target not in known_intents(session):
        raise ValidationError(f"unknown intent {target!r}; choose one of the workspace's intents")
    example.intent = target
    session.flush()
    return example
