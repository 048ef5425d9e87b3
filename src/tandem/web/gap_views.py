"""The Knowledge gaps page: what customers keep asking that no approved answer covers.

Needs that people resolved and the AI could not answer are grouped by meaning
(`learning/gaps.py`); a supervisor teaches a group as a new intent (or merges it into a known
one) with an approved answer, or sets it aside. Each form calls one gaps service function and
re-renders the page's body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy.orm import Session

from tandem.api.deps import SessionDep, SettingsDep
from tandem.knowledge.intents import known_intents
from tandem.knowledge.service import MAX_ANSWER_CHARS, MAX_ANSWER_TITLE_CHARS
from tandem.learning import gaps
from tandem.web.admin_views import _base, _form_result
from tandem.web.auth import ConsoleRoute, ConsoleSupervisor
from tandem.web.templating import render

router = APIRouter(prefix="/console/admin/gaps", route_class=ConsoleRoute)

TEMPLATE = "admin/_gaps.html"
SHOWN = 20
TextField = Annotated[str, Form()]


def _gaps_context(session: Session) -> dict[str, Any]:
    return {
        "gaps": gaps.find_gaps(session, limit=SHOWN),
        "intents": sorted(known_intents(session)),
        "max_title": MAX_ANSWER_TITLE_CHARS,
        "max_body": MAX_ANSWER_CHARS,
    }


@router.get("")
def gaps_page(
    request: Request, principal: ConsoleSupervisor, session: SessionDep, settings: SettingsDep
) -> Response:
    """List the knowledge gaps, the largest and most recent first."""
    context = {**_base(principal, settings, "gaps"), **_gaps_context(session)}
    return render(request, "admin/gaps.html", {**context, "form": {}})


@router.post("/{gap_id}/approve")
def approve_gap(
    gap_id: str,
    request: Request,
    principal: ConsoleSupervisor,
    session: SessionDep,
    intent: TextField = "",
    title: TextField = "",
    body: TextField = "",
) -> Response:
    """Teach a gap: its needs become the intent's examples, with an answer the AI may send."""

    def change() -> str:
        done = gaps.approve_gap(
            session,
            workspace_id=principal.workspace_id,
            gap_id=gap_id,
            intent=intent,
            title=title,
            body=body,
            actor_id=principal.user.id,
        )
        what = "merged into" if done.merged else "taught as the new intent"
        answer = f" with the answer “{done.answer.title}”" if done.answer is not None else ""
        return (
            f"Gap {what} {done.intent}{answer}: {done.examples_added} new example"
            f"{'' if done.examples_added == 1 else 's'}. The AI learns them at the next "
            "training run."
        )

    form = {"gap_id": gap_id, "intent": intent, "title": title, "body": body}
    return _form_result(request, session, TEMPLATE, lambda: _gaps_context(session), change, form)


@router.post("/{gap_id}/dismiss")
def dismiss_gap(
    gap_id: str, request: Request, principal: ConsoleSupervisor, session: SessionDep
) -> Response:
    """Set a gap aside: its needs are not proposed again."""

    def change() -> str:
        gap = gaps.dismiss_gap(session, workspace_id=principal.workspace_id, gap_id=gap_id)
        return f"Gap of {gap.size} needs dismissed; they are not proposed again."

    return _form_result(request, session, TEMPLATE, lambda: _gaps_context(session), change)
