"""The Knowledge gaps page: what customers keep asking that no approved answer covers.

Needs that people resolved and the AI could not answer are grouped by meaning
(`learning/gaps.py`); a supervisor teaches a group as a new intent (or merges it into a known
one) with an approved answer, or sets it aside. Each form calls one gaps service function and
re-renders the page's body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel

from tandem.knowledge.intents import known_intents
from tandem.knowledge.service import MAX_ANSWER_CHARS, MAX_ANSWER_TITLE_CHARS
from tandem.learning import gaps
from tandem.users.models import Role
from tandem.web.auth import ConsoleRoute
from tandem.web.page import Page, Section, SupervisorPage

router = APIRouter(prefix="/console/admin/gaps", route_class=ConsoleRoute)

SHOWN = 20


def _gaps_context(page: Page) -> dict[str, Any]:
    return {
        "gaps": gaps.find_gaps(page.session, limit=SHOWN),
        "intents": sorted(known_intents(page.session)),
        "max_title": MAX_ANSWER_TITLE_CHARS,
        "max_body": MAX_ANSWER_CHARS,
    }


GAPS = Section("gaps", "admin/gaps.html", "admin/_gaps.html", _gaps_context)

# The page: list the knowledge gaps, the largest and most recent first.
GAPS.add_page_route(router, "", Role.SUPERVISOR)


class TeachForm(BaseModel):
    """How a gap is taught: the intent it becomes (or joins) and an answer's title and body."""

    intent: str = ""
    title: str = ""
    body: str = ""


@router.post("/{gap_id}/approve")
def approve_gap(gap_id: str, page: SupervisorPage, form: Annotated[TeachForm, Form()]) -> Response:
    """Teach a gap: its needs become the intent's examples, with an answer the AI may send."""

    def change() -> str:
        done = gaps.approve_gap(
            page.session,
            workspace_id=page.workspace_id,
            gap_id=gap_id,
            actor_id=page.user.id,
            **form.model_dump(),
        )
        what = "merged into" if done.merged else "taught as the new intent"
        answer = f" with the answer “{done.answer.title}”" if done.answer is not None else ""
        return (
            f"Gap {what} {done.intent}{answer}: {done.examples_added} new example"
            f"{'' if done.examples_added == 1 else 's'}. The AI learns them at the next "
            "training run."
        )

    return GAPS.result(page, change, {"gap_id": gap_id, **form.model_dump()})


@router.post("/{gap_id}/dismiss")
def dismiss_gap(gap_id: str, page: SupervisorPage) -> Response:
    """Set a gap aside: its needs are not proposed again."""

    def change() -> str:
        gap = gaps.dismiss_gap(page.session, workspace_id=page.workspace_id, gap_id=gap_id)
        return f"Gap of {gap.size} needs dismissed; they are not proposed again."

    return GAPS.result(page, change)
