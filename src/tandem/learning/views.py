"""The learning loop's API: the label a resolution suggests, and a supervisor's approvals."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from tandem.api.deps import CurrentPrincipal, SessionDep, SupervisorPrincipal
from tandem.conversations import service as conversations
from tandem.core.schemas import BodyIn, RowOut
from tandem.learning import service

router = APIRouter(prefix="/api/v1", tags=["learning"])


class LabelOut(BaseModel):
    """What resolving this conversation asks: the customer's need and triage's guess."""

    asked: bool = Field(description="Whether a human handled it, so resolving asks for a label.")
    text: str | None = Field(description="The customer's need, as they wrote it.")
    message_id: str | None
    intent: str | None = Field(description="Triage's best guess at the need's intent.")
    confidence: float
    known_intents: list[str]


class ExampleOut(RowOut):
    """A training example learned from a resolution."""

    id: str
    text: str
    intent: str
    conversation_id: str | None
    confirmed_by: str | None
    created_at: datetime


class CandidateOut(RowOut):
    """An agent's reply proposed as an intent's approved answer."""

    id: str
    intent: str
    body: str
    conversation_id: str | None
    proposed_by: str | None
    created_at: datetime


class PendingIntentOut(BaseModel):
    """A new intent agents named at resolution, waiting for approval."""

    intent: str
    examples: list[ExampleOut]
    candidate: CandidateOut | None


class ApproveAnswerIn(BodyIn):
    """Approve a proposed answer, optionally edited first."""

    title: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=5000)


class ApprovedOut(BaseModel):
    """The outcome of approving an intent."""

    intent: str
    examples: int


@router.get("/conversations/{conversation_id}/label", response_model=LabelOut)
def suggested_label(
    conversation_id: str, principal: CurrentPrincipal, session: SessionDep
) -> LabelOut:
    """Return the need and intent that resolving this conversation would confirm."""
    conversation = conversations.get_conversation(session, conversation_id)
    suggestion = service.suggest_label(session, conversation)
    return LabelOut(**asdict(suggestion))


@router.get("/learning/intents", response_model=list[PendingIntentOut])
def pending_intents(principal: SupervisorPrincipal, session: SessionDep) -> list[PendingIntentOut]:
    """List the new intents agents named when resolving, with their examples (supervisors)."""
    return [
        PendingIntentOut(
            intent=p.intent,
            examples=[ExampleOut.from_row(e) for e in p.examples],
            candidate=CandidateOut.from_row(p.candidate) if p.candidate else None,
        )
        for p in service.pending_intents(session)
    ]


@router.post("/learning/intents/{intent}/approve", response_model=ApprovedOut)
def approve_intent(intent: str, principal: SupervisorPrincipal, session: SessionDep) -> ApprovedOut:
    """Accept a new intent: its examples are trained on from the next training run."""
    count = service.approve_intent(session, workspace_id=principal.workspace_id, intent=intent)
    return ApprovedOut(intent=intent, examples=count)


@router.post("/learning/intents/{intent}/dismiss", status_code=204)
def dismiss_intent(intent: str, principal: SupervisorPrincipal, session: SessionDep) -> Response:
    """Drop a proposed new intent with its waiting examples and proposed answer."""
    service.dismiss_intent(session, workspace_id=principal.workspace_id, intent=intent)
    return Response(status_code=204)


@router.get("/learning/answers", response_model=list[CandidateOut])
def answer_candidates(principal: SupervisorPrincipal, session: SessionDep) -> list[CandidateOut]:
    """List the agents' replies proposed as approved answers (supervisors)."""
    return [CandidateOut.from_row(c) for c in service.list_candidates(session)]


@router.post("/learning/answers/{candidate_id}/approve", response_model=CandidateOut)
def approve_answer(
    candidate_id: str, body: ApproveAnswerIn, principal: SupervisorPrincipal, session: SessionDep
) -> CandidateOut:
    """Make a proposed answer (edited if you like) the intent's approved answer; the AI uses it."""
    service.approve_candidate(
        session,
        candidate_id=candidate_id,
        actor_id=principal.user.id,
        title=body.title,
        body=body.body,
    )
    return CandidateOut.from_row(service.get_candidate(session, candidate_id))


@router.post("/learning/answers/{candidate_id}/dismiss", status_code=204)
def dismiss_answer(
    candidate_id: str, principal: SupervisorPrincipal, session: SessionDep
) -> Response:
    """Turn a proposed answer down."""
    service.dismiss_candidate(session, candidate_id=candidate_id, actor_id=principal.user.id)
    return Response(status_code=204)
