"""Knowledge pages: teach the AI in the browser (articles, approved answers, example phrasings).

Admins change everything here; supervisors may look. Each form calls one knowledge service
function and re-renders its section, with a readable message when a value is not acceptable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import BaseModel

from tandem.core.errors import ValidationError
from tandem.knowledge import intents, service
from tandem.knowledge.models import Article
from tandem.knowledge.views import EmbedderDep, read_uploads, widget_key
from tandem.users.models import Role
from tandem.web.admin_views import Checkbox
from tandem.web.auth import ConsoleRoute
from tandem.web.page import AdminPage, Page, Section, SupervisorPage
from tandem.workspaces.settings import workspace_settings

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute)

LIST_URL = "/console/admin/knowledge"
# Text fields are checked (with a readable message) by the service; the app caps the body size.
TextField = Annotated[str, Form()]


# --- articles -----------------------------------------------------------------------------------


def _articles_context(page: Page) -> dict[str, Any]:
    return {
        "articles": service.list_articles(page.session),
        "can_edit": page.may(Role.ADMIN),
        "console_prefix": service.CONSOLE_SOURCE_PREFIX,
        "accept": ".md,.markdown,.html,.htm,.csv",
    }


ARTICLES = Section(
    "knowledge", "admin/knowledge.html", "admin/_knowledge_articles.html", _articles_context
)
EDITOR = "admin/_knowledge_editor.html"


def _editor_context(page: Page, article: Article | None) -> dict[str, Any]:
    return {
        "article": article,
        "can_edit": page.may(Role.ADMIN),
        "link": (
            service.article_link(article, widget_key=widget_key(page.session, page.workspace_id))
            if article
            else None
        ),
        "max_chars": service.MAX_ARTICLE_CHARS,
    }


def _editor_page(page: Page, article: Article | None) -> Response:
    context = {
        **page.layout(nav="admin", section="knowledge", tab="articles"),
        **_editor_context(page, article),
    }
    return page.render("admin/knowledge_article.html", {**context, "form": {}})


@router.get("/knowledge")
def articles_page(page: SupervisorPage) -> Response:
    """List the knowledge articles with their source, link, AI switch and last change."""
    return ARTICLES.show(page, tab="articles")


@router.post("/knowledge/import")
def import_articles(
    page: AdminPage,
    embedder: EmbedderDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Import uploaded Markdown, HTML or CSV files as articles."""

    def change() -> str:
        result = service.import_files(
            page.session,
            workspace_id=page.workspace_id,
            files=read_uploads(files or []),
            embedder=embedder,
        )
        return f"Imported {result.articles} article(s) ({result.chunks} passages)."

    return ARTICLES.result(page, change)


@router.post("/knowledge/preview")
def preview(page: AdminPage, body: TextField = "") -> Response:
    """Render Markdown the way the article page will show it (raw HTML escaped)."""
    too_long = len(body) > service.MAX_ARTICLE_CHARS
    context = {"body": "" if too_long else body, "too_long": too_long}
    return page.render("admin/_markdown_preview.html", context)


@router.get("/knowledge/new")
def new_article_page(page: AdminPage) -> Response:
    """Show an empty Markdown editor with a live preview."""
    return _editor_page(page, None)


class ArticleForm(BaseModel):
    """The article editor: title, Markdown body, link, and whether the AI may answer from it."""

    title: str = ""
    body: str = ""
    url: str = ""
    ai_enabled: str | None = None

    def fields(self) -> dict[str, Any]:
        """Return the article's fields for the knowledge service (and to show the form again)."""
        return {**self.model_dump(), "ai_enabled": self.ai_enabled is not None}


@router.post("/knowledge")
def create_article(
    page: AdminPage, embedder: EmbedderDep, form: Annotated[ArticleForm, Form()]
) -> Response:
    """Create an article from the editor; the page then edits it."""
    created: list[Article] = []

    def change() -> str:
        article = service.create_article(
            page.session, workspace_id=page.workspace_id, embedder=embedder, **form.fields()
        )
        created.append(article)
        return f"Article “{article.title}” created."

    response = page.form_result(
        EDITOR,
        lambda: _editor_context(page, created[0] if created else None),
        change,
        form.fields(),
    )
    if created:
        response.headers["HX-Push-Url"] = f"{LIST_URL}/{created[0].id}"
    return response


@router.get("/knowledge/{article_id}")
def article_page(article_id: str, page: SupervisorPage) -> Response:
    """Show an article: the editor for admins, the rendered text for supervisors."""
    return _editor_page(page, service.get_article(page.session, article_id=article_id))


@router.post("/knowledge/{article_id}")
def update_article(
    article_id: str, page: AdminPage, embedder: EmbedderDep, form: Annotated[ArticleForm, Form()]
) -> Response:
    """Save an article's title, Markdown, link and AI switch."""

    def change() -> str:
        service.update_article(
            page.session, article_id=article_id, embedder=embedder, **form.fields()
        )
        return "Article saved."

    def context() -> dict[str, Any]:
        return _editor_context(page, service.get_article(page.session, article_id=article_id))

    return page.form_result(EDITOR, context, change, form.fields())


@router.post("/knowledge/{article_id}/ai")
def set_article_ai(article_id: str, page: AdminPage, ai_enabled: Checkbox = None) -> Response:
    """Let the AI answer from an article, or keep it for people only."""

    def change() -> str:
        article = service.set_article_ai_enabled(
            page.session, article_id=article_id, ai_enabled=ai_enabled is not None
        )
        who = "The AI may answer from" if article.ai_enabled else "Only people see"
        return f"{who} “{article.title}”."

    return ARTICLES.result(page, change)


@router.post("/knowledge/{article_id}/delete")
def delete_article(article_id: str, page: AdminPage) -> Response:
    """Delete an article and go back to the list."""

    def change() -> str:
        service.delete_article(page.session, article_id=article_id)
        return "Article deleted."

    response = ARTICLES.result(page, change)
    response.headers["HX-Push-Url"] = LIST_URL
    return response


# --- intents ------------------------------------------------------------------------------------


def _intents_context(page: Page, focus: str | None = None) -> dict[str, Any]:
    languages = list(workspace_settings(page.workspace()).languages)
    summaries = intents.list_intents(page.session)
    names = [s.intent for s in summaries]
    # Only the intent just changed shows its examples; the others load them when opened.
    shown = focus if focus in names else None
    return {
        "intents": summaries,
        "names": names,
        "examples": intents.list_examples(page.session, intent=shown) if shown else [],
        "primary_language": languages[0],
        "translation_languages": languages[1:],
        "can_edit": page.may(Role.ADMIN),
        "focus": shown,
    }


INTENTS = Section("knowledge", "admin/intents.html", "admin/_intents.html", _intents_context)


@router.get("/intents")
def intents_page(page: SupervisorPage) -> Response:
    """List the intents: approved answer, translations, AI switch and example phrasings."""
    return INTENTS.show(page, tab="intents")


@router.get("/intents/{intent}/examples")
def examples_partial(intent: str, page: SupervisorPage) -> Response:
    """Return an intent's example phrasings (loaded when its list is opened)."""
    context = {
        "intent": intent,
        "examples": intents.list_examples(page.session, intent=intent),
        "names": sorted(intents.known_intents(page.session)),
        "can_edit": page.may(Role.ADMIN),
    }
    return page.render("admin/_examples.html", context)


def _intents_result(
    page: Page, focus: str | None, change: Callable[[], str], form: dict[str, Any] | None = None
) -> Response:
    """Apply a change and re-render the intents, the one in focus opened."""
    return page.form_result(
        INTENTS.part_template, lambda: _intents_context(page, focus), change, form
    )


def parse_translations(
    languages: list[str], titles: list[str], bodies: list[str]
) -> dict[str, dict[str, str]]:
    """Return {language: {title, body}} from the answer form's parallel translation fields."""
    if not len(languages) == len(titles) == len(bodies):
        raise ValidationError("the translation fields do not match; reload the page")
    return {
        code: {"title": title, "body": body}
        for code, title, body in zip(languages, titles, bodies, strict=True)
    }


@router.post("/intents/{intent}/answer")
def save_answer(
    intent: str,
    page: AdminPage,
    title: TextField = "",
    body: TextField = "",
    source_url: TextField = "",
    translation_language: Annotated[list[str] | None, Form()] = None,
    translation_title: Annotated[list[str] | None, Form()] = None,
    translation_body: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Save an intent's approved answer and its translations."""
    translations = parse_translations(
        translation_language or [], translation_title or [], translation_body or []
    )

    def change() -> str:
        intents.save_intent_answer(
            page.session,
            workspace_id=page.workspace_id,
            intent=intent,
            title=title,
            body=body,
            source_url=source_url,
            translations=translations,
        )
        return f"Approved answer for “{intent}” saved."

    form = {
        "title": title,
        "body": body,
        "source_url": source_url,
        "translations": translations,
    }
    return _intents_result(page, intent, change, form)


@router.post("/intents/{intent}/ai")
def set_intent_ai(intent: str, page: AdminPage, ai_allowed: Checkbox = None) -> Response:
    """Allow or forbid the AI to answer an intent."""

    def change() -> str:
        intents.set_intent_ai_allowed(
            page.session, intent=intent, ai_allowed=ai_allowed is not None
        )
        who = "The AI may answer" if ai_allowed is not None else "Only people answer"
        return f"{who} “{intent}”."

    return _intents_result(page, intent, change)


@router.post("/intents")
def add_intent(page: AdminPage, intent: TextField = "", text: TextField = "") -> Response:
    """Start a new intent with its first example phrasing."""

    def change() -> str:
        example = intents.add_example(
            page.session, workspace_id=page.workspace_id, intent=intent, text=text
        )
        return f"Intent “{example.intent}” added with its first example."

    form = {"intent": intent, "text": text}
    return _intents_result(page, intent.strip(), change, form)


@router.post("/intents/{intent}/examples")
def add_example(intent: str, page: AdminPage, text: TextField = "") -> Response:
    """Add an example phrasing to an intent (it counts from the next training run)."""

    def change() -> str:
        intents.add_example(page.session, workspace_id=page.workspace_id, intent=intent, text=text)
        return f"Example added to “{intent}”; it counts from the next training run."

    return _intents_result(page, intent, change)


@router.post("/examples/{example_id}/delete")
def remove_example(example_id: str, page: AdminPage) -> Response:
    """Remove an example phrasing."""
    focus: list[str] = []

    def change() -> str:
        example = intents.remove_example(page.session, example_id=example_id)
        focus.append(example.intent)
        return f"Example removed from “{example.intent}”."

    return page.form_result(
        INTENTS.part_template,
        lambda: _intents_context(page, focus[0] if focus else None),
        change,
    )


@router.post("/examples/{example_id}/move")
def move_example(example_id: str, page: AdminPage, intent: TextField = "") -> Response:
    """Move an example phrasing to the intent it really belongs to."""

    def change() -> str:
        example = intents.move_example(page.session, example_id=example_id, intent=intent)
        return f"Example moved to “{example.intent}”."

    return _intents_result(page, intent.strip() or None, change)
