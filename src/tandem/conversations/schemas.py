"""Shapes of conversations and messages as the APIs show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import PRIORITY_NAMES


class MessageOut(BaseModel):
    """A message as the customer sees it."""

    id: str
    seq: int
    author: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        """Build from a stored message."""
        return cls(
            id=message.id,
            seq=message.seq,
            author=message.author,
            text=message.text,
            created_at=message.created_at,
        )


class AgentMessageOut(MessageOut):
    """A message as the team sees it, with private notes and the AI's reasoning."""

    author_user_id: str | None
    is_private: bool
    meta: dict[str, Any]

    @classmethod
    def of(cls, message: Message) -> AgentMessageOut:
        """Build from a stored message."""
        return cls(
            id=message.id,
            seq=message.seq,
            author=message.author,
            text=message.text,
            created_at=message.created_at,
            author_user_id=message.author_user_id,
            is_private=message.is_private,
            meta=message.meta,
        )


class ConversationSummary(BaseModel):
    """A conversation in a list."""

    id: str
    status: str
    channel: str
    priority: str
    assignee_id: str | None
    customer_id: str
    customer_name: str | None
    customer_email: str | None
    language: str | None
    subject: str | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationSummary:
        """Build from a stored conversation."""
        return cls(
            id=conversation.id,
            status=conversation.status,
            channel=conversation.channel,
            priority=PRIORITY_NAMES.get(conversation.priority, "normal"),
            assignee_id=conversation.assignee_id,
            customer_id=conversation.customer_id,
            customer_name=conversation.customer.name,
            customer_email=conversation.customer.email,
            language=conversation.language,
            subject=conversation.subject,
            tags=list(conversation.tags or []),
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            last_message_at=conversation.last_message_at,
        )


class ConversationDetail(ConversationSummary):
    """A conversation with its messages, for the team."""

    messages: list[AgentMessageOut]


class TextIn(BaseModel):
    """A message to post."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The message text (1 to the configured maximum characters).")
