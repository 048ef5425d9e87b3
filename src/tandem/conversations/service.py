"""Every write to conversations and messages happens here, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tandem.conversations import state
from tandem.conversations.models import Conversation, Message, apply_transition
from tandem.conversations.state import Action, Status, Transition
from tandem.copilot.compliance import (
    NEVER_OVERRIDDEN,
    check_draft,
    has_blocking,
    overridable,
)
from tandem.core.errors import (
    ComplianceBlockedError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from tandem.core.security import hash_token
from tandem.core.text import first_line
from tandem.customers.service import get_or_create_customer
from tandem.db.base import new_secret, utcnow
from tandem.db.session import one_or_not_found
from tandem.events.service import record
from tandem.jobs.service import enqueue
from tandem.live import notify_conversation
from tandem.privacy.detect import CARD_CODE, CARD_NUMBER
from tandem.privacy.mask import card_notice, mask_text, masked_kinds
from tandem.users.models import Role, User
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import WorkspaceSettings, workspace_settings


class Author(StrEnum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    AI = "ai"
    AGENT = "agent"
    SYSTEM = "system"


PRIORITY_NAMES = {0: "low", 1: "normal", 2: "high", 3: "urgent"}
MAX_OVERRIDE_REASON = 500


def check_text(text: object, *, max_chars: int) -> str:
    """Return message text if it is acceptable, or raise ValidationError saying why."""
    if not isinstance(text, str):
        raise ValidationError("text must be a string")
    if not text.strip():
        raise ValidationError("text must not be empty")
    if len(text) > max_chars:
        raise ValidationError(f"text is {len(text)} characters; the limit is {max_chars}")
    if "\x00" in text:
        raise ValidationError("text must not contain NUL characters")
    return text


@dataclass(frozen=True)
class StartedConversation:
    """A new conversation and the customer's bearer token (shown once)."""

    conversation: Conversation
    customer_token: str


def start_conversation(
    session: Session,
    *,
    workspace_id: str,
    channel: str = "widget",
    customer_name: str | None = None,
    customer_email: str | None = None,
) -> StartedConversation:
    """Open a conversation owned by the AI, for a new or returning customer."""
    customer = get_or_create_customer(
        session, workspace_id=workspace_id, name=customer_name, email=customer_email
    )
    token = new_secret("ct_")
    conversation = Conversation(
        workspace_id=workspace_id,
        customer_id=customer.id,
        channel=channel,
        status=Status.AI.value,
        customer_token_hash=hash_token(token),
    )
    session.add(conversation)
    session.flush()
    record(
        session,
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        type="conversation.created",
        actor_type="customer",
        actor_id=customer.id,
        data={"channel": channel},
    )
    notify_conversation(
        session, workspace_id=workspace_id, conversation_id=conversation.id, kind="conversation"
    )
    return StartedConversation(conversation=conversation, customer_token=token)


def get_conversation(session: Session, conversation_id: str, *, lock: bool = False) -> Conversation:
    """Return a conversation visible to this session (FOR UPDATE when lock is set)."""
    query = select(Conversation).where(Conversation.id == conversation_id)
    return one_or_not_found(session, query, "conversation", lock=lock)


def get_conversation_for_customer(
    session: Session, conversation_id: str, customer_token: str | None, *, lock: bool = False
) -> Conversation:
    """Return the conversation a customer token opens; any mismatch looks like 'not found'."""
    if not customer_token:
        raise NotFoundError("conversation not found")
    query = select(Conversation).where(
        Conversation.id == conversation_id,
        Conversation.customer_token_hash == hash_token(customer_token),
    )
    return one_or_not_found(session, query, "conversation", lock=lock)


def change_status(
    session: Session,
    conversation: Conversation,
    action: Action,
    *,
    actor_type: str,
    actor_id: str | None = None,
    assignee_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> Transition:
    """Move a conversation through the ownership state machine and log why."""
    transition = state.apply(
        conversation.status_enum, action, had_human_owner=conversation.assignee_id is not None
    )
    now = utcnow()
    if action is Action.ASSIGN:
        if assignee_id is None:
            raise ValidationError("assign needs an assignee")
        conversation.assignee_id = assignee_id
    elif action is Action.HAND_BACK:
        conversation.assignee_id = None
    elif action is Action.ESCALATE:
        conversation.escalated_at = now
    elif action is Action.RESOLVE:
        conversation.resolved_at = now
    elif action is Action.REOPEN:
        conversation.resolved_at = None
    apply_transition(conversation, transition)
    conversation.updated_at = now
    record(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type=f"conversation.{action.value}",
        actor_type=actor_type,
        actor_id=actor_id,
        data={
            "from": transition.before.value,
            "to": transition.after.value,
            **({"assignee_id": assignee_id} if assignee_id else {}),
            **(data or {}),
        },
    )
    notify_conversation(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        kind="status",
        status=transition.after.value,
    )
    if action is Action.RESOLVE:
        # What a human resolved teaches the co-pilot (tandem.copilot.cases handles this job).
        enqueue(
            session,
            kind="conversation_resolved",
            workspace_id=conversation.workspace_id,
            payload={"conversation_id": conversation.id},
        )
    return transition


def post_message(
    session: Session,
    conversation: Conversation,
    *,
    author: Author,
    text: str,
    max_chars: int,
    user_id: str | None = None,
    is_private: bool = False,
    meta: dict[str, Any] | None = None,
    override_reason: str | None = None,
) -> Message:
    """Append a message to a locked conversation, applying the rules every path shares.

    The one place a message is written: an agent's reply passes the workspace's compliance
    check (raising ComplianceBlockedError with the flags; a supervisor may override where the
    workspace allows, which is audited), payment data is masked before anything is stored, and
    posting applies the ownership rules the message implies.
    """
    text = check_text(text, max_chars=max_chars)
    settings = _workspace_settings(session, conversation.workspace_id)
    if author is Author.AGENT and not is_private:
        _enforce_compliance(session, conversation, text, settings, user_id, override_reason)
    masked = mask_text(text, masked_kinds(settings.privacy.mask))
    if masked.changed:
        text = masked.text
        meta = {**(meta or {}), "masked": masked.kinds}
    status = conversation.status_enum
    if author is Author.AI:
        state.ensure_ai_may_speak(status)
    if author is Author.CUSTOMER and status is Status.RESOLVED:
        change_status(session, conversation, Action.REOPEN, actor_type="customer")
    if author is Author.AGENT and not is_private:
        _take_ownership_for_reply(session, conversation, user_id)
    now = utcnow()
    conversation.last_seq += 1
    conversation.last_message_at = now
    conversation.updated_at = now
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        seq=conversation.last_seq,
        author=author.value,
        author_user_id=user_id,
        text=text,
        is_private=is_private,
        meta=meta or {},
        created_at=now,
    )
    session.add(message)
    session.flush()
    if author is Author.CUSTOMER:
        if not {CARD_NUMBER, CARD_CODE}.isdisjoint(masked.kinds):
            _tell_customer_card_was_hidden(session, conversation, text)
        enqueue(
            session,
            kind="process_customer_message",
            workspace_id=conversation.workspace_id,
            payload={"message_id": message.id},
        )
    notify_conversation(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        kind="message",
        seq=message.seq,
    )
    return message


def _workspace_settings(session: Session, workspace_id: str) -> WorkspaceSettings:
    return workspace_settings(session.get(Workspace, workspace_id))


def _enforce_compliance(
    session: Session,
    conversation: Conversation,
    text: str,
    settings: WorkspaceSettings,
    user_id: str | None,
    override_reason: str | None,
) -> None:
    rules = settings.compliance_rules
    flags = check_draft(text, rules)
    if not has_blocking(flags):
        return
    blocking = [f.as_dict() for f in flags if f.severity == "block"]
    details = {"flags": blocking, "override_allowed": False}
    if not overridable(flags):
        payment = [f for f in blocking if f["code"] in NEVER_OVERRIDDEN]
        others = [f for f in blocking if f["code"] not in NEVER_OVERRIDDEN]
        also = f"; it also breaks the rules ({_codes(others)})" if others else ""
        raise ComplianceBlockedError(
            f"the reply was not sent: it contains payment data ({_codes(payment)}){also}", details
        )
    reason = " ".join((override_reason or "").split())
    user = session.get(User, user_id) if user_id else None
    may_override = (
        rules.allow_supervisor_override
        and user is not None
        and Role(user.role).includes(Role.SUPERVISOR)
    )
    details["override_allowed"] = may_override
    if not reason or not may_override:
        hint = (
            "; a supervisor may send it anyway with an override reason"
            if rules.allow_supervisor_override
            else ""
        )
        raise ComplianceBlockedError(
            "the reply was not sent: it breaks the compliance rules ("
            + _codes(blocking)
            + ")"
            + hint,
            details,
        )
    if len(reason) > MAX_OVERRIDE_REASON:
        raise ValidationError(
            f"the override reason is longer than {MAX_OVERRIDE_REASON} characters"
        )
    record(
        session,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="message.compliance_override",
        actor_type="user",
        actor_id=user_id,
        data={"reason": reason, "flags": [f["code"] for f in blocking]},
    )


def _codes(flags: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({str(f["code"]) for f in flags}))


def _tell_customer_card_was_hidden(
    session: Session, conversation: Conversation, masked_text: str
) -> None:
    language, notice = card_notice(masked_text, known=conversation.language)
    post_message(
        session,
        conversation,
        author=Author.SYSTEM,
        text=notice,
        max_chars=len(notice),
        meta={"notice": "card_number_hidden", "language": language},
    )


def _take_ownership_for_reply(
    session: Session, conversation: Conversation, user_id: str | None
) -> None:
    # An agent replying is a human taking over: the AI must fall silent from this point.
    if user_id is None:
        raise ValidationError("an agent reply needs the agent")
    if conversation.status_enum is Status.RESOLVED:
        change_status(session, conversation, Action.REOPEN, actor_type="user", actor_id=user_id)
    if conversation.status_enum is not Status.HUMAN or conversation.assignee_id is None:
        change_status(
            session,
            conversation,
            Action.ASSIGN,
            actor_type="user",
            actor_id=user_id,
            assignee_id=user_id,
        )
    if conversation.first_human_response_at is None:
        conversation.first_human_response_at = utcnow()


def agent_first_name(session: Session, conversation: Conversation) -> str | None:
    """Return the first name of the human who owns the conversation (what a customer may see)."""
    if conversation.status_enum is not Status.HUMAN or conversation.assignee_id is None:
        return None
    user = session.get(User, conversation.assignee_id)
    return user.name.split()[0] if user and user.name.strip() else None


def list_messages(
    session: Session,
    conversation_id: str,
    *,
    after_seq: int = 0,
    include_private: bool = False,
) -> Sequence[Message]:
    """Return a conversation's messages in order, after a sequence number."""
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
    )
    if not include_private:
        query = query.where(Message.is_private.is_(False))
    return session.scalars(query).all()


def customer_texts(session: Session, conversation_ids: Sequence[str]) -> dict[str, list[str]]:
    """Return each conversation's customer messages (not notes), oldest first."""
    texts: dict[str, list[str]] = {}
    if not conversation_ids:
        return texts
    rows = session.execute(
        select(Message.conversation_id, Message.text)
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.author == Author.CUSTOMER.value,
            Message.is_private.is_(False),
        )
        .order_by(Message.conversation_id, Message.seq)
    )
    for conversation_id, text in rows:
        texts.setdefault(conversation_id, []).append(text)
    return texts


def list_conversations(
    session: Session,
    *,
    statuses: Sequence[Status] | None = None,
    assignee_id: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    updated_before: datetime | None = None,
) -> Sequence[Conversation]:
    """Return the session's workspace conversations, most recently active first."""
    query = select(Conversation).order_by(Conversation.updated_at.desc(), Conversation.id)
    if statuses:
        query = query.where(Conversation.status.in_([s.value for s in statuses]))
    if assignee_id:
        query = query.where(Conversation.assignee_id == assignee_id)
    if customer_id:
        query = query.where(Conversation.customer_id == customer_id)
    if updated_before:
        query = query.where(Conversation.updated_at < updated_before)
    return session.scalars(query.limit(limit)).all()


def count_by_status(session: Session) -> dict[str, int]:
    """Return how many conversations are in each status."""
    rows = session.execute(select(Conversation.status, func.count()).group_by(Conversation.status))
    return {status: count for status, count in rows}


def ensure_assignable(conversation: Conversation) -> None:
    """Raise ConflictError if a conversation cannot be assigned in its current status."""
    if Action.ASSIGN not in state.allowed_actions(conversation.status_enum):
        raise ConflictError(f"cannot assign a conversation that is {conversation.status}")


def assign(
    session: Session, conversation: Conversation, *, actor_id: str, assignee_id: str | None = None
) -> Transition:
    """Give a locked conversation to an active member of its workspace (the actor by default).

    The preconditions of every path (team API, console): the assignee exists in this
    workspace's scope (else NotFoundError), is active, and the status allows assigning.
    """
    assignee = session.scalar(select(User).where(User.id == (assignee_id or actor_id)))
    if assignee is None or assignee.workspace_id != conversation.workspace_id:
        raise NotFoundError("user not found")
    if not assignee.is_active:
        raise ValidationError("cannot assign to a deactivated user")
    ensure_assignable(conversation)
    return change_status(
        session,
        conversation,
        Action.ASSIGN,
        actor_type="user",
        actor_id=actor_id,
        assignee_id=assignee.id,
    )


@dataclass(frozen=True)
class HistoryItem:
    """One of the customer's other conversations."""

    id: str
    status: str
    created_at: datetime
    subject: str | None
    resolved_at: datetime | None


def customer_history(
    session: Session, conversation: Conversation, limit: int = 5
) -> list[HistoryItem]:
    """Return the customer's other conversations, most recently active first."""
    others = [
        c
        for c in list_conversations(session, customer_id=conversation.customer_id, limit=limit + 1)
        if c.id != conversation.id
    ][:limit]
    first_seq = (
        select(Message.conversation_id, func.min(Message.seq).label("seq"))
        .where(
            Message.conversation_id.in_([c.id for c in others]),
            Message.author == Author.CUSTOMER.value,
            Message.is_private.is_(False),
        )
        .group_by(Message.conversation_id)
        .subquery()
    )
    first_lines = {
        m.conversation_id: m.text
        for m in session.scalars(
            select(Message).join(
                first_seq,
                (Message.conversation_id == first_seq.c.conversation_id)
                & (Message.seq == first_seq.c.seq),
            )
        )
    }
    return [
        HistoryItem(
            id=c.id,
            status=c.status,
            created_at=c.created_at,
            subject=c.subject or first_line(first_lines.get(c.id)),
            resolved_at=c.resolved_at,
        )
        for c in others
    ]
