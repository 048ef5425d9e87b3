"""The public, read-only page of an article, so the AI can link customers to it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from tandem.api.deps import SessionDep
from tandem.api.middleware import framed_page_headers
from tandem.core.errors import NotFoundError
from tandem.core.pages import page_templates
from tandem.db.session import scope_session
from tandem.knowledge import service
from tandem.knowledge.markdown import render_markdown
from tandem.knowledge.models import Article
from tandem.workspaces.service import get_workspace_by_widget_key

HERE = Path(__file__).resolve().parent
templates = page_templates(HERE / "templates")
templates.env.filters["markdown"] = render_markdown

router = APIRouter(tags=["help"], include_in_schema=False)

# Nothing on the page runs: no scripts at all, styles and images from the desk only.
PAGE_HEADERS = framed_page_headers("style-src 'self'", "img-src 'self' data:")
_CSS = (HERE / "static" / "help.css").read_bytes()
CSS_VERSION = hashlib.sha256(_CSS).hexdigest()[:12]

Key = Annotated[str, PathParam(max_length=200)]
ArticleId = Annotated[str, PathParam(max_length=64)]


def _public_article(session: SessionDep, widget_key: str, article_id: str) -> Article | None:
    try:
        workspace = get_workspace_by_widget_key(session, widget_key)
    except NotFoundError:
        return None
    scope_session(session, workspace.id)
    try:
        article = service.get_article(session, article_id=article_id)
    except NotFoundError:
        return None
    return article if article.ai_enabled else None


@router.get("/help/{widget_key}/articles/{article_id}", response_class=HTMLResponse)
def article_page(
    widget_key: Key, article_id: ArticleId, request: Request, session: SessionDep
) -> Response:
    """Show an article the AI may use; anything else is a readable 404 page."""
    article = _public_article(session, widget_key, article_id)
    context = {"article": article, "css_version": CSS_VERSION}
    return templates.TemplateResponse(
        request,
        "help_article.html",
        context,
        status_code=200 if article else 404,
        headers=PAGE_HEADERS,
    )


@router.get("/help/static/help.css")
def help_css() -> Response:
    """Serve the article page's stylesheet."""
    return Response(
        _CSS,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
