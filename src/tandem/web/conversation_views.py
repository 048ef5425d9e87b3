"""The conversation page: messages, handoff packet, customer, co-pilot, and the agent's actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation
from tandem.conversations.service import Author
from tandem.conversations.state import Action, Status
from tandem.core.errors import ComplianceBlockedError, ValidationError
from tandem.db.base import utcnow
from tandem.handoff import service as handoff
from tandem.learning import service as learning
from tandem.live.sse import ownership_state
from tandem.routing import service as routing
from tandem.routing.admin import get_queue, get_sla_policy
from tandem.users.models import User
from tandem.users.service import get_user, list_users
from tandem.web import copilot_panel
from tandem.web.auth import ConsoleRoute
from tandem.web.page import Page, UserPage
from tandem.web.presenters import (
    available_actions,
    customer_label,
    message_view,
    sla_badge,
)
from tandem.web.templating import STATUS_LABELS

router = APIRouter(prefix="/console/c", route_class=ConsoleRoute)

STATUS_ACTIONS = {"resolve": Action.RESOLVE, "hand_back": Action.HAND_BACK, "reopen": Action.REOPEN}
TRANSFERABLE = (Status.WAITING_FOR_HUMAN, Status.HUMAN)
BLOCKED_MESSAGE = "Not sent: fix the problems marked below first."
LABEL_CHOICES = ("confirm", "skip")  # the resolve form's two buttons
NOTICE_TEXT_CHARS = 80  # how much of the customer's need the "Learned: …" notice quotes


def _team(session: Session) -> list[User]:
    return [u for u in list_users(session) if u.is_active]


def _messages_context(session: Session, conversation: Conversation) -> dict[str, Any]:
    names = {u.id: u.name for u in list_users(session)}
    rows = conversations.list_messages(session, conversation.id, include_private=True)
    # Each model version has its own bar for showing an intent (see handoff.intent_bar).
    versions = {(m.meta.get("triage") or {}).get("model_version") for m in rows}
    bars = {v: handoff.intent_bar(session, conversation.workspace_id, v) for v in versions}
    return {
        "conversation": conversation,
        "messages": [
            message_view(
                m, names, intent_bar=bars[(m.meta.get("triage") or {}).get("model_version")]
            )
            for m in rows
        ],
        "last_seq": rows[-1].seq if rows else 0,
        # What the page shows now, so the live stream only reloads the header on real changes.
        "ownership_state": ownership_state(conversation),
    }


def _head_context(session: Session, conversation: Conversation) -> dict[str, Any]:
    workspace_id = conversation.workspace_id
    queue = (
        get_queue(session, workspace_id, conversation.queue_id) if conversation.queue_id else None
    )
    assignee = get_user(session, conversation.assignee_id) if conversation.assignee_id else None
    customer = conversation.customer
    policy = (
        get_sla_policy(session, workspace_id, conversation.sla_policy_id)
        if conversation.sla_policy_id
        else None
    )
    policies = {policy.id: policy} if policy else {}
    actions = available_actions(conversation.status)
    return {
        "conversation": conversation,
        "customer_name": customer_label(customer.name, customer.email),
        "status_label": STATUS_LABELS.get(conversation.status, conversation.status),
        "actions": actions,
        # Resolving asks for the need's intent when a person handled the conversation.
        "asks_label": "resolve" in actions and learning.human_handled(session, conversation),
        "queue_name": queue.name if queue else None,
        "assignee": assignee,
        "sla": sla_badge(conversation, utcnow(), policies),
        "team": _team(session),
        "can_transfer": conversation.status_enum in TRANSFERABLE,
        "queues": routing.list_queues(session, conversation.workspace_id),
    }


def _side_context(session: Session, conversation: Conversation) -> dict[str, Any]:
    packet = handoff.latest_packet(session, conversation.id)
    queue = (
        get_queue(session, conversation.workspace_id, conversation.queue_id)
        if conversation.queue_id
        else None
    )
    return {
        "conversation": conversation,
        "customer": conversation.customer,
        "customer_name": customer_label(conversation.customer.name, conversation.customer.email),
        "packet": packet,
        "packet_data": packet.data if packet else {},
        "packet_intent": handoff.shown_intent(packet.data) if packet else None,
        # The packet says where the handoff went; the conversation may have moved since.
        "current_queue_name": queue.name if queue else None,
        "past": copilot_panel.history(session, conversation),
    }


@router.get("/{conversation_id}")
def conversation_page(conversation_id: str, page: UserPage) -> Response:
    """Show one conversation with everything the agent needs to continue it."""
    conversation = conversations.get_conversation(page.session, conversation_id)
    context = {
        **page.layout(nav="queue", max_chars=page.config.max_message_chars),
        **_messages_context(page.session, conversation),
        **_head_context(page.session, conversation),
        **_side_context(page.session, conversation),
    }
    return page.render("conversation.html", context)


def _copilot_context(session: Session, conversation: Conversation) -> dict[str, Any]:
    return {"conversation": conversation, **copilot_panel.panel(session, conversation)}


def _shown(conversation_id: str, page: UserPage) -> Conversation:
    return conversations.get_conversation(page.session, conversation_id)


def _part(
    template: str, context: Callable[[Session, Conversation], dict[str, Any]]
) -> Callable[..., Response]:
    def show(conversation: Annotated[Conversation, Depends(_shown)], page: UserPage) -> Response:
        return page.render(template, context(page.session, conversation))

    return show


# The parts of the page that refresh on their own: the messages on each new message, the
# header with status and actions on status changes, the handoff packet and customer panels,
# and the co-pilot's suggested replies and next best actions.
for _name, _template, _context in (
    ("messages", "_messages.html", _messages_context),
    ("head", "_conversation_head.html", _head_context),
    ("side", "_conversation_side.html", _side_context),
    ("copilot", "_copilot.html", _copilot_context),
):
    router.get(f"/{{conversation_id}}/{_name}", name=f"{_name}_partial")(_part(_template, _context))


@router.post("/{conversation_id}/check")
def check_draft(
    conversation_id: str, page: UserPage, text: Annotated[str, Form()] = ""
) -> Response:
    """Return the compliance flags of the agent's draft."""
    conversations.get_conversation(page.session, conversation_id)
    flags = copilot_panel.check_draft(page.session, page.workspace(), text)
    return page.render("_flags.html", {"flags": flags, "blocked_message": None})


@router.post("/{conversation_id}/reply")
def reply(
    conversation_id: str,
    page: UserPage,
    text: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "reply",
    override_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Send a reply to the customer (the service checks compliance) or add a private note."""
    if mode not in ("reply", "note"):
        raise ValidationError("mode must be reply or note")
    conversation = conversations.get_conversation(page.session, conversation_id, lock=True)
    try:
        conversations.post_message(
            page.session,
            conversation,
            author=Author.AGENT,
            text=text,
            user_id=page.user.id,
            is_private=mode == "note",
            max_chars=page.config.max_message_chars,
            override_reason=override_reason or None,
        )
    except ComplianceBlockedError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return page.render(
            "_flags.html",
            {
                "flags": copilot_panel.flag_views(text, details.get("flags", [])),
                "blocked_message": BLOCKED_MESSAGE,
                "override_allowed": details.get("override_allowed", False),
            },
            status_code=422,
            headers={"HX-Retarget": "#flags", "HX-Reswap": "innerHTML"},
        )
    return page.render("_messages.html", _messages_context(page.session, conversation))


def _head(page: Page, conversation: Conversation, toast: dict[str, Any] | None = None) -> Response:
    """Render the conversation's header; a toast (and events) fire after htmx swaps it in."""
    # After the swap, not before: a live refresh of the header may have replaced the form that
    # asked, and htmx then fires these on <body> instead of on the detached form. json.dumps
    # escapes non-ASCII and control characters, so any customer, queue or user name fits.
    headers = {"HX-Trigger-After-Swap": json.dumps(toast)} if toast else None
    context = _head_context(page.session, conversation)
    return page.render("_conversation_head.html", context, headers=headers)


@router.post("/{conversation_id}/assign")
def assign(conversation_id: str, page: UserPage, user_id: Annotated[str, Form()] = "") -> Response:
    """Assign the conversation to me, or to another active member of the workspace."""
    conversation = conversations.get_conversation(page.session, conversation_id, lock=True)
    conversations.assign(
        page.session, conversation, actor_id=page.user.id, assignee_id=user_id or None
    )
    return _head(page, conversation)


@router.post("/{conversation_id}/status")
def change_status(
    conversation_id: str, page: UserPage, action: Annotated[str, Form()] = ""
) -> Response:
    """Resolve (without a label), hand back to the AI, or reopen the conversation."""
    if action not in STATUS_ACTIONS:
        raise ValidationError("action must be resolve, hand_back or reopen")
    conversation = conversations.get_conversation(page.session, conversation_id, lock=True)
    if STATUS_ACTIONS[action] is Action.RESOLVE:
        learning.resolve(page.session, conversation, actor_id=page.user.id, intent=None)
        return _head(page, conversation)
    conversations.change_status(
        page.session,
        conversation,
        STATUS_ACTIONS[action],
        actor_type="user",
        actor_id=page.user.id,
    )
    return _head(page, conversation)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NOTICE_TEXT_CHARS else text[: NOTICE_TEXT_CHARS - 1] + "…"


def resolve_notice(label: learning.Label, *, asked: bool) -> str:
    """Return what the agent is told after resolving: what the AI learned, or that nothing was."""
    example = label.example
    if label.skipped or example is None:
        return "Resolved without a label: nothing was learned." if asked else "Resolved."
    proposed = " Your reply is proposed as its answer." if label.candidate else ""
    if example.pending:
        return (
            f"Resolved. The new intent {example.intent} waits for a supervisor's approval."
            + proposed
        )
    if label.candidate:
        proposed = " Your reply is proposed as its answer, for a supervisor to approve."
    return f"Resolved. Learned: “{_quote(example.text)}” → {example.intent}.{proposed}"


@router.get("/{conversation_id}/resolve")
def resolve_form(conversation_id: str, page: UserPage) -> Response:
    """Return the resolve form: the customer's need, triage's guess and the known intents."""
    conversation = conversations.get_conversation(page.session, conversation_id)
    context = {
        "conversation": conversation,
        "suggestion": learning.suggest_label(page.session, conversation),
    }
    return page.render("_resolve_form.html", context)


class ResolveForm(BaseModel):
    """The resolve form: which button (confirm or skip the label) and the need's intent."""

    intent: str = ""
    label: str = ""


@router.post("/{conversation_id}/resolve")
def resolve(conversation_id: str, page: UserPage, form: Annotated[ResolveForm, Form()]) -> Response:
    """Resolve the conversation, confirming the need's intent (label=confirm) or skipping it.

    Without a label choice (the one-click button of a conversation only the AI handled) it
    resolves without a label.
    """
    if form.label and form.label not in LABEL_CHOICES:
        raise ValidationError("label must be confirm or skip")
    if form.label == "confirm" and not form.intent.strip():
        raise ValidationError("type the intent of the customer's need, or resolve without a label")
    conversation = conversations.get_conversation(page.session, conversation_id, lock=True)
    outcome = learning.resolve(
        page.session,
        conversation,
        actor_id=page.user.id,
        intent=form.intent if form.label == "confirm" else None,
    )
    # A toast, not text in the header: the live stream reloads the header on the status change.
    notice = resolve_notice(outcome, asked=bool(form.label))
    return _head(page, conversation, {"tandem:toast": {"message": notice, "kind": "success"}})


class TransferForm(BaseModel):
    """The transfer form: the queue to move the conversation to, and a note for the team."""

    queue_id: str = ""
    note: str = ""


@router.post("/{conversation_id}/transfer")
def transfer(
    conversation_id: str, page: UserPage, form: Annotated[TransferForm, Form()]
) -> Response:
    """Move the conversation to another queue of the workspace."""
    if not form.queue_id:
        raise ValidationError("choose the queue to move the conversation to")
    conversation = conversations.get_conversation(page.session, conversation_id, lock=True)
    outcome = routing.transfer(
        page.session,
        conversation,
        queue_id=form.queue_id,
        actor_id=page.user.id,
        note=form.note,
        max_note_chars=page.config.max_message_chars,
    )
    message = f"Moved to {outcome.queue_name}"
    if outcome.assignee_id and (assignee := get_user(page.session, outcome.assignee_id)):
        message += f" and assigned to {assignee.name}"
    # The page refreshes its co-pilot and packet on "tandem:transferred" and shows the toast.
    toast = {
        "tandem:toast": {"message": message, "kind": "success"},
        "tandem:transferred": {"queue_id": outcome.queue_id},
    }
    return _head(page, conversation, toast)
