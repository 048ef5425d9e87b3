"""The customer-facing widget API: a public contract others build clients on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from tandem.api.deps import SessionDep, SettingsDep, bearer_token
from tandem.conversations import service
from tandem.conversations.schemas import MessageOut, TextIn
from tandem.conversations.service import Author
from tandem.core.schemas import BodyIn
from tandem.db.session import scope_session
from tandem.handoff.service import request_human
from tandem.live.sse import conversation_stream, last_event_id, message_loader
from tandem.users.service import normalise_email
from tandem.workspaces.service import get_workspace_by_widget_key

router = APIRouter(prefix="/api/v1/widget", tags=["widget"])


class CustomerIn(BodyIn):
    """Who is writing, if they say."""

    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)


class StartIn(BodyIn):
    """Optional details when a customer opens a conversation."""

    customer: CustomerIn | None = None


class StartOut(BaseModel):
    """A new conversation and the token that opens it (keep it secret)."""

    conversation_id: str
    customer_token: str
    status: str


class HandoffIn(BodyIn):
    """Optional words from a customer who asks for a person."""

    reason: str | None = Field(
        None, description="Why they want a person; stored as their message so the agent sees it."
    )


class HandoffOut(BaseModel):
    """Where the conversation stands after asking for a person."""

    conversation_id: str
    status: str


class ConversationOut(BaseModel):
    """What the customer sees of their conversation."""

    conversation_id: str
    status: str
    # First name of the agent who owns the conversation, while a human does.
    agent_name: str | None = None
    messages: list[MessageOut]


@router.post("/conversations", status_code=201, response_model=StartOut)
def start_conversation(
    session: SessionDep,
    body: StartIn | None = None,
    widget_key: Annotated[str | None, Header(alias="X-Tandem-Widget-Key")] = None,
) -> StartOut:
    """Open a conversation for a customer of the workspace that owns the widget key."""
    workspace = get_workspace_by_widget_key(session, widget_key)
    scope_session(session, workspace.id)
    customer = body.customer if body and body.customer else CustomerIn()
    email = normalise_email(customer.email) if customer.email else None
    started = service.start_conversation(
        session,
        workspace_id=workspace.id,
        channel="widget",
        customer_name=(customer.name or "").strip() or None,
        customer_email=email,
    )
    return StartOut(
        conversation_id=started.conversation.id,
        customer_token=started.customer_token,
        status=started.conversation.status,
    )


@router.post(
    "/conversations/{conversation_id}/messages", status_code=201, response_model=MessageOut
)
def post_message(
    conversation_id: str, body: TextIn, request: Request, session: SessionDep, settings: SettingsDep
) -> MessageOut:
    """Store a customer message; the reply (AI or human) arrives as later messages."""
    conversation = service.get_conversation_for_customer(
        session, conversation_id, bearer_token(request), lock=True
    )
    scope_session(session, conversation.workspace_id)
    message = service.post_message(
        session,
        conversation,
        author=Author.CUSTOMER,
        text=body.text,
        max_chars=settings.max_message_chars,
    )
    # Durable before acknowledged: SessionDep commits before the 201 is sent.
    return MessageOut.from_row(message)


@router.post("/conversations/{conversation_id}/handoff", response_model=HandoffOut)
def request_handoff(
    conversation_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    body: HandoffIn | None = None,
) -> HandoffOut:
    """Ask for a human; asking again while one is coming (or already here) changes nothing."""
    conversation = service.get_conversation_for_customer(
        session, conversation_id, bearer_token(request), lock=True
    )
    scope_session(session, conversation.workspace_id)
    if body and body.reason and body.reason.strip():
        service.post_message(
            session,
            conversation,
            author=Author.CUSTOMER,
            text=body.reason,
            max_chars=settings.max_message_chars,
        )
    request_human(session, conversation, trigger="customer", actor_id=None)
    return HandoffOut(conversation_id=conversation.id, status=conversation.status)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def read_conversation(
    conversation_id: str, request: Request, session: SessionDep
) -> ConversationOut:
    """Return the customer's conversation with every message they may see."""
    conversation = service.get_conversation_for_customer(
        session, conversation_id, bearer_token(request)
    )
    scope_session(session, conversation.workspace_id)
    messages = service.list_messages(session, conversation.id)
    return ConversationOut(
        conversation_id=conversation.id,
        status=conversation.status,
        agent_name=service.agent_first_name(session, conversation),
        messages=[MessageOut.from_row(m) for m in messages],
    )


@router.get("/conversations/{conversation_id}/events", response_class=StreamingResponse)
def follow_conversation(
    conversation_id: str,
    request: Request,
    session: SessionDep,
    token: Annotated[
        str | None, Query(description="customer token (EventSource cannot set headers)")
    ] = None,
    after: Annotated[int | None, Query(ge=0, description="last message seq already seen")] = None,
) -> StreamingResponse:
    """Stream new messages and status changes as server-sent events."""
    raw_token = bearer_token(request) or token
    conversation = service.get_conversation_for_customer(session, conversation_id, raw_token)
    workspace_id = conversation.workspace_id

    load = message_loader(
        request.app.state.session_factory,
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        include_private=False,
        to_json=lambda m: MessageOut.from_row(m).model_dump(mode="json"),
    )
    return conversation_stream(request, conversation_id, load, last_event_id(request, after))
