"""Write and read a workspace's knowledge: answers, articles (chunked, embedded), retrieval.

Every function works in the caller's transaction and never commits. Reads go through the
scoped session (db/session.py), so an id from another workspace is simply not found.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import quote

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tandem.core.errors import ValidationError
from tandem.db.base import new_id, utcnow
from tandem.db.session import one_or_not_found, scope_session
from tandem.events.service import audit
from tandem.knowledge.importers import (
    Document,
    Section,
    chunk_sections,
    is_web_url,
    parse_file,
    parse_markdown,
)
from tandem.knowledge.models import Answer, Article, Chunk, TrainingExample
from tandem.knowledge.retriever import Passage, VectorRetriever
from tandem.triage.embedders import Embedder
from tandem.workspaces.models import Workspace
from tandem.workspaces.settings import workspace_settings

Progress = Callable[[int, int], None]

MAX_TITLE_CHARS = 300
MAX_ANSWER_TITLE_CHARS = 200
MAX_ARTICLE_CHARS = 50_000
MAX_ANSWER_CHARS = 10_000
MAX_URL_CHARS = 500
MAX_IMPORT_FILES = 20
# The largest request that writes articles (an upload of several files, a long article).
MAX_KNOWLEDGE_REQUEST_BYTES = 5_000_000
# Articles written in the console have no file; their source names them instead.
CONSOLE_SOURCE_PREFIX = "console:"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")


def clean_url(url: str | None) -> str | None:
    """Return a stripped http(s) address (None when blank), or raise ValidationError."""
    url = (url or "").strip()
    if not url:
        return None
    if len(url) > MAX_URL_CHARS or not is_web_url(url):
        raise ValidationError(
            f"the link must be a full web address starting with http:// or https:// "
            f"(at most {MAX_URL_CHARS} characters)"
        )
    return url


def clean_text(value: str, label: str, max_chars: int) -> str:
    """Return a stripped, non-empty text within a length, or raise ValidationError naming it."""
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{label} cannot be empty")
    if len(value) > max_chars:
        raise ValidationError(f"{label} is too long ({len(value)} characters; at most {max_chars})")
    return value


# --- approved answers ---------------------------------------------------------------------------


def _translations(
    session: Session, workspace_id: str, given: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    languages = workspace_settings(session.get(Workspace, workspace_id)).languages
    cleaned: dict[str, dict[str, str]] = {}
    for raw_code, translation in given.items():
        code = raw_code.strip().lower()
        if not _LANGUAGE.match(code) or code not in languages:
            raise ValidationError(
                f"translation language {raw_code!r} is not one of this workspace's languages "
                f"({', '.join(languages)})"
            )
        title = (translation.get("title") or "").strip()
        body = (translation.get("body") or "").strip()
        if not title and not body:
            continue  # an empty translation is no translation
        if len(title) > MAX_ANSWER_TITLE_CHARS:
            raise ValidationError(f"the {code} title is too long (at most 200 characters)")
        body = clean_text(body, f"the {code} answer", MAX_ANSWER_CHARS)
        cleaned[code] = {"title": title, "body": body}
    return cleaned


def upsert_answer(
    session: Session,
    *,
    workspace_id: str,
    intent: str,
    title: str,
    body: str,
    ai_allowed: bool | None = None,
    source_url: str | None = None,
    translations: Mapping[str, Mapping[str, str]] | None = None,
) -> Answer:
    """Create or replace the approved answer for an intent (None keeps ai_allowed/translations)."""
    if not intent.strip():
        raise ValidationError("an answer needs an intent")
    title = clean_text(title, "the answer's title", MAX_ANSWER_TITLE_CHARS)
    body = clean_text(body, "the answer", MAX_ANSWER_CHARS)
    answer = session.scalar(select(Answer).where(Answer.intent == intent))
    created = answer is None
    if answer is None:
        answer = Answer(workspace_id=workspace_id, intent=intent, ai_allowed=True, translations={})
        session.add(answer)
    answer.title, answer.body, answer.source_url = title, body, clean_url(source_url)
    if ai_allowed is not None:
        answer.ai_allowed = ai_allowed
    if translations is not None:
        answer.translations = _translations(session, workspace_id, translations)
    answer.updated_at = utcnow()
    session.flush()
    audit(
        session,
        workspace_id=workspace_id,
        type="answer.created" if created else "answer.changed",
        data={"intent": intent, "title": title, "ai_allowed": answer.ai_allowed},
    )
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
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def localized(self, language: str | None) -> ApprovedAnswer:
        """Return the answer in a language when it has that translation, else unchanged."""
        translation = self.translations.get(language or "")
        if not translation or not translation.get("body"):
            return self
        return replace(self, title=translation.get("title") or self.title, body=translation["body"])


def list_answers(session: Session) -> list[Answer]:
    """Return the workspace's approved answers, by intent."""
    return list(session.scalars(select(Answer).order_by(Answer.intent)))


def get_answer(session: Session, answer_id: str) -> Answer:
    """Return one of the workspace's approved answers, or raise NotFoundError."""
    return one_or_not_found(session, select(Answer).where(Answer.id == answer_id), "answer")


def approved_answers(session: Session, *, ai_only: bool = True) -> dict[str, ApprovedAnswer]:
    """Return the scoped workspace's approved content keyed by intent (answers win).

    ai_only (the default, for the AI) leaves out articles switched off for the AI.
    """
    result = {
        a.intent: ApprovedAnswer(
            a.intent, a.title, a.body, a.source_url, a.ai_allowed, "answer", a.translations or {}
        )
        for a in session.scalars(select(Answer))
    }
    query = select(Article).where(Article.intent.is_not(None))
    if ai_only:
        query = query.where(Article.ai_enabled.is_(True))
    for article in session.scalars(query):
        intent = article.intent or ""
        if intent not in result:
            result[intent] = ApprovedAnswer(
                intent, article.title, article.body, article.url, True, "article"
            )
    return result


# --- articles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """How many articles and chunks an import wrote, and which articles."""

    articles: int
    chunks: int
    article_ids: tuple[str, ...] = ()


def index_article(
    session: Session, *, article: Article, sections: Sequence[Section], embedder: Embedder
) -> int:
    """Replace an article's chunks with freshly embedded ones; return how many it has."""
    session.execute(delete(Chunk).where(Chunk.article_id == article.id))
    pieces = chunk_sections(list(sections))
    vectors = embedder.encode([f"{article.title}. {p.heading}. {p.text}" for p in pieces])
    for position, (piece, vector) in enumerate(zip(pieces, vectors, strict=True)):
        session.add(
            Chunk(
                workspace_id=article.workspace_id,
                article_id=article.id,
                position=position,
                heading=piece.heading[:300],
                text=piece.text,
                embedder=embedder.name,
                vector=np.asarray(vector, dtype=np.float32).tobytes(),
            )
        )
    return len(pieces)


def import_documents(
    session: Session,
    *,
    workspace_id: str,
    documents: Sequence[Document],
    embedder: Embedder,
    progress: Progress | None = None,
) -> ImportResult:
    """Store documents as articles with embedded chunks (re-importing a source replaces it).

    A re-imported article keeps its id (links to it stay valid) and its AI switch.
    """
    scope_session(session, workspace_id)
    total_chunks, ids = 0, []
    for done, document in enumerate(documents, start=1):
        source = document.source[:500]
        article = session.scalar(select(Article).where(Article.source == source))
        if article is None:
            article = Article(workspace_id=workspace_id, source=source, ai_enabled=True)
            session.add(article)
        article.title = document.title[:MAX_TITLE_CHARS]
        article.body = document.body
        article.intent = document.intent
        article.url = document.url or article.url
        article.updated_at = utcnow()
        session.flush()
        total_chunks += index_article(
            session, article=article, sections=document.sections, embedder=embedder
        )
        ids.append(article.id)
        if progress:
            progress(done, len(documents))
    session.flush()
    return ImportResult(articles=len(documents), chunks=total_chunks, article_ids=tuple(ids))


def import_files(
    session: Session,
    *,
    workspace_id: str,
    files: Sequence[tuple[str, bytes]],
    embedder: Embedder,
) -> ImportResult:
    """Parse uploaded (file name, content) pairs and import them; nothing is kept if one is bad."""
    if not files:
        raise ValidationError("choose at least one .md, .html or .csv file")
    if len(files) > MAX_IMPORT_FILES:
        raise ValidationError(f"import at most {MAX_IMPORT_FILES} files at once")
    documents: list[Document] = []
    for name, data in files:
        parsed = parse_file(name or "unnamed", data)
        if not parsed:
            raise ValidationError(f"{name}: found no article in this file")
        for document in parsed:
            if len(document.body) > MAX_ARTICLE_CHARS:
                raise ValidationError(
                    f"{document.source}: the article is too long (at most "
                    f"{MAX_ARTICLE_CHARS} characters); split it into several files"
                )
        documents.extend(parsed)
    return import_documents(
        session, workspace_id=workspace_id, documents=documents, embedder=embedder
    )


def list_articles(session: Session) -> list[Article]:
    """Return the scoped workspace's articles, most recently changed first."""
    return list(session.scalars(select(Article).order_by(Article.updated_at.desc(), Article.id)))


def get_article(session: Session, *, article_id: str) -> Article:
    """Return one article of the scoped workspace, or raise NotFoundError."""
    return one_or_not_found(session, select(Article).where(Article.id == article_id), "article")


def _index_markdown(session: Session, article: Article, embedder: Embedder) -> None:
    sections = parse_markdown(article.body, source=article.source).sections
    index_article(session, article=article, sections=sections, embedder=embedder)


def create_article(
    session: Session,
    *,
    workspace_id: str,
    title: str,
    body: str,
    url: str | None = None,
    ai_enabled: bool = True,
    embedder: Embedder,
) -> Article:
    """Write a Markdown article in the console or API, chunked and embedded for retrieval."""
    article_id = new_id()
    article = Article(
        id=article_id,
        workspace_id=workspace_id,
        title=clean_text(title, "the title", MAX_TITLE_CHARS),
        body=clean_text(body, "the article", MAX_ARTICLE_CHARS),
        source=f"{CONSOLE_SOURCE_PREFIX}{article_id}",
        url=clean_url(url),
        ai_enabled=ai_enabled,
    )
    session.add(article)
    session.flush()
    _index_markdown(session, article, embedder)
    session.flush()
    return article


def update_article(
    session: Session,
    *,
    article_id: str,
    title: str,
    body: str,
    url: str | None,
    ai_enabled: bool,
    embedder: Embedder,
) -> Article:
    """Change an article; a new title or body is re-chunked and re-embedded."""
    article = get_article(session, article_id=article_id)
    title = clean_text(title, "the title", MAX_TITLE_CHARS)
    body = clean_text(body, "the article", MAX_ARTICLE_CHARS)
    reindex = (title, body) != (article.title, article.body)
    switched = ai_enabled != article.ai_enabled
    article.title, article.body = title, body
    article.url, article.ai_enabled = clean_url(url), ai_enabled
    article.updated_at = utcnow()
    session.flush()
    if reindex:
        _index_markdown(session, article, embedder)
        session.flush()
    if switched:
        _audit_ai_switch(session, article)
    return article


def set_article_ai_enabled(session: Session, *, article_id: str, ai_enabled: bool) -> Article:
    """Let the AI answer from an article, or keep it for people (and the co-pilot) only."""
    article = get_article(session, article_id=article_id)
    article.ai_enabled = ai_enabled
    article.updated_at = utcnow()
    session.flush()
    _audit_ai_switch(session, article)
    return article


def _audit_ai_switch(session: Session, article: Article) -> None:
    audit(
        session,
        workspace_id=article.workspace_id,
        type="article.ai_enabled" if article.ai_enabled else "article.ai_disabled",
        data={"article_id": article.id, "title": article.title},
    )


def delete_article(session: Session, *, article_id: str) -> None:
    """Delete an article and its chunks."""
    article = get_article(session, article_id=article_id)
    session.execute(delete(Chunk).where(Chunk.article_id == article.id))
    session.delete(article)
    session.flush()


def article_path(article_id: str, *, widget_key: str) -> str:
    """Return the desk-relative path of an article's public page."""
    return f"/help/{quote(widget_key, safe='')}/articles/{quote(article_id, safe='')}"


def article_link(article: Article, *, widget_key: str) -> str:
    """Return where a customer can read an article: its own URL, else its page on the desk."""
    return article.url or article_path(article.id, widget_key=widget_key)


# --- retrieval ----------------------------------------------------------------------------------


def load_retriever(
    session: Session, *, embedder_name: str, ai_only: bool = True
) -> VectorRetriever:
    """Build a retriever over the scoped workspace's chunks embedded with one model.

    ai_only (the default, for the AI) leaves out articles switched off for the AI; the
    co-pilot, which only suggests to people, passes False.
    """
    query = (
        select(Chunk, Article.title, Article.source, Article.url)
        .join(Article, Article.id == Chunk.article_id)
        .where(Chunk.embedder == embedder_name)
        .order_by(Chunk.article_id, Chunk.position)
    )
    if ai_only:
        query = query.where(Article.ai_enabled.is_(True))
    rows = session.execute(query).all()
    if not rows:
        return VectorRetriever([], np.zeros((0, 1), dtype=np.float32))
    passages = [
        Passage(
            key=chunk.id,
            title=title,
            text=chunk.text,
            source=source,
            article_id=chunk.article_id,
            url=url,
            heading=chunk.heading,
        )
        for chunk, title, source, url in rows
    ]
    vectors = np.vstack([np.frombuffer(row[0].vector, dtype=np.float32) for row in rows])
    return VectorRetriever(passages, vectors)


Fingerprint = tuple[int, int, int, object]


def knowledge_fingerprint(session: Session) -> Fingerprint:
    """Return a value that changes whenever an article is added, edited, switched or deleted.

    (articles, chunks, chunks the AI may use, newest change): a delete lowers a count, and
    every write sets the article's updated_at, so an edit or a delete-then-add shows too.
    """
    articles, newest = session.execute(
        select(func.count(Article.id), func.max(Article.updated_at))
    ).one()
    chunks, enabled = session.execute(
        select(
            func.count(Chunk.id),
            func.count(Chunk.id).filter(Article.ai_enabled.is_(True)),
        ).join(Article, Article.id == Chunk.article_id)
    ).one()
    return int(articles or 0), int(chunks or 0), int(enabled or 0), newest


class RetrieverCache:
    """One retriever per workspace, model and audience, rebuilt when its knowledge changes."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, bool], tuple[Fingerprint, VectorRetriever]] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Session, *, workspace_id: str, embedder_name: str, ai_only: bool = True
    ) -> VectorRetriever:
        """Return the scoped workspace's retriever, reloading it if the knowledge changed.

        ai_only (the default, for the AI) leaves out articles switched off for the AI.
        """
        key = (workspace_id, embedder_name, ai_only)
        fingerprint = knowledge_fingerprint(session)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
        retriever = load_retriever(session, embedder_name=embedder_name, ai_only=ai_only)
        with self._lock:
            self._entries[key] = (fingerprint, retriever)
        return retriever


retriever_cache = RetrieverCache()


# --- training examples (bulk; one-by-one edits live in knowledge/intents.py) --------------------


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
    """Return the scoped workspace's training texts and intents (not those awaiting approval)."""
    rows = training_rows(session)
    return [r[0] for r in rows], [r[1] for r in rows]


def training_rows(session: Session) -> list[tuple[str, str, datetime]]:
    """Return (text, intent, created_at) of the trainable examples, oldest first."""
    rows = session.execute(
        select(TrainingExample.text, TrainingExample.intent, TrainingExample.created_at)
        .where(TrainingExample.pending.is_(False))  # new intents wait for a supervisor
        .order_by(TrainingExample.created_at, TrainingExample.id)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def pending_examples(session: Session) -> tuple[list[str], list[str]]:
    """Return the examples of new intents that wait for a supervisor (never trained on)."""
    rows = session.execute(
        select(TrainingExample.text, TrainingExample.intent)
        .where(TrainingExample.pending.is_(True))
        .order_by(TrainingExample.created_at, TrainingExample.id)
    ).all()
    return [r[0] for r in rows], [r[1] for r in rows]
