"""The conversation_resolved job: one resolved case per conversation a human answered."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.state import Action
from tandem.copilot.cases import is_substantive, record_resolved_case
from tandem.copilot.models import ResolvedCase
from tandem.core.errors import ComplianceBlockedError
from tandem.db.session import transaction
from tandem.jobs.models import Job
from tandem.triage.pipeline import SIGNAL_EMBEDDER, embed

from .conftest import Desk

QUESTION = "My parcel is stuck, the tracking page hasn't changed in ten days. Order NW-482913"
ANSWER = "I've opened a trace with the carrier and will email you within 48 hours with news."


def cases(factory: sessionmaker[Session]) -> list[ResolvedCase]:
    with factory() as session:
        return list(session.scalars(select(ResolvedCase).order_by(ResolvedCase.created_at)))


def test_a_human_answer_becomes_one_case_with_triage_and_embedding(shop: Desk) -> None:
    conversation_id = shop.start()
    shop.customer(conversation_id, "I want to talk to a real person please")
    shop.customer(conversation_id, QUESTION)
    shop.agent(conversation_id, "Internal: carrier portal is slow today", private=True)
    shop.agent(conversation_id, ANSWER)
    shop.agent(conversation_id, "Glad I could help, have a great day!")
    shop.act(conversation_id, Action.RESOLVE)

    (case,) = cases(shop.factory)
    assert case.conversation_id == conversation_id
    assert case.workspace_id == shop.ws.id
    assert case.question == f"I want to talk to a real person please\n{QUESTION}"
    assert case.answer == ANSWER  # the last substantive public reply, not the sign-off
    assert case.intent == "order_status"
    assert case.language == "en"
    assert case.embedder == SIGNAL_EMBEDDER
    vector = np.frombuffer(case.embedding, dtype=np.float32)
    assert np.allclose(vector, embed(SIGNAL_EMBEDDER, case.question), atol=1e-6)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    with shop.factory() as session:
        job = session.scalars(select(Job).where(Job.kind == "conversation_resolved")).one()
        assert job.state == "done" and job.last_error is None


def test_the_question_is_what_the_human_took_over_after_the_ai_answered(shop: Desk) -> None:
    conversation_id = shop.start()
    shop.customer(conversation_id, "How long do I have to return something?")  # AI answers
    shop.customer(conversation_id, "The jacket arrived torn, what now?")  # human-only: escalates
    shop.agent(conversation_id, "Sorry about that! I've sent a prepaid label to your email.")
    shop.act(conversation_id, Action.RESOLVE)
    (case,) = cases(shop.factory)
    assert case.question == "The jacket arrived torn, what now?"
    assert case.intent == "damaged_or_wrong_item"


def test_re_resolving_a_reopened_conversation_replaces_its_case(shop: Desk) -> None:
    conversation_id = shop.start()
    shop.resolved_case(conversation_id, QUESTION, ANSWER)
    first = cases(shop.factory)
    shop.customer(conversation_id, "Any news on the trace?")  # reopens it
    better = "The carrier found it: it will be delivered tomorrow before noon."
    shop.agent(conversation_id, better)
    shop.act(conversation_id, Action.RESOLVE)
    (case,) = cases(shop.factory)
    assert len(first) == 1 and case.id != first[0].id
    assert case.answer == better
    # Running the same job twice (a retry) still leaves exactly one case.
    with transaction(shop.factory) as session:
        record_resolved_case(session, {"conversation_id": conversation_id})
    assert [c.answer for c in cases(shop.factory)] == [better]


def test_no_case_without_a_public_substantive_human_reply(shop: Desk) -> None:
    ai_only = shop.start()
    shop.customer(ai_only, "How long do I have to return something?")
    shop.act(ai_only, Action.RESOLVE)
    private_only = shop.start(email="lee@example.com")
    shop.customer(private_only, QUESTION)
    shop.agent(private_only, "Customer already got an email from the carrier.", private=True)
    shop.act(private_only, Action.RESOLVE)
    thanks_only = shop.start(email="ana@example.com")
    shop.customer(thanks_only, QUESTION)
    shop.agent(thanks_only, "Thanks!")
    shop.act(thanks_only, Action.RESOLVE)
    assert cases(shop.factory) == []


def test_answers_with_payment_data_are_never_sent_nor_kept(shop: Desk) -> None:
    conversation_id = shop.start()
    with pytest.raises(ComplianceBlockedError):
        shop.resolved_case(conversation_id, QUESTION, "Refunded to card 4111 1111 1111 1111.")
    assert cases(shop.factory) == []


def test_a_job_for_a_reopened_or_missing_conversation_does_nothing(shop: Desk) -> None:
    conversation_id = shop.start()
    shop.customer(conversation_id, QUESTION)
    shop.agent(conversation_id, ANSWER)
    shop.act(conversation_id, Action.RESOLVE, drain=False)
    shop.customer(conversation_id, "One more thing")  # reopens before the job runs; drains it
    assert cases(shop.factory) == []
    with transaction(shop.factory) as session:
        record_resolved_case(session, {"conversation_id": "0" * 32})
    assert cases(shop.factory) == []


def test_the_job_session_is_scoped_to_the_conversation_workspace(shop: Desk, bare: Desk) -> None:
    conversation_id = shop.start()
    shop.customer(conversation_id, QUESTION)
    shop.agent(conversation_id, ANSWER)
    shop.act(conversation_id, Action.RESOLVE, drain=False)
    other = bare.start()
    bare.resolved_case(other, "Where is my refund?", "It left our bank yesterday; allow 3 days.")
    with transaction(shop.factory) as session:
        record_resolved_case(session, {"conversation_id": conversation_id})
        visible = session.scalars(select(ResolvedCase)).all()
        assert {c.workspace_id for c in visible} == {shop.ws.id}
    assert {c.workspace_id for c in cases(shop.factory)} == {shop.ws.id, bare.ws.id}


def test_substantive_replies() -> None:
    assert is_substantive("Your refund was issued today.")
    assert is_substantive("I have reset your password; check your inbox.")
    assert not is_substantive("Glad I could help, have a great day! Anna")
    assert not is_substantive("Thanks! You're welcome.")
