"""Knowledge pages: teach the AI in the browser (articles, approved answers, example phrasings).

Admins change everything here; supervisors may look. Each form calls one knowledge service
function and re-renders its section, with a readable message when a value is not acceptable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from sqlalchemy.orm import Session

from tandem.api.deps import Principal, SessionDep, SettingsDep
from tandem.config import Settings
from tandem.core.errors import ValidationError
from tandem.knowledge import intents, service
from tandem.knowledge.models import Article
from tandem.knowledge.views import EmbedderDep, read_uploads, widget_key
from tandem.users.models import Role
from tandem.web.admin_views import Checkbox, _base, _form_result
from tandem.web.auth import ConsoleAdmin, ConsoleRoute, ConsoleSupervisor
from tandem.web.templating import render
from tandem.workspaces.service import get_workspace
from tandem.workspaces.settings import workspace_settings

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute)

LIST_URL = "/console/admin/knowledge"
# Text fields are checked (with a readable message) by the service; the app caps the body size.
TextField = Annotated[str, Form()]


def _page(principal: Principal, settings: Settings, tab: str) -> dict[str, Any]:
    return {**_base(principal, settings, "knowledge"), "tab": tab}


# --- articles -----------------------------------------------------------------------------------


def _articles_context(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "articles": service.list_articles(session),
        "can_edit": principal.role.includes(Role.ADMIN),
        "console_prefix": service.CONSOLE_SOURCE_PREFIX,
        "accept": ".md,.markdown,.html,.htm,.csv",
    }


def _editor_context(
    session: Session, principal: Principal, article: Article | None
) -> dict[str, Any]:
    return {
        "article": article,
        "can_edit": principal.role.includes(Role.ADMIN),
        "link": (
            service.article_link(article, widget_key=widget_key(session, principal.workspace_id))
            if article
            else None
        ),
        "max_chars": service.MAX_ARTICLE_CHARS,
    }


@router.get("/knowledge")
def articles_page(
    request: Request, principal: ConsoleSupervisor, session: SessionDep, settings: SettingsDep
) -> Response:
    """List the knowledge articles with their source, link, AI switch and last change."""
    context = {**_page(principal, settings, "articles"), **_articles_context(session, principal)}
    return render(request, "admin/knowledge.html", {**context, "form": {}})


@router.post("/knowledge/import")
def import_articles(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    embedder: EmbedderDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    """Import uploaded Markdown, HTML or CSV files as articles."""

    def change() -> str:
        result = service.import_files(
            session,
            workspace_id=principal.workspace_id,
            files=read_uploads(files or []),
            embedder=embedder,
        )
        return f"Imported {result.articles} article(s) ({result.chunks} passages)."

    return _form_result(
        request,
        session,
        "admin/_knowledge_articles.html",
        lambda: _articles_context(session, principal),
        change,
    )


@router.post("/knowledge/preview")
def preview(request: Request, principal: ConsoleAdmin, body: TextField = "") -> Response:
    """Render Markdown the way the article page will show it (raw HTML escaped)."""
    too_long = len(body) > service.MAX_ARTICLE_CHARS
    context = {"body": "" if too_long else body, "too_long": too_long}
    return render(request, "admin/_markdown_preview.html", context)


@router.get("/knowledge/new")
def new_article_page(
    request: Request, principal: ConsoleAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    """Show an empty Markdown editor with a live preview."""
    context = {
        **_page(principal, settings, "articles"),
        **_editor_context(session, principal, None),
    }
    return render(request, "admin/knowledge_article.html", {**context, "form": {}})


@router.post("/knowledge")
def create_article(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    embedder: EmbedderDep,
    title: TextField = "",
    body: TextField = "",
    url: TextField = "",
    ai_enabled: Checkbox = None,
) -> Response:
    """Create an article from the editor; the page then edits it."""
    created: list[Article] = []

    def change() -> str:
        article = service.create_article(
            session,
            workspace_id=principal.workspace_id,
            title=title,
            body=body,
            url=url,
            ai_enabled=ai_enabled is not None,
            embedder=embedder,
        )
        created.append(article)
        return f"Article “{article.title}” created."

    form = {"title": title, "body": body, "url": url, "ai_enabled": ai_enabled is not None}
    response = _form_result(
        request,
        session,
        "admin/_knowledge_editor.html",
        lambda: _editor_context(session, principal, created[0] if created else None),
        change,
        form,
    )
    if created:
        response.headers["HX-Push-Url"] = f"{LIST_URL}/{created[0].id}"
    return response


@router.get("/knowledge/{article_id}")
def article_page(
    article_id: str,
    request: Request,
    principal: ConsoleSupervisor,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Show an article: the editor for admins, the rendered text for supervisors."""
    article = service.get_article(session, article_id=article_id)
    context = {
        **_page(principal, settings, "articles"),
        **_editor_context(session, principal, article),
    }
    return render(request, "admin/knowledge_article.html", {**context, "form": {}})


@router.post("/knowledge/{article_id}")
def update_article(
    article_id: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    embedder: EmbedderDep,
    title: TextField = "",
    body: TextField = "",
    url: TextField = "",
    ai_enabled: Checkbox = None,
) -> Response:
    """Save an article's title, Markdown, link and AI switch."""

    def change() -> str:
        service.update_article(
            session,
            article_id=article_id,
            title=title,
            body=body,
            url=url,
            ai_enabled=ai_enabled is not None,
            embedder=embedder,
        )
        return "Article saved."

    form = {"title": title, "body": body, "url": url, "ai_enabled": ai_enabled is not None}
    return _form_result(
        request,
        session,
        "admin/_knowledge_editor.html",
        lambda: _editor_context(
            session, principal, service.get_article(session, article_id=article_id)
        ),
        change,
        form,
    )


@router.post("/knowledge/{article_id}/ai")
def set_article_ai(
    article_id: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    ai_enabled: Checkbox = None,
) -> Response:
    """Let the AI answer from an article, or keep it for people only."""

    def change() -> str:
        article = service.set_article_ai_enabled(
            session, article_id=article_id, ai_enabled=ai_enabled is not None
        )
        who = "The AI may answer from" if article.ai_enabled else "Only people see"
        return f"{who} “{article.title}”."

    return _form_result(
        request,
        session,
        "admin/_knowledge_articles.html",
        lambda: _articles_context(session, principal),
        change,
    )


@router.post("/knowledge/{article_id}/delete")
def delete_article(
    article_id: str, request: Request, principal: ConsoleAdmin, session: SessionDep
) -> Response:
    """Delete an article and go back to the list."""

    def change() -> str:
        service.delete_article(session, article_id=article_id)
        return "Article deleted."

    response = _form_result(
        request,
        session,
        "admin/_knowledge_articles.html",
        lambda: _articles_context(session, principal),
        change,
    )
    response.headers["HX-Push-Url"] = LIST_URL
    return response


# --- intents ------------------------------------------------------------------------------------


def _languages(session: Session, principal: Principal) -> list[str]:
    return list(workspace_settings(get_workspace(session, principal.workspace_id)).languages)


def _intents_context(
    session: Session, principal: Principal, focus: str | None = None
) -> dict[str, Any]:
    languages = _languages(session, principal)
    summaries = intents.list_intents(session)
    names = [s.intent for s in summaries]
    # Only the intent just changed shows its examples; the others load them when opened.
    shown = focus if focus in names else None
    return {
        "intents": summaries,
        "names": names,
        "examples": intents.list_examples(session, intent=shown) if shown else [],
        "primary_language": languages[0],
        "translation_languages": languages[1:],
        "can_edit": principal.role.includes(Role.ADMIN),
        "focus": shown,
    }


@router.get("/intents")
def intents_page(
    request: Request, principal: ConsoleSupervisor, session: SessionDep, settings: SettingsDep
) -> Response:
    """List the intents: approved answer, translations, AI switch and example phrasings."""
    context = {**_page(principal, settings, "intents"), **_intents_context(session, principal)}
    return render(request, "admin/intents.html", {**context, "form": {}})


@router.get("/intents/{intent}/examples")
def examples_partial(
    intent: str, request: Request, principal: ConsoleSupervisor, session: SessionDep
) -> Response:
    """Return an intent's example phrasings (loaded when its list is opened)."""
    context = {
        "intent": intent,
        "examples": intents.list_examples(session, intent=intent),
        "names": sorted(intents.known_intents(session)),
        "can_edit": principal.role.includes(Role.ADMIN),
    }
    return render(request, "admin/_examples.html", context)


def _intents_result(
    request: Request,
    session: Session,
    principal: Principal,
    focus: str | None,
    change: Callable[[], str],
    form: dict[str, Any] | None = None,
) -> Response:
    return _form_result(
        request,
        session,
        "admin/_intents.html",
        lambda: _intents_context(session, principal, focus),
        change,
        form,
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
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
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
            session,
            workspace_id=principal.workspace_id,
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
    return _intents_result(request, session, principal, intent, change, form)


@router.post("/intents/{intent}/ai")
def set_intent_ai(
    intent: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    ai_allowed: Checkbox = None,
) -> Response:
    """Allow or forbid the AI to answer an intent."""

    def change() -> str:
        intents.set_intent_ai_allowed(session, intent=intent, ai_allowed=ai_allowed is not None)
        who = "The AI may answer" if ai_allowed is not None else "Only people answer"
        return f"{who} “{intent}”."

    return _intents_result(request, session, principal, intent, change)


@router.post("/intents")
def add_intent(
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    intent: TextField = "",
    text: TextField = "",
) -> Response:
    """Start a new intent with its first example phrasing."""

    def change() -> str:
        example = intents.add_example(
            session, workspace_id=principal.workspace_id, intent=intent, text=text
        )
        return f"Intent “{example.intent}” added with its first example."

    form = {"intent": intent, "text": text}
    return _intents_result(request, session, principal, intent.strip(), change, form)


@router.post("/intents/{intent}/examples")
def add_example(
    intent: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    text: TextField = "",
) -> Response:
    """Add an example phrasing to an intent (it counts from the next training run)."""

    def change() -> str:
        intents.add_example(session, workspace_id=principal.workspace_id, intent=intent, text=text)
        return f"Example added to “{intent}”; it counts from the next training run."

    return _intents_result(request, session, principal, intent, change)


@router.post("/examples/{example_id}/delete")
def remove_example(
    example_id: str, request: Request, principal: ConsoleAdmin, session: SessionDep
) -> Response:
    """Remove an example phrasing."""
    focus: list[str] = []

    def change() -> str:
        example = intents.remove_example(session, example_id=example_id)
        focus.append(example.intent)
        return f"Example removed from “{example.intent}”."

    return _form_result(
        request,
        session,
        "admin/_intents.html",
        lambda: _intents_context(session, principal, focus[0] if focus else None),
        change,
    )


@router.post("/examples/{example_id}/move")
def move_example(
    example_id: str,
    request: Request,
    principal: ConsoleAdmin,
    session: SessionDep,
    intent: TextField = "",
) -> Response:
    """Move an example phrasing to the intent it really belongs to."""

    def change() -> str:
        example = intents.move_example(session, example_id=example_id, intent=intent)
        return f"Example moved to “{example.intent}”."

    return _intents_result(request, session, principal, intent.strip() or None, change)
