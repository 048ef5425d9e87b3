"""Load the demo store's FAQ into a workspace: approved answers and training examples."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tandem.knowledge.service import add_training_examples, upsert_answer


def faq_entries(content: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every FAQ entry, the AI-allowed ones and the human-only ones."""
    return list(content.get("faqs", [])) + list(content.get("human_only", []))


def save_faq_answer(
    session: Session,
    *,
    workspace_id: str,
    entry: dict[str, Any],
    ai_allowed: bool | None = None,
    translations: dict[str, dict[str, str]] | None = None,
) -> None:
    """Store an FAQ entry as its intent's approved answer (None keeps ai_allowed/translations)."""
    upsert_answer(
        session,
        workspace_id=workspace_id,
        intent=entry["intent"],
        title=entry["title"],
        body=entry["answer"],
        ai_allowed=ai_allowed,
        translations=translations,
    )


def load_faq(session: Session, *, workspace_id: str, content: dict[str, Any]) -> int:
    """Store each FAQ as an approved answer and its phrasings as training examples."""
    count = 0
    for entry in faq_entries(content):
        allowed = bool(entry.get("ai_allowed", True))
        save_faq_answer(session, workspace_id=workspace_id, entry=entry, ai_allowed=allowed)
        count += add_training_examples(
            session,
            workspace_id=workspace_id,
            rows=[(text, entry["intent"]) for text in entry["examples"]],
            source="demo",
        )
    return count
