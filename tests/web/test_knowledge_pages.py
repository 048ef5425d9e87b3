"""Knowledge pages: roles, CSRF, the Markdown preview, isolation, and every form."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.knowledge import intents, service
from tandem.knowledge.models import Answer, Article, TrainingExample
from tandem.knowledge.views import article_embedder
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import update_settings

from ..factories import FakeEmbedder, MadeWorkspace, make_workspace
from .conftest import console_login

PAGES = ["/console/admin/knowledge", "/console/admin/intents"]


@pytest.fixture(autouse=True)
def embedder(console_app: FastAPI) -> FakeEmbedder:
    """Index articles with a fast fake embedder."""
    fake = FakeEmbedder()
    console_app.dependency_overrides[article_embedder] = lambda: fake
    return fake


def _article(factory: sessionmaker[Session], ws: MadeWorkspace, **fields: object) -> str:
    values = {"title": "Returns", "body": "Within 30 days.", **fields}
    with transaction(factory, ws.id) as session:
        return service.create_article(
            session,
            workspace_id=ws.id,
            embedder=FakeEmbedder(),
            **values,  # type: ignore[arg-type]
        ).id


def _example(factory: sessionmaker[Session], ws: MadeWorkspace, intent: str, text: str) -> str:
    with transaction(factory, ws.id) as session:
        return intents.add_example(session, workspace_id=ws.id, intent=intent, text=text).id


def test_agents_see_no_knowledge_page(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.agent_email)
    for url in PAGES:
        assert web.get(url).status_code == 403, url
    assert "/console/admin/knowledge" not in web.get("/console").text
    refused = web.post(
        "/console/admin/knowledge", data={"title": "x", "body": "y"}, headers=headers
    )
    assert refused.status_code == 403


def test_supervisors_look_but_do_not_change(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    article_id = _article(factory, ws, body="**Bold** text")
    example_id = _example(factory, ws, "billing", "invoice copy")
    headers = console_login(web, ws.supervisor_email)
    listing = web.get("/console/admin/knowledge")
    assert listing.status_code == 200 and "Returns" in listing.text
    assert "Knowledge</a>" in listing.text  # the nav entry
    assert "New article" not in listing.text and "Import files" not in listing.text
    article = web.get(f"/console/admin/knowledge/{article_id}")
    assert "<strong>Bold</strong>" in article.text and "<textarea" not in article.text
    assert web.get("/console/admin/intents").status_code == 200
    for url, data in [
        ("/console/admin/knowledge", {"title": "x", "body": "y"}),
        (f"/console/admin/knowledge/{article_id}", {"title": "x", "body": "y"}),
        (f"/console/admin/knowledge/{article_id}/delete", {}),
        (f"/console/admin/examples/{example_id}/delete", {}),
        ("/console/admin/knowledge/preview", {"body": "x"}),
    ]:
        assert web.post(url, data=data, headers=headers).status_code == 403, url


def test_every_knowledge_post_needs_the_csrf_header(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    from tandem.web import knowledge_views

    ws = make_workspace(factory)
    article_id = _article(factory, ws)
    example_id = _example(factory, ws, "billing", "invoice copy")
    console_login(web, ws.admin_email)
    posts = [
        r.path  # type: ignore[attr-defined]
        for r in knowledge_views.router.routes
        if "POST" in getattr(r, "methods", ())
    ]
    assert len(posts) >= 11
    for path in posts:
        url = path.replace("{article_id}", article_id).replace("{example_id}", example_id)
        url = url.replace("{intent}", "billing")
        body = {"title": "Sneaky", "body": "Sneaky", "text": "Sneaky", "intent": "billing"}
        for bad in ({}, {"X-CSRF-Token": "0" * 64}):
            response = web.post(url, data=body, headers={**bad, "HX-Request": "true"})
            assert response.status_code == 403, (url, response.text)
            assert "X-CSRF-Token" in response.text
    with factory() as session:
        assert session.scalars(select(Article.title)).all() == ["Returns"]
        assert session.scalars(select(TrainingExample.text)).all() == ["invoice copy"]


def test_the_preview_renders_markdown_and_escapes_html(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    preview = web.post(
        "/console/admin/knowledge/preview",
        data={"body": "# Hi\n\n**bold** <script>alert(1)</script> [x](javascript:alert(2))"},
        headers=headers,
    )
    assert preview.status_code == 200
    assert "<h1>Hi</h1>" in preview.text and "<strong>bold</strong>" in preview.text
    assert "<script>" not in preview.text and "&lt;script&gt;" in preview.text
    assert "javascript:" not in preview.text.split("[x]")[0] and "href" not in preview.text
    too_long = web.post(
        "/console/admin/knowledge/preview",
        data={"body": "x" * (service.MAX_ARTICLE_CHARS + 1)},
        headers=headers,
    )
    assert "too long to preview" in too_long.text


def test_admins_write_edit_switch_and_delete_articles(
    web: TestClient, factory: sessionmaker[Session], embedder: FakeEmbedder
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    editor = web.get("/console/admin/knowledge/new")
    assert editor.status_code == 200 and 'hx-post="/console/admin/knowledge/preview"' in editor.text

    bad = web.post(
        "/console/admin/knowledge",
        data={"title": " ", "body": "Kept text", "url": "ftp://x"},
        headers=headers,
    )
    assert bad.status_code == 422 and "the title cannot be empty" in bad.text
    assert "Kept text" in bad.text  # the editor keeps what was typed

    created = web.post(
        "/console/admin/knowledge",
        data={"title": "Gift <cards>", "body": "Never expire.", "ai_enabled": "on"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    assert "Article “Gift &lt;cards&gt;” created." in created.text
    with factory() as session:
        article = session.scalars(select(Article).where(Article.workspace_id == ws.id)).one()
    assert created.headers["HX-Push-Url"] == f"/console/admin/knowledge/{article.id}"
    assert embedder.calls

    saved = web.post(
        f"/console/admin/knowledge/{article.id}",
        data={"title": "Gift cards", "body": "Valid for 3 years.", "url": "https://h.example/g"},
        headers=headers,
    )
    assert saved.status_code == 200 and "Article saved." in saved.text
    with factory() as session:
        stored = session.get(Article, article.id)
        assert stored is not None
        assert (stored.body, stored.url, stored.ai_enabled) == (
            "Valid for 3 years.",
            "https://h.example/g",
            False,  # the box was not ticked
        )

    switched = web.post(
        f"/console/admin/knowledge/{article.id}/ai", data={"ai_enabled": "on"}, headers=headers
    )
    assert switched.status_code == 200 and "The AI may answer from" in switched.text
    listing = web.get("/console/admin/knowledge")
    assert "https://h.example/g" in listing.text and "checked" in listing.text

    deleted = web.post(f"/console/admin/knowledge/{article.id}/delete", headers=headers)
    assert deleted.status_code == 200 and "Article deleted." in deleted.text
    with factory() as session:
        assert session.get(Article, article.id) is None


def test_files_are_imported_from_the_form(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    ok = web.post(
        "/console/admin/knowledge/import",
        files=[("files", ("returns.md", b"# Returns\n\nWithin 30 days.", "text/markdown"))],
        headers=headers,
    )
    assert ok.status_code == 200 and "Imported 1 article(s)" in ok.text
    assert "returns.md" in ok.text
    bad = web.post(
        "/console/admin/knowledge/import",
        files=[("files", ("notes.pdf", b"%PDF", "application/pdf"))],
        headers=headers,
    )
    assert bad.status_code == 422 and "unsupported file type" in bad.text
    nothing = web.post("/console/admin/knowledge/import", headers=headers)
    assert nothing.status_code == 422 and "choose at least one" in nothing.text


def test_another_workspaces_articles_and_examples_are_404(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    theirs, mine = make_workspace(factory), make_workspace(factory)
    article_id = _article(factory, theirs)
    example_id = _example(factory, theirs, "billing", "their invoice")
    _example(factory, mine, "billing", "my invoice")
    headers = console_login(web, mine.admin_email)
    assert web.get(f"/console/admin/knowledge/{article_id}").status_code == 404
    for url, data in [
        (f"/console/admin/knowledge/{article_id}", {"title": "Mine now", "body": "x"}),
        (f"/console/admin/knowledge/{article_id}/ai", {}),
        (f"/console/admin/knowledge/{article_id}/delete", {}),
        (f"/console/admin/examples/{example_id}/delete", {}),
        (f"/console/admin/examples/{example_id}/move", {"intent": "billing"}),
    ]:
        response = web.post(url, data=data, headers=headers)
        assert response.status_code == 404, (url, response.status_code, response.text)
    with factory() as session:
        stored = session.get(Article, article_id)
        assert stored is not None and stored.title == "Returns" and stored.ai_enabled
        example = session.get(TrainingExample, example_id)
        assert example is not None and example.workspace_id == theirs.id
    assert "their invoice" not in web.get("/console/admin/intents/billing/examples").text


def test_intents_page_edits_answers_translations_and_examples(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        update_settings(session, workspace, {"languages": ["en", "de"]})
    first = _example(factory, ws, "order_status", "where is my parcel <b>now</b>")
    _example(factory, ws, "billing", "invoice copy")
    headers = console_login(web, ws.admin_email)
    page = web.get("/console/admin/intents")
    assert page.status_code == 200
    assert 'data-intent="order_status"' in page.text and "no approved answer" in page.text
    assert 'name="translation_language" value="de"' in page.text

    answer = {
        "title": "Tracking",
        "body": "Use the link.",
        "translation_language": ["de"],
        "translation_title": ["Sendung"],
        "translation_body": ["Nutzen Sie den Link."],
    }
    saved = web.post("/console/admin/intents/order_status/answer", data=answer, headers=headers)
    assert saved.status_code == 200 and "Approved answer for “order_status” saved." in saved.text
    assert "Nutzen Sie den Link." in saved.text
    missing = web.post(
        "/console/admin/intents/order_status/answer",
        data={**answer, "body": "", "title": "Kept title"},
        headers=headers,
    )
    assert missing.status_code == 422 and "the answer cannot be empty" in missing.text
    assert 'value="Kept title"' in missing.text

    off = web.post("/console/admin/intents/order_status/ai", data={}, headers=headers)
    assert off.status_code == 200 and "Only people answer “order_status”." in off.text
    refused = web.post(
        "/console/admin/intents/billing/ai", data={"ai_allowed": "on"}, headers=headers
    )
    assert refused.status_code == 422 and "no approved answer" in refused.text
    with factory() as session:
        stored = session.scalars(select(Answer).where(Answer.workspace_id == ws.id)).one()
        assert not stored.ai_allowed
        assert stored.translations == {"de": {"title": "Sendung", "body": "Nutzen Sie den Link."}}

    examples = web.get("/console/admin/intents/order_status/examples")
    assert "where is my parcel &lt;b&gt;now&lt;/b&gt;" in examples.text
    assert re.search(r'<option value="billing">billing</option>', examples.text)
    added = web.post(
        "/console/admin/intents/order_status/examples", data={"text": "tracking"}, headers=headers
    )
    assert added.status_code == 200 and "Example added" in added.text
    assert '<details class="examples" open' in added.text  # the changed intent stays open
    moved = web.post(
        f"/console/admin/examples/{first}/move", data={"intent": "billing"}, headers=headers
    )
    assert moved.status_code == 200 and "Example moved to “billing”." in moved.text
    new = web.post(
        "/console/admin/intents",
        data={"intent": "gift_cards", "text": "gift card?"},
        headers=headers,
    )
    assert new.status_code == 200 and 'data-intent="gift_cards"' in new.text
    removed = web.post(f"/console/admin/examples/{first}/delete", headers=headers)
    assert removed.status_code == 200 and "Example removed from “billing”." in removed.text
    with factory() as session:
        rows = session.execute(
            select(TrainingExample.intent, TrainingExample.text)
            .where(TrainingExample.workspace_id == ws.id)
            .order_by(TrainingExample.intent, TrainingExample.text)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("billing", "invoice copy"),
        ("gift_cards", "gift card?"),
        ("order_status", "tracking"),
    ]
