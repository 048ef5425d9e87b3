"""The Learning page: what agents taught the AI when resolving, waiting for a supervisor.

New intents agents named (with their example texts) and answers proposed from agents' replies
are approved or dismissed here; nothing the AI says to customers changes without a supervisor.
Each form calls one learning service function and re-renders the page's body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response

from tandem.knowledge.service import MAX_ANSWER_CHARS, MAX_ANSWER_TITLE_CHARS
from tandem.learning import service as learning
from tandem.users.models import Role
from tandem.users.service import list_users
from tandem.web.auth import ConsoleRoute
from tandem.web.page import Page, Section, SupervisorPage

router = APIRouter(prefix="/console/admin/learning", route_class=ConsoleRoute)

# Text fields are checked (with a readable message) by the service; the app caps the body size.
TextField = Annotated[str, Form()]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _learning_context(page: Page) -> dict[str, Any]:
    intents = learning.pending_intents(page.session)
    return {
        "pending": intents,
        "pending_names": {p.intent for p in intents},
        "candidates": learning.list_candidates(page.session),
        "people": {member.id: member.name for member in list_users(page.session)},
        "max_title": MAX_ANSWER_TITLE_CHARS,
        "max_body": MAX_ANSWER_CHARS,
    }


LEARNING = Section("learning", "admin/learning.html", "admin/_learning.html", _learning_context)

# The page: list new intents and proposed answers waiting for a supervisor's approval.
LEARNING.add_page_route(router, "", Role.SUPERVISOR)


@router.post("/intents/{intent}/approve")
def approve_intent(intent: str, page: SupervisorPage) -> Response:
    """Accept a new intent: its examples are trained on from the next training run."""

    def change() -> str:
        count = learning.approve_intent(page.session, workspace_id=page.workspace_id, intent=intent)
        return (
            f"New intent “{intent}” approved with {_plural(count, 'example')}; "
            "the AI learns it at the next training run."
        )

    return LEARNING.result(page, change)


@router.post("/intents/{intent}/dismiss")
def dismiss_intent(intent: str, page: SupervisorPage) -> Response:
    """Drop a proposed new intent with its waiting examples and proposed answer."""

    def change() -> str:
        count = learning.dismiss_intent(page.session, workspace_id=page.workspace_id, intent=intent)
        return f"New intent “{intent}” dismissed with its {_plural(count, 'example')}."

    return LEARNING.result(page, change)


@router.post("/answers/{candidate_id}/approve")
def approve_answer(
    candidate_id: str, page: SupervisorPage, title: TextField = "", body: TextField = ""
) -> Response:
    """Make a proposed answer, as the supervisor edited it, the intent's approved answer."""

    def change() -> str:
        proposed = learning.get_candidate(page.session, candidate_id)
        new_intent = proposed.intent in {p.intent for p in learning.pending_intents(page.session)}
        # Only a changed text counts as an edit (the audit log says whether it was edited).
        edited = body if body.strip() and body.strip() != proposed.body.strip() else None
        answer = learning.approve_candidate(
            page.session,
            candidate_id=candidate_id,
            actor_id=page.user.id,
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
    return LEARNING.result(page, change, form)


@router.post("/answers/{candidate_id}/dismiss")
def dismiss_answer(candidate_id: str, page: SupervisorPage) -> Response:
    """Turn a proposed answer down; its intent keeps its examples."""

    def change() -> str:
        candidate = learning.dismiss_candidate(
            page.session, candidate_id=candidate_id, actor_id=page.user.id
        )
        return f"Proposed answer for {candidate.intent} dismissed."

    return LEARNING.result(page, change)
