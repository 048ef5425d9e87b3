"""Write and read a workspace's knowledge: answers, articles (chunked, embedded), examples."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tandem.core.errors import ValidationError
from tandem.knowledge.importers import Document, chunk_sections
from tandem.knowledge.models import Answer, Article, Chunk, TrainingExample
from tandem.knowledge.retriever import Passage, VectorRetriever
from tandem.triage.embedders import Embedder

Progress = Callable[[int, int], None]


def upsert_answer(
    session: Session,
    *,
    workspace_id: str,
    intent: str,
    title: str,
    body: str,
    ai_allowed: bool = True,
    source_url: str | None = None,
) -> Answer:
    """Create or replace the approved answer for an intent."""
    if not intent.strip() or not body.strip():
        raise ValidationError("an answer needs an intent and a body")
    answer = session.scalar(select(Answer).where(Answer.intent == intent))
    if answer is None:
        answer = Answer(workspace_id=workspace_id, intent=intent)
        session.add(answer)
    answer.title, answer.body, answer.ai_allowed, answer.source_url = (
        title,
        body,
        ai_allowed,
        source_url,
    )
    session.flush()
    return answer


@dataclass(frozen=True)
class ApprovedAnswer:
    """What the AI may send for an intent: an approved answer, or an article tagged with it."""

    intent: str
    title: str
    body: str
    source_url: str | None
    ai_allowed: bool
    kind: str  # "answer" | "article"


def approved_answers(session: Session) -> dict[str, ApprovedAnswer]:
    """Return the scoped workspace's approved content keyed by intent (answers win)."""
    result = {
        a.intent: ApprovedAnswer(a.intent, a.title, a.body, a.source_url, a.ai_allowed, "answer")
        for a in session.scalars(select(Answer))
    }
    for article in session.scalars(select(Article).where(Article.intent.is_not(None))):
        intent = article.intent or ""
        if intent not in result:
            result[intent] = ApprovedAnswer(
                intent, article.title, article.body, None, True, "article"
            )
    return result


@dataclass(frozen=True)
class ImportResult:
    """How many articles and chunks an import wrote."""

    articles: int
    chunks: int


def import_documents(
    session: Session,
    *,
    workspace_id: str,
    documents: Sequence[Document],
    embedder: Embedder,
    progress: Progress | None = None,
) -> ImportResult:
    """Store documents as articles (re-importing a source replaces it) with embedded chunks."""
    total_chunks = 0
    for done, document in enumerate(documents, start=1):
        session.execute(
            delete(Article).where(
                Article.workspace_id == workspace_id, Article.source == document.source
            )
        )
        article = Article(
            workspace_id=workspace_id,
            title=document.title[:300],
            body=document.body,
            source=document.source[:500],
            intent=document.intent,
        )
        session.add(article)
        session.flush()
        pieces = chunk_sections(document.sections)
        vectors = embedder.encode([f"{document.title}. {p.heading}. {p.text}" for p in pieces])
        for position, (piece, vector) in enumerate(zip(pieces, vectors, strict=True)):
            session.add(
                Chunk(
                    workspace_id=workspace_id,
                    article_id=article.id,
                    position=position,
                    heading=piece.heading[:300],
                    text=piece.text,
                    embedder=embedder.name,
                    vector=np.asarray(vector, dtype=np.float32).tobytes(),
                )
            )
        total_chunks += len(pieces)
        if progress:
            progress(done, len(documents))
    session.flush()
    return ImportResult(articles=len(documents), chunks=total_chunks)


def load_retriever(session: Session, *, embedder_name: str) -> VectorRetriever:
    """Build a retriever over the scoped workspace's chunks embedded with one model."""
    rows = session.execute(
        select(Chunk, Article.title, Article.source)
        .join(Article, Article.id == Chunk.article_id)
        .where(Chunk.embedder == embedder_name)
        .order_by(Chunk.article_id, Chunk.position)
    ).all()
    passages = [
        Passage(key=chunk.id, title=title, text=chunk.text, source=source)
        for chunk, title, source in rows
    ]
    if not rows:
        return VectorRetriever([], np.zeros((0, 1), dtype=np.float32))
    vectors = np.vstack([np.frombuffer(chunk.vector, dtype=np.float32) for chunk, _, _ in rows])
    return VectorRetriever(passages, vectors)


def knowledge_fingerprint(session: Session) -> tuple[int, object]:
    """Return (chunk count, newest article time): changes whenever the knowledge changes."""
    count = session.scalar(select(func.count()).select_from(Chunk)) or 0
    newest = session.scalar(select(func.max(Article.created_at)))
    return int(count), newest


def add_training_examples(
    session: Session, *, workspace_id: str, rows: Iterable[tuple[str, str]], source: str
) -> int:
    """Store labelled examples (text, intent); blank rows are skipped."""
    count = 0
    for text, intent in rows:
        if text.strip() and intent.strip():
            session.add(
                TrainingExample(
                    workspace_id=workspace_id,
                    text=text.strip(),
                    intent=intent.strip(),
                    source=source,
                )
            )
            count += 1
    session.flush()
    return count


def training_examples(session: Session) -> tuple[list[str], list[str]]:
    """Return the scoped workspace's training texts and intents."""
    rows = session.execute(
        select(TrainingExample.text, TrainingExample.intent).order_by(
            TrainingExample.created_at, TrainingExample.id
        )
    ).all()
    return [r[0] for r in rows], [r[1] for r in rows]


class RetrieverCache:
    """One retriever per workspace, rebuilt when its knowledge changes."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[int, object], VectorRetriever]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, *, workspace_id: str, embedder_name: str) -> VectorRetriever:
        """Return the scoped workspace's retriever, reloading it if the knowledge changed."""
        fingerprint = knowledge_fingerprint(session)
        with self._lock:
            cached = self._entries.get(workspace_id)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
        retriever = load_retriever(session, embedder_name=embedder_name)
        with self._lock:
            self._entries[workspace_id] = (fingerprint, retriever)
        return retriever


retriever_cache = RetrieverCache()
