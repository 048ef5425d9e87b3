"""Server-sent events for one conversation: replay from the database, then follow pokes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.models import Conversation, Message
from tandem.db.session import transaction
from tandem.live import get_broker
from tandem.live.broker import conversation_channel

KEEPALIVE_SECONDS = 15.0

# Returns (events to send, the last sequence number they cover); runs in a worker thread.
Loader = Callable[[int], tuple[list[dict[str, Any]], int]]


def format_event(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """Return one SSE frame."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return "\n".join(lines) + "\n\n"


def last_event_id(request: Request, after: int | None) -> int:
    """Return where a reconnecting client left off (Last-Event-ID wins over ?after=)."""
    header = request.headers.get("last-event-id", "")
    if header.isdigit():
        return int(header)
    return max(after or 0, 0)


async def _follow(
    request: Request, conversation_id: str, load: Loader, after_seq: int
) -> AsyncIterator[str]:
    async with get_broker().subscribe(conversation_channel(conversation_id)) as queue:
        cursor = after_seq
        yield "retry: 2000\n\n"
        while True:
            events, cursor = await anyio.to_thread.run_sync(load, cursor)
            for frame in events:
                yield format_event(frame["event"], frame["data"], frame.get("id"))
            try:
                await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
                # Coalesce bursts: one database read covers every poke queued so far.
                while not queue.empty():
                    queue.get_nowait()
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"


def conversation_stream(
    request: Request, conversation_id: str, load: Loader, after_seq: int
) -> StreamingResponse:
    """Return an SSE response that streams a conversation's new messages and status."""
    return StreamingResponse(
        _follow(request, conversation_id, load, after_seq),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def ownership_state(conversation: Conversation) -> str:
    """Return an opaque token that changes whenever status, assignee or queue changes.

    A digest, not the ids: the widget's stream carries it to customers, who must not learn the
    agent's user id or the queue's. The conversation id is in it, so two conversations with the
    same agent do not share a token.
    """
    raw = (
        f"{conversation.id}:{conversation.status}:{conversation.assignee_id or '-'}:"
        f"{conversation.queue_id or '-'}"
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def message_loader(
    factory: sessionmaker[Session],
    *,
    workspace_id: str,
    conversation_id: str,
    include_private: bool,
    to_json: Callable[[Message], dict[str, Any]],
    known_state: str | None = None,
) -> Loader:
    """Return a loader that reads messages after a cursor, plus the status when it changes.

    `known_state` is the `state` a client last saw (see `ownership_state`); a page rendered a
    moment ago passes it so the stream does not announce a "change" that is not one.
    """
    from tandem.conversations import service

    seen = {"status": known_state or ""}

    def load(cursor: int) -> tuple[list[dict[str, Any]], int]:
        with transaction(factory, workspace_id) as session:
            current = service.get_conversation(session, conversation_id)
            messages = service.list_messages(
                session, conversation_id, after_seq=cursor, include_private=include_private
            )
            frames: list[dict[str, Any]] = [
                {"event": "message", "id": m.seq, "data": to_json(m)} for m in messages
            ]
            state = ownership_state(current)
            if state != seen["status"]:
                seen["status"] = state
                data = {
                    "status": current.status,
                    "agent_name": service.agent_first_name(session, current),
                    "state": state,
                }
                frames.append({"event": "status", "data": data})
            return frames, (messages[-1].seq if messages else cursor)

    return load
