"""Shapes of conversations and messages as the APIs show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tandem.conversations.models import Conversation
from tandem.conversations.service import PRIORITY_NAMES
from tandem.core.schemas import BodyIn, RowOut


class MessageOut(RowOut):
    """A message as the customer sees it."""

    id: str
    seq: int
    author: str
    text: str
    created_at: datetime


class AgentMessageOut(MessageOut):
    """A message as the team sees it, with private notes and the AI's reasoning."""

    author_user_id: str | None
    is_private: bool
    meta: dict[str, Any]


class ConversationSummary(RowOut):
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
        return cls.from_row(
            conversation,
            priority=PRIORITY_NAMES.get(conversation.priority, "normal"),
            customer_name=conversation.customer.name,
            customer_email=conversation.customer.email,
            tags=list(conversation.tags or []),
        )


class ConversationDetail(ConversationSummary):
    """A conversation with its messages, for the team."""

    messages: list[AgentMessageOut]


class TextIn(BodyIn):
    """A message to post."""

    text: str = Field(description="The message text (1 to the configured maximum characters).")
