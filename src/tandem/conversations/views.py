"""The team's conversation API: list, read, reply, assign, change status, follow live."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from tandem.api.deps import CurrentPrincipal, SessionDep, SettingsDep
from tandem.conversations import service
from tandem.conversations.schemas import (
    AgentMessageOut,
    ConversationDetail,
    ConversationSummary,
)
from tandem.conversations.service import Author
from tandem.conversations.state import Action, Status
from tandem.core.errors import ConflictError, ValidationError
from tandem.core.schemas import BodyIn, UtcDatetime
from tandem.handoff import service as handoff
from tandem.learning import service as learning
from tandem.live.sse import conversation_stream, last_event_id, message_loader

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


class ReplyIn(BodyIn):
    """An agent's reply, or a private note when `private` is true."""

    text: str
    private: bool = False
    override_reason: str | None = Field(
        None,
        max_length=500,
        description="A supervisor's reason to send a reply the compliance check blocked, where "
        "the workspace allows overrides (audited). Payment data can never be overridden.",
    )


class StatusIn(BodyIn):
    """A status change: resolve, hand back to the AI, reopen, or escalate to a human."""

    action: Literal["resolve", "hand_back", "reopen", "escalate"]
    reason: str | None = Field(None, max_length=500)
    intent: str | None = Field(
        None,
        max_length=100,
        description="With resolve: the intent of the customer's need as the agent confirms it "
        "(GET …/label suggests one). It becomes a training example; a new intent waits for a "
        "supervisor. Omit it to skip labelling (recorded).",
    )


class AssignIn(BodyIn):
    """Who takes the conversation; omit user_id to claim it yourself."""

    user_id: str | None = Field(None, min_length=1, max_length=64)


def _detail(session: Any, conversation: Any) -> ConversationDetail:
    messages = service.list_messages(session, conversation.id, include_private=True)
    summary = ConversationSummary.of(conversation)
    return ConversationDetail(
        **summary.model_dump(), messages=[AgentMessageOut.from_row(m) for m in messages]
    )


@router.get("", response_model=list[ConversationSummary])
def list_conversations(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: Annotated[list[Status] | None, Query()] = None,
    mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    updated_before: UtcDatetime | None = None,
) -> list[ConversationSummary]:
    """List the workspace's conversations, most recently active first."""
    rows = service.list_conversations(
        session,
        statuses=status,
        assignee_id=principal.user.id if mine else None,
        limit=limit,
        updated_before=updated_before,
    )
    return [ConversationSummary.of(c) for c in rows]


@router.get("/{conversation_id}", response_model=ConversationDetail)
def read_conversation(
    conversation_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ConversationDetail:
    """Return a conversation with all its messages, private notes included."""
    return _detail(session, service.get_conversation(session, conversation_id))


@router.post("/{conversation_id}/messages", status_code=201, response_model=AgentMessageOut)
def reply(
    conversation_id: str,
    body: ReplyIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> AgentMessageOut:
    """Post an agent reply (taking ownership from the AI) or a private note."""
    conversation = service.get_conversation(session, conversation_id, lock=True)
    message = service.post_message(
        session,
        conversation,
        author=Author.AGENT,
        text=body.text,
        user_id=principal.user.id,
        is_private=body.private,
        max_chars=settings.max_message_chars,
        override_reason=body.override_reason,
    )
    return AgentMessageOut.from_row(message)


@router.post("/{conversation_id}/assign", response_model=ConversationSummary)
def assign(
    conversation_id: str, body: AssignIn, principal: CurrentPrincipal, session: SessionDep
) -> ConversationSummary:
    """Assign a conversation to a team member of this workspace, or claim it."""
    conversation = service.get_conversation(session, conversation_id, lock=True)
    service.assign(session, conversation, actor_id=principal.user.id, assignee_id=body.user_id)
    return ConversationSummary.of(conversation)


@router.post("/{conversation_id}/status", response_model=ConversationSummary)
def change_status(
    conversation_id: str, body: StatusIn, principal: CurrentPrincipal, session: SessionDep
) -> ConversationSummary:
    """Resolve, reopen, hand back to the AI, or escalate a conversation."""
    conversation = service.get_conversation(session, conversation_id, lock=True)
    if body.action == "escalate":
        # Escalation always goes through handoff: packet, routing and the customer's notice.
        if not handoff.request_human(
            session, conversation, trigger="agent", actor_id=principal.user.id
        ):
            raise ConflictError(f"the conversation is already {conversation.status}")
        return ConversationSummary.of(conversation)
    if body.action == "resolve":
        learning.resolve(
            session,
            conversation,
            actor_id=principal.user.id,
            intent=body.intent,
            reason=body.reason,
        )
        return ConversationSummary.of(conversation)
    if body.intent is not None:
        raise ValidationError("intent goes with the resolve action only")
    service.change_status(
        session,
        conversation,
        Action(body.action),
        actor_type="user",
        actor_id=principal.user.id,
        data={"reason": body.reason} if body.reason else None,
    )
    return ConversationSummary.of(conversation)


@router.get("/{conversation_id}/events", response_class=StreamingResponse)
def follow(
    conversation_id: str,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    after: Annotated[int | None, Query(ge=0)] = None,
    state: Annotated[str | None, Query(max_length=100)] = None,
) -> StreamingResponse:
    """Stream a conversation's new messages (notes included) and status as server-sent events.

    `state` is the ownership state the client already shows (from a `status` event or the page);
    the stream then sends `status` only when it really changes.
    """
    service.get_conversation(session, conversation_id)
    workspace_id = principal.workspace_id
    load = message_loader(
        request.app.state.session_factory,
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        include_private=True,
        to_json=lambda m: AgentMessageOut.from_row(m).model_dump(mode="json"),
        known_state=state,
    )
    return conversation_stream(request, conversation_id, load, last_event_id(request, after))
