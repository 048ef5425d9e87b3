"""The console's view of the co-pilot: suggestions, next best actions, compliance flags.

Everything here reads through tandem.copilot.service; the console only shapes it for display
and decides one thing itself: a draft with a blocking flag is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tandem.conversations.models import Conversation
from tandem.conversations.service import HistoryItem, customer_history
from tandem.copilot import service as copilot
from tandem.workspaces.models import Workspace


@dataclass(frozen=True)
class FlagView:
    """One compliance flag on a draft, with the flagged words."""

    code: str
    severity: str  # block | warn
    message: str
    excerpt: str


def check_draft(session: Session, workspace: Workspace, text: str) -> list[FlagView]:
    """Return the compliance flags of a draft reply (blocking ones first)."""
    if not text.strip():
        return []
    return flag_views(text, [f.as_dict() for f in copilot.check(session, workspace, text)])


def flag_views(text: str, flags: list[dict[str, Any]]) -> list[FlagView]:
    """Shape flags (as the service reports them) for display, with the flagged words."""
    views = []
    for flag in flags:
        start, end = flag.get("start"), flag.get("end")
        has_place = isinstance(start, int) and isinstance(end, int) and end > start
        views.append(
            FlagView(
                code=str(flag["code"]),
                severity=str(flag["severity"]),
                message=str(flag["message"]),
                excerpt=text[start:end] if has_place else "",
            )
        )
    return sorted(views, key=lambda v: (v.severity != "block", v.code))


def panel(session: Session, conversation: Conversation) -> dict[str, Any]:
    """Return the co-pilot panel's data: suggested replies and next best actions."""
    return {
        "available": True,
        "suggestions": copilot.suggestions(session, conversation, limit=3),
        "actions": copilot.next_actions(session, conversation),
    }


def history(session: Session, conversation: Conversation) -> list[HistoryItem]:
    """Return the customer's other conversations, most recent first."""
    return customer_history(session, conversation)
