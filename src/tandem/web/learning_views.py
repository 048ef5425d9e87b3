"""The Learning page: what agents taught the AI when resolving, waiting for a supervisor.

New intents agents named (with their example texts) and answers proposed from agents' replies
are approved or dismissed here; nothing the AI says to customers changes without a supervisor.
Each form calls one learning service function and re-renders the page's body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy.orm import Session

from tandem.api.deps import SessionDep, SettingsDep
from tandem.knowledge.service import MAX_ANSWER_CHARS, MAX_ANSWER_TITLE_CHARS
from tandem.learning import service as learning
from tandem.users.service import list_users
from tandem.web.admin_views import _base, _form_result
from tandem.web.auth import ConsoleRoute, ConsoleSupervisor
from tandem.web.templating import render

router = APIRouter(prefix="/console/admin/learning", route_class=ConsoleRoute)

TEMPLATE = "admin/_learning.html"
# Text fields are checked (with a readable message) by the service; the app caps the body size.
TextField = Annotated[str, Form()]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _learning_context(session: Session) -> dict[str, Any]:
    intents = learning.pending_intents(session)
    return {
        "pending": intents,
        "pending_names": {p.intent for p in intents},
        "candidates": learning.list_candidates(session),
        "people": {member.id: member.name for member in list_users(session)},
        "max_title": MAX_ANSWER_TITLE_CHARS,
        "max_body": MAX_ANSWER_CHARS,
    }


def _result(
    request: Request,
    session: Session,
    change: Callable[[], str],
    form: dict[str, Any] | None = None,
) -> Response:
    return _form_result(
        request, session, TEMPLATE, lambda: _learning_context(session), change, form
    )


@router.get("")
def learning_page(
    request: Request, principal: ConsoleSupervisor, session: SessionDep, settings: SettingsDep
) -> Response:
    """List new intents and proposed answers waiting for a supervisor's approval."""
    context = {**_base(principal, settings, "learning"), **_learning_context(session)}
    return render(request, "admin/learning.html", {**context, "form": {}})


@router.post("/intents/{intent}/approve")
def approve_intent(
    intent: str, request: Request, principal: ConsoleSupervisor, session: SessionDep
) -> Response:
    """Accept a new intent: its examples are trained on from the next training run."""

    def change() -> str:
        count = learning.approve_intent(session, workspace_id=principal.workspace_id, intent=intent)
        return (
            f"New intent “{intent}” approved with {_plural(count, 'example')}; "
            "the AI learns it at the next training run."
        )

    return _result(request, session, change)


@router.post("/intents/{intent}/dismiss")
def dismiss_intent(
    intent: str, request: Request, principal: ConsoleSupervisor, session: SessionDep
) -> Response:
    """Drop a proposed new intent with its waiting examples and proposed answer."""

    def change() -> str:
        count = learning.dismiss_intent(session, workspace_id=principal.workspace_id, intent=intent)
        return f"New intent “{intent}” dismissed with its {_plural(count, 'example')}."

    return _result(request, session, change)


@router.post("/answers/{candidate_id}/approve")
def approve_answer(
    candidate_id: str,
    request: Request,
    principal: ConsoleSupervisor,
    session: SessionDep,
    title: TextField = "",
    body: TextField = "",
) -> Response:
    """Make a proposed answer, as the supervisor edited it, the intent's approved answer."""

    def change() -> str:
        proposed = learning.get_candidate(session, candidate_id)
        new_intent = proposed.intent in {p.intent for p in learning.pending_intents(session)}
        # Only a changed text counts as an edit (the audit log says whether it was edited).
        edited = body if body.strip() and body.strip() != proposed.body.strip() else None
        answer = learning.approve_candidate(
            session,
            candidate_id=candidate_id,
            actor_id=principal.user.id,
            title=title,
            body=edited,
        )
        if new_intent:
            return (
                f"Answer “{answer.title}” and the new intent {answer.intent} approved: "
                "the AI learns the intent at the next training run."
            )
        return f"Answer “{answer.title}” approved for {answer.intent}: the AI may send it."

    form = {"candidate_id": candidate_id, "title": title, "body": body}
    return _result(request, session, change, form)


@router.post("/answers/{candidate_id}/dismiss")
def dismiss_answer(
    candidate_id: str, request: Request, principal: ConsoleSupervisor, session: SessionDep
) -> Response:
    """Turn a proposed answer down; its intent keeps its examples."""

    def change() -> str:
        candidate = learning.dismiss_candidate(
            session, candidate_id=candidate_id, actor_id=principal.user.id
        )
        return f"Proposed answer for {candidate.intent} dismissed."

    return _result(request, session, change)
