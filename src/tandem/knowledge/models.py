"""What the AI may say: approved answers per intent, articles, and the training examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tandem.db.base import Base, TenantScoped, new_id, utcnow


class Answer(TenantScoped, Base):
    """The approved reply for one intent; the AI sends only this (never invents policy)."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "intent", name="uq_answers_workspace_intent"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    intent: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # False: the intent is known, but only a human may handle it (the body guides the agent).
    ai_allowed: Mapped[bool] = mapped_column(default=True)
    source_url: Mapped[str | None] = mapped_column(String(500), default=None)
    # {language code: {"title": ..., "body": ...}}: the same answer in the workspace's languages.
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Article(TenantScoped, Base):
    """A knowledge-base document: imported (Markdown, HTML, CSV) or written in the console.

    `body` is Markdown for articles written in the console, the extracted text for imports.
    """

    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", name="uq_articles_workspace_source"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500))
    intent: Mapped[str | None] = mapped_column(String(100), default=None)
    # A public link to the article (an imported page's canonical URL, or typed by an admin).
    url: Mapped[str | None] = mapped_column(String(500), default=None)
    # False: people (and the co-pilot) still see it, but the AI never answers from it.
    ai_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Chunk(TenantScoped, Base):
    """A retrievable passage of an article, with its embedding."""

    __tablename__ = "chunks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    heading: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    embedder: Mapped[str] = mapped_column(String(100))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class TrainingExample(TenantScoped, Base):
    """A customer message labelled with its intent (imported, seeded, or learned from humans)."""

    __tablename__ = "training_examples"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(String(30), default="import")
    # Learned from a resolution: the conversation it came from and the agent who confirmed it.
    conversation_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(32), default=None)
    # An example of an intent the workspace does not have yet waits for a supervisor's approval
    # of that intent; pending examples are not trained on.
    pending: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerCandidate(TenantScoped, Base):
    """An agent's reply proposed as an intent's approved answer; the AI uses it once approved."""

    __tablename__ = "answer_candidates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    intent: Mapped[str] = mapped_column(String(100), index=True)
    body: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(String(32), default=None)
    proposed_by: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # approved | dismissed
    decided_by: Mapped[str | None] = mapped_column(String(32), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
