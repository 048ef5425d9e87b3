"""Remember what humans resolved: each resolved conversation becomes one reusable case."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import Author
from tandem.conversations.state import Status
from tandem.copilot.compliance import ComplianceRules, check_draft
from tandem.copilot.models import ResolvedCase
from tandem.db.session import scope_session
from tandem.triage.pipeline import MAX_TRIAGE_CHARS, SIGNAL_EMBEDDER, embed

MAX_QUESTION_CHARS = MAX_TRIAGE_CHARS
MIN_SUBSTANTIVE_WORDS = 3
# Words of greetings, thanks and sign-offs: a reply made only of these (and a name) closes a
# conversation rather than answering it ("Glad I could help, have a great day! Anna").
_CLOSING_TEXT = """
    a again all any anything are be best bye can care cheers contacting could day dear do else
    evening for from glad good goodbye great happy have hello help helped hey hi i if is it just
    kind know let lovely me more much my need nice no not of ok okay our out patience please
    problem reaching regards so support take team thank thanks that the there this to us very
    was we weekend welcome what you you're your yours
"""
_CLOSING_WORDS = frozenset(_CLOSING_TEXT.split())
_WORD = re.compile(r"[\w']+")
# Payment data in an answer must never be suggested again, whatever a workspace's rules say.
_PAYMENT_CODES = frozenset({"card_number", "iban", "bank_account_number"})


@dataclass(frozen=True)
class CaseText:
    """The need a human answered and the reply that resolved it."""

    question: str
    answer: str
    intent: str | None
    language: str | None


def record_resolved_case(session: Session, payload: dict[str, Any]) -> None:
    """Store (or replace) the resolved case of a conversation a human answered."""
    found = session.get(Conversation, payload["conversation_id"])
    if found is None:
        return  # deleted since
    scope_session(session, found.workspace_id)
    conversation = conversations.get_conversation(session, found.id, lock=True)
    if conversation.status_enum is not Status.RESOLVED:
        return  # reopened since; the next resolve enqueues a fresh job
    messages = conversations.list_messages(session, conversation.id, include_private=False)
    case = extract_case(messages)
    if case is None:
        return
    vector = embed(SIGNAL_EMBEDDER, case.question[:MAX_TRIAGE_CHARS])
    session.execute(delete(ResolvedCase).where(ResolvedCase.conversation_id == conversation.id))
    session.add(
        ResolvedCase(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            question=case.question,
            answer=case.answer,
            intent=case.intent,
            language=case.language,
            embedder=SIGNAL_EMBEDDER,
            embedding=np.asarray(vector, dtype=np.float32).tobytes(),
        )
    )
    session.flush()


def extract_case(messages: Sequence[Message]) -> CaseText | None:
    """Return the customer need a human answered and the answer, or None if no human did."""
    public = [m for m in messages if not m.is_private]
    first_agent = next((i for i, m in enumerate(public) if m.author == Author.AGENT.value), None)
    if first_agent is None:
        return None
    before = public[:first_agent]
    # The need the human took over starts after the AI's last answer (earlier turns were settled).
    last_ai = max((i for i, m in enumerate(before) if m.author == Author.AI.value), default=-1)
    asked = [m for m in before[last_ai + 1 :] if m.author == Author.CUSTOMER.value]
    if not asked:
        asked = [m for m in before if m.author == Author.CUSTOMER.value]
    question = "\n".join(m.text.strip() for m in asked).strip()[:MAX_QUESTION_CHARS]
    replies = [m for m in public[first_agent:] if m.author == Author.AGENT.value]
    answer = next((m.text.strip() for m in reversed(replies) if is_substantive(m.text)), None)
    if not question or answer is None or _has_payment_data(answer):
        return None
    triaged: dict[str, Any] = next(
        (m.meta["triage"] for m in reversed(asked) if m.meta.get("triage")), {}
    )
    return CaseText(
        question=question,
        answer=answer,
        intent=triaged.get("intent") if not triaged.get("out_of_scope") else None,
        language=triaged.get("language"),
    )


def is_substantive(text: str) -> bool:
    """Return whether a reply says something beyond greetings, thanks and sign-offs."""
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text.replace("’", "'"))]
    return sum(w not in _CLOSING_WORDS for w in words) >= MIN_SUBSTANTIVE_WORDS


def _has_payment_data(text: str) -> bool:
    flags = check_draft(text, ComplianceRules(forbidden_phrases=()))
    return any(f.code in _PAYMENT_CODES for f in flags)
