"""Live updates to browsers (SSE), fed by a broker after each commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tandem.db.session import on_commit
from tandem.live.broker import Broker, conversation_channel, workspace_channel

_broker: Broker = Broker()


def get_broker() -> Broker:
    """Return this process's broker."""
    return _broker


def set_broker(broker: Broker) -> None:
    """Install the broker for this process (at app start)."""
    global _broker
    _broker = broker


def notify_conversation(
    session: Session, *, workspace_id: str, conversation_id: str, kind: str, **data: Any
) -> None:
    """Tell live subscribers about a change once (and only if) the transaction commits."""
    event = {"type": kind, "conversation_id": conversation_id, **data}

    def _send() -> None:
        broker = get_broker()
        broker.publish(conversation_channel(conversation_id), event)
        broker.publish(workspace_channel(workspace_id), event)

    on_commit(session, _send)
