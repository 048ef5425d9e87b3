"""The knowledge API: articles, approved answers per intent, and training examples.

Admins write; supervisors (and admins) read. Mistakes are 4xx with a readable message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, File, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tandem.api.deps import AdminPrincipal, SessionDep, SupervisorPrincipal
from tandem.core.errors import ValidationError
from tandem.core.schemas import BodyIn, RowOut
from tandem.knowledge import intents, service
from tandem.knowledge.models import Answer, Article
from tandem.triage.embedders import Embedder, get_embedder
from tandem.triage.pipeline import SIGNAL_EMBEDDER
from tandem.workspaces.service import get_workspace

router = APIRouter(prefix="/api/v1", tags=["knowledge"])

# An upload is read into memory; the app's body-size limit refuses larger requests first.
MAX_UPLOAD_BYTES = service.MAX_KNOWLEDGE_REQUEST_BYTES


def article_embedder() -> Embedder:
    """Return the embedder articles are indexed with (the one the AI and co-pilot search)."""
    return get_embedder(SIGNAL_EMBEDDER)


EmbedderDep = Annotated[Embedder, Depends(article_embedder)]


def read_uploads(uploads: list[UploadFile]) -> list[tuple[str, bytes]]:
    """Return (file name, bytes) of uploaded files, refusing one that is too large."""
    files = []
    for upload in uploads:
        data = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if not upload.filename and not data:
            continue  # a form's empty file field
        name = upload.filename or "unnamed"
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValidationError(f"{name}: the file is over {MAX_UPLOAD_BYTES // 1_000_000} MB")
        files.append((name, data))
    return files


def widget_key(session: Session, workspace_id: str) -> str:
    """Return the workspace's widget key (public article links carry it)."""
    return get_workspace(session, workspace_id).widget_key


# --- articles -----------------------------------------------------------------------------------


class ArticleIn(BodyIn):
    """An article written in Markdown; the AI may answer from it unless ai_enabled is false."""

    title: str = Field(min_length=1, max_length=service.MAX_TITLE_CHARS)
    body: str = Field(min_length=1, max_length=service.MAX_ARTICLE_CHARS)
    url: str | None = Field(None, max_length=service.MAX_URL_CHARS)
    ai_enabled: bool = True


class ArticleSummaryOut(RowOut):
    """An article without its text."""

    id: str
    title: str
    source: str
    url: str | None
    link: str
    intent: str | None
    ai_enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, article: Article, key: str) -> Self:
        """Build from a stored article (key: the workspace's widget key, for its link)."""
        return cls.from_row(article, link=service.article_link(article, widget_key=key))


class ArticleOut(ArticleSummaryOut):
    """An article with its text (Markdown for articles written in the console)."""

    body: str


class ImportOut(BaseModel):
    """What an import wrote."""

    articles: int
    chunks: int
    article_ids: list[str]


@router.get("/articles", response_model=list[ArticleSummaryOut])
def list_articles(principal: SupervisorPrincipal, session: SessionDep) -> list[ArticleSummaryOut]:
    """List the workspace's articles, most recently changed first."""
    key = widget_key(session, principal.workspace_id)
    return [ArticleSummaryOut.of(a, key) for a in service.list_articles(session)]


@router.post("/articles", status_code=201, response_model=ArticleOut)
def create_article(
    body: ArticleIn, principal: AdminPrincipal, session: SessionDep, embedder: EmbedderDep
) -> ArticleOut:
    """Write an article (admins only); it is chunked and embedded at once."""
    article = service.create_article(
        session, workspace_id=principal.workspace_id, embedder=embedder, **body.model_dump()
    )
    return ArticleOut.of(article, widget_key(session, principal.workspace_id))


@router.post("/articles/import", status_code=201, response_model=ImportOut)
def import_articles(
    principal: AdminPrincipal,
    session: SessionDep,
    embedder: EmbedderDep,
    files: Annotated[list[UploadFile], File(description=".md, .html or .csv files")],
) -> ImportOut:
    """Import Markdown, HTML or CSV files (admins only); a re-imported file replaces its article."""
    result = service.import_files(
        session, workspace_id=principal.workspace_id, files=read_uploads(files), embedder=embedder
    )
    return ImportOut(
        articles=result.articles, chunks=result.chunks, article_ids=list(result.article_ids)
    )


@router.get("/articles/{article_id}", response_model=ArticleOut)
def read_article(
    article_id: str, principal: SupervisorPrincipal, session: SessionDep
) -> ArticleOut:
    """Return one article with its text."""
    article = service.get_article(session, article_id=article_id)
    return ArticleOut.of(article, widget_key(session, principal.workspace_id))


@router.put("/articles/{article_id}", response_model=ArticleOut)
def update_article(
    article_id: str,
    body: ArticleIn,
    principal: AdminPrincipal,
    session: SessionDep,
    embedder: EmbedderDep,
) -> ArticleOut:
    """Replace an article's title, text, link and AI switch (admins only)."""
    article = service.update_article(
        session, article_id=article_id, embedder=embedder, **body.model_dump()
    )
    return ArticleOut.of(article, widget_key(session, principal.workspace_id))


@router.delete("/articles/{article_id}", status_code=204)
def delete_article(article_id: str, principal: AdminPrincipal, session: SessionDep) -> Response:
    """Delete an article (admins only)."""
    service.delete_article(session, article_id=article_id)
    return Response(status_code=204)


# --- intents, answers, examples -----------------------------------------------------------------


class TranslationIn(BodyIn):
    """The answer in one more language."""

    title: str = Field("", max_length=service.MAX_ANSWER_TITLE_CHARS)
    body: str = Field(min_length=1, max_length=service.MAX_ANSWER_CHARS)


class AnswerIn(BodyIn):
    """The approved answer of an intent (replaces the current one, translations included)."""

    title: str = Field(min_length=1, max_length=service.MAX_ANSWER_TITLE_CHARS)
    body: str = Field(min_length=1, max_length=service.MAX_ANSWER_CHARS)
    translations: dict[str, TranslationIn] = Field(default_factory=dict, max_length=50)
    ai_allowed: bool = True
    source_url: str | None = Field(None, max_length=service.MAX_URL_CHARS)


class AnswerOut(RowOut):
    """An approved answer."""

    title: str
    body: str
    translations: dict[str, dict[str, str]]
    source_url: str | None
    updated_at: datetime

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        """Build from a stored answer."""
        return cls.from_row(answer, translations=dict(answer.translations or {}))


class IntentOut(RowOut):
    """An intent: its approved answer, whether the AI may send it, and its examples."""

    intent: str
    answer: AnswerOut | None
    ai_allowed: bool
    examples: int
    articles: int


class ExampleIn(BodyIn):
    """One way a customer says it."""

    text: str = Field(min_length=1, max_length=intents.MAX_EXAMPLE_CHARS)


class MoveIn(BodyIn):
    """The intent an example really belongs to."""

    intent: str = Field(min_length=1, max_length=100)


class ExampleOut(RowOut):
    """A training example."""

    id: str
    intent: str
    text: str
    source: str
    created_at: datetime


def _intent_out(summary: intents.IntentSummary) -> IntentOut:
    answer = AnswerOut.of(summary.answer) if summary.answer else None
    return IntentOut.from_row(summary, answer=answer)


@router.get("/intents", response_model=list[IntentOut])
def list_intents(principal: SupervisorPrincipal, session: SessionDep) -> list[IntentOut]:
    """List the intents with their approved answer, AI switch and example count."""
    return [_intent_out(s) for s in intents.list_intents(session)]


@router.put("/intents/{intent}/answer", response_model=IntentOut)
def put_answer(
    intent: str, body: AnswerIn, principal: AdminPrincipal, session: SessionDep
) -> IntentOut:
    """Write an intent's approved answer and translations (admins only)."""
    answer = intents.save_intent_answer(
        session, workspace_id=principal.workspace_id, intent=intent, **body.model_dump()
    )
    summary = next(s for s in intents.list_intents(session) if s.intent == answer.intent)
    return _intent_out(summary)


@router.get("/intents/{intent}/examples", response_model=list[ExampleOut])
def list_examples(
    intent: str, principal: SupervisorPrincipal, session: SessionDep
) -> list[ExampleOut]:
    """List an intent's example phrasings."""
    return [ExampleOut.from_row(e) for e in intents.list_examples(session, intent=intent)]


@router.post("/intents/{intent}/examples", status_code=201, response_model=ExampleOut)
def add_example(
    intent: str, body: ExampleIn, principal: AdminPrincipal, session: SessionDep
) -> ExampleOut:
    """Add an example phrasing (admins only); a new intent code starts a new intent."""
    example = intents.add_example(
        session, workspace_id=principal.workspace_id, intent=intent, text=body.text
    )
    return ExampleOut.from_row(example)


@router.delete("/examples/{example_id}", status_code=204)
def delete_example(example_id: str, principal: AdminPrincipal, session: SessionDep) -> Response:
    """Delete an example phrasing (admins only)."""
    intents.remove_example(session, example_id=example_id)
    return Response(status_code=204)


@router.post("/examples/{example_id}/move", response_model=ExampleOut)
def move_example(
    example_id: str, body: MoveIn, principal: AdminPrincipal, session: SessionDep
) -> ExampleOut:
    """Relabel an example phrasing as another intent (admins only)."""
    example = intents.move_example(session, example_id=example_id, intent=body.intent)
    return ExampleOut.from_row(example)
