"""Knowledge gaps for supervisors: what customers asked that no approved answer covers."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import Field

from tandem.api.deps import SessionDep, SupervisorPrincipal
from tandem.core.schemas import BodyIn, RowOut
from tandem.learning import gaps

router = APIRouter(prefix="/api/v1/learning/gaps", tags=["learning"])


class GapCaseOut(RowOut):
    """One need in a gap and the agent's reply that resolved it."""

    conversation_id: str
    question: str
    answer: str
    intent: str | None = Field(description="Triage's guess (None when out of scope).")
    created_at: datetime
    centrality: float = Field(description="Cosine similarity to the gap's centre.")


class GapOut(RowOut):
    """A group of similar needs no approved answer covers."""

    id: str
    size: int
    last_seen: datetime
    representatives: list[str] = Field(description="The most central needs, first.")
    answers: list[str] = Field(description="How agents answered, the most central first.")
    proposed_intent: str
    proposed_answer: str = Field(description="The most central agent reply.")
    cases: list[GapCaseOut]

    @classmethod
    def of(cls, gap: gaps.Gap) -> GapOut:
        """Build from a computed gap."""
        return cls.from_row(gap, cases=[GapCaseOut.from_row(c) for c in gap.cases])


class ApproveGapIn(BodyIn):
    """Teach a gap as a new intent, or merge it into an existing one."""

    intent: str = Field(max_length=100)
    title: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=10_000)


class GapApprovedOut(RowOut):
    """What approving a gap taught."""

    intent: str
    merged: bool
    examples_added: int
    examples_total: int
    answer_written: bool


@router.get("", response_model=list[GapOut])
def list_gaps(principal: SupervisorPrincipal, session: SessionDep, limit: int = 20) -> list[GapOut]:
    """List the knowledge gaps, the largest and most recent first (supervisors)."""
    return [GapOut.of(g) for g in gaps.find_gaps(session, limit=max(1, min(limit, 100)))]


@router.post("/{gap_id}/approve", response_model=GapApprovedOut)
def approve_gap(
    gap_id: str, body: ApproveGapIn, principal: SupervisorPrincipal, session: SessionDep
) -> GapApprovedOut:
    """Make a gap an intent with its needs as examples and an approved answer the AI may use."""
    done = gaps.approve_gap(
        session,
        workspace_id=principal.workspace_id,
        gap_id=gap_id,
        actor_id=principal.user.id,
        **body.model_dump(),
    )
    return GapApprovedOut.from_row(done, answer_written=done.answer is not None)


@router.post("/{gap_id}/dismiss", status_code=204)
def dismiss_gap(gap_id: str, principal: SupervisorPrincipal, session: SessionDep) -> Response:
    """Set a gap aside: its needs are not proposed again."""
    gaps.dismiss_gap(session, workspace_id=principal.workspace_id, gap_id=gap_id)
    return Response(status_code=204)
