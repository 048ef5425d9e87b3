"""The knowledge API: roles, validation (always a readable 4xx), isolation, and the help page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.knowledge.views import article_embedder
from tandem.workspaces.models import Workspace
from tandem.workspaces.service import update_settings

from ..factories import FakeEmbedder, MadeWorkspace, login, make_workspace

ARTICLE = {"title": "Returns", "body": "# Returns\n\nWithin **30 days**.", "url": None}


@pytest.fixture
def embedder(app: FastAPI) -> FakeEmbedder:
    """Index articles with a fast fake embedder instead of the real models."""
    fake = FakeEmbedder()
    app.dependency_overrides[article_embedder] = lambda: fake
    return fake


@pytest.fixture
def api(client: TestClient, embedder: FakeEmbedder) -> Iterator[TestClient]:
    """Yield the client with the fake embedder wired in."""
    yield client


def _error(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}, body
    return body["error"]


def _article(api: TestClient, headers: dict[str, str], **fields: object) -> dict[str, object]:
    response = api.post("/api/v1/articles", json={**ARTICLE, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_admins_write_articles_and_supervisors_read_them(
    api: TestClient, factory: sessionmaker[Session], embedder: FakeEmbedder
) -> None:
    ws = make_workspace(factory)
    admin = login(api, ws.admin_email)
    created = _article(api, admin, url="https://help.example/returns")
    assert created["ai_enabled"] is True and created["link"] == "https://help.example/returns"
    assert embedder.calls  # indexed on the spot

    changed = api.put(
        f"/api/v1/articles/{created['id']}",
        json={"title": "Returns", "body": "Within 14 days.", "url": None, "ai_enabled": False},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["body"] == "Within 14 days."
    assert changed.json()["link"] == f"/help/{ws.widget_key}/articles/{created['id']}"

    api.cookies.clear()
    supervisor = login(api, ws.supervisor_email)
    listed = api.get("/api/v1/articles")
    assert [(a["id"], a["ai_enabled"]) for a in listed.json()] == [(created["id"], False)]
    assert "body" not in listed.json()[0]
    assert api.get(f"/api/v1/articles/{created['id']}").json()["body"] == "Within 14 days."
    refused = api.delete(f"/api/v1/articles/{created['id']}", headers=supervisor)
    assert refused.status_code == 403 and _error(refused)["code"] == "forbidden"

    api.cookies.clear()
    admin = login(api, ws.admin_email)
    assert api.delete(f"/api/v1/articles/{created['id']}", headers=admin).status_code == 204
    gone = api.get(f"/api/v1/articles/{created['id']}")
    assert gone.status_code == 404 and _error(gone)["message"] == "article not found"


def test_agents_may_not_read_or_write_knowledge(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    agent = login(api, ws.agent_email)
    for method, url, body in [
        ("GET", "/api/v1/articles", None),
        ("POST", "/api/v1/articles", ARTICLE),
        ("GET", "/api/v1/intents", None),
        ("PUT", "/api/v1/intents/billing/answer", {"title": "T", "body": "B"}),
        ("POST", "/api/v1/intents/billing/examples", {"text": "invoice"}),
    ]:
        response = api.request(method, url, json=body, headers=agent)
        assert response.status_code == 403, (url, response.text)
        assert "role" in _error(response)["message"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({**ARTICLE, "title": ""}, 422, "title"),
        ({**ARTICLE, "title": "   "}, 422, "the title cannot be empty"),
        ({**ARTICLE, "body": "x" * 50_001}, 422, "body"),
        ({**ARTICLE, "url": "javascript:alert(1)"}, 422, "http"),
        ({**ARTICLE, "intent": "billing"}, 422, "intent"),  # extra fields are refused
        ({"title": "Only a title"}, 422, "body"),
    ],
)
def test_bad_articles_get_a_readable_4xx(
    api: TestClient,
    factory: sessionmaker[Session],
    body: dict[str, object],
    status: int,
    fragment: str,
) -> None:
    ws = make_workspace(factory)
    admin = login(api, ws.admin_email)
    response = api.post("/api/v1/articles", json=body, headers=admin)
    assert response.status_code == status, response.text
    assert fragment in _error(response)["message"]


def test_malformed_and_oversized_requests_are_4xx(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    admin = login(api, ws.admin_email)
    broken = api.post(
        "/api/v1/articles",
        content=b"{not json",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and _error(broken)["code"] == "invalid"
    huge = api.post("/api/v1/articles", json={**ARTICLE, "body": "x" * 6_000_000}, headers=admin)
    assert huge.status_code == 413 and _error(huge)["code"] == "too_large"


def test_files_are_imported_and_bad_files_refused(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    admin = login(api, ws.admin_email)
    html = (
        b'<html><head><title>Shipping</title><link rel="canonical" href="https://shop.example/s">'
        b"</head><body><p>Two days.</p></body></html>"
    )
    csv = b"question,answer,intent\nWhere is it?,Track it online.,order_status\n"
    imported = api.post(
        "/api/v1/articles/import",
        files=[
            ("files", ("shipping.html", html, "text/html")),
            ("files", ("faq.csv", csv, "text/csv")),
        ],
        headers=admin,
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["articles"] == 2
    listed = {a["source"]: a for a in api.get("/api/v1/articles").json()}
    assert listed["shipping.html"]["url"] == "https://shop.example/s"
    assert listed["faq.csv#row2"]["intent"] == "order_status"

    for files, fragment in [
        ([("files", ("notes.pdf", b"%PDF-1.4", "application/pdf"))], "unsupported file type"),
        ([("files", ("latin.md", "caf\xe9".encode("latin-1"), "text/markdown"))], "UTF-8"),
        # A NUL would break PostgreSQL's text columns (a 500 there, stored on SQLite).
        (
            [("files", ("nul.md", b"# Hi\n\nline\x00two", "text/markdown"))],
            "NUL character (line 3)",
        ),
    ]:
        bad = api.post("/api/v1/articles/import", files=files, headers=admin)
        assert bad.status_code == 422, bad.text
        assert fragment in _error(bad)["message"]
    empty = api.post("/api/v1/articles/import", data={}, headers=admin)
    assert empty.status_code == 422 and "files" in _error(empty)["message"]


def _set_languages(factory: sessionmaker[Session], ws: MadeWorkspace, languages: list[str]) -> None:
    with transaction(factory, ws.id) as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        update_settings(session, workspace, {"languages": languages})


def test_intents_answers_and_examples(api: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    _set_languages(factory, ws, ["en", "de"])
    admin = login(api, ws.admin_email)
    unknown = api.put(
        "/api/v1/intents/order_status/answer", json={"title": "T", "body": "B"}, headers=admin
    )
    assert unknown.status_code == 404 and "unknown intent" in _error(unknown)["message"]

    for text in ("where is my parcel", "tracking number"):
        added = api.post(
            "/api/v1/intents/order_status/examples", json={"text": text}, headers=admin
        )
        assert added.status_code == 201, added.text
    api.post("/api/v1/intents/billing/examples", json={"text": "invoice copy"}, headers=admin)
    answer = api.put(
        "/api/v1/intents/order_status/answer",
        json={
            "title": "Tracking",
            "body": "Use the link in your email.",
            "translations": {"de": {"title": "Sendung", "body": "Nutzen Sie den Link."}},
            "ai_allowed": False,
        },
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["answer"]["translations"]["de"]["body"] == "Nutzen Sie den Link."
    bad_language = api.put(
        "/api/v1/intents/order_status/answer",
        json={"title": "T", "body": "B", "translations": {"fr": {"body": "Suivi"}}},
        headers=admin,
    )
    assert bad_language.status_code == 422
    assert "workspace's languages" in _error(bad_language)["message"]

    intents = {i["intent"]: i for i in api.get("/api/v1/intents").json()}
    assert intents["order_status"]["examples"] == 2
    assert intents["order_status"]["ai_allowed"] is False
    assert intents["billing"] == {
        "intent": "billing",
        "answer": None,
        "ai_allowed": False,
        "examples": 1,
        "articles": 0,
    }

    examples = api.get("/api/v1/intents/order_status/examples").json()
    moved = api.post(
        f"/api/v1/examples/{examples[0]['id']}/move", json={"intent": "billing"}, headers=admin
    )
    assert moved.status_code == 200 and moved.json()["intent"] == "billing"
    nowhere = api.post(
        f"/api/v1/examples/{examples[1]['id']}/move", json={"intent": "made_up"}, headers=admin
    )
    assert nowhere.status_code == 422 and "unknown intent" in _error(nowhere)["message"]
    removed = api.delete(f"/api/v1/examples/{examples[1]['id']}", headers=admin)
    assert removed.status_code == 204
    assert api.get("/api/v1/intents/order_status/examples").json() == []
    assert api.get("/api/v1/intents/nope/examples").status_code == 404

    for body in ({"text": ""}, {"text": "x" * 2001}, {"text": "ok", "intent": "x"}):
        refused = api.post("/api/v1/intents/billing/examples", json=body, headers=admin)
        assert refused.status_code == 422, body
    spaced = api.post("/api/v1/intents/has space/examples", json={"text": "hi"}, headers=admin)
    assert spaced.status_code == 422 and "valid intent code" in _error(spaced)["message"]
    again = api.post(
        "/api/v1/intents/billing/examples", json={"text": "invoice copy"}, headers=admin
    )
    assert again.status_code == 409


def test_another_workspaces_ids_are_404(api: TestClient, factory: sessionmaker[Session]) -> None:
    theirs, mine = make_workspace(factory), make_workspace(factory)
    their_admin = login(api, theirs.admin_email)
    article = _article(api, their_admin)
    example = api.post(
        "/api/v1/intents/billing/examples", json={"text": "invoice"}, headers=their_admin
    ).json()
    api.cookies.clear()
    admin = login(api, mine.admin_email)
    api.post("/api/v1/intents/billing/examples", json={"text": "my invoice"}, headers=admin)
    for method, url, body in [
        ("GET", f"/api/v1/articles/{article['id']}", None),
        ("PUT", f"/api/v1/articles/{article['id']}", {**ARTICLE, "ai_enabled": False}),
        ("DELETE", f"/api/v1/articles/{article['id']}", None),
        ("DELETE", f"/api/v1/examples/{example['id']}", None),
        ("POST", f"/api/v1/examples/{example['id']}/move", {"intent": "billing"}),
    ]:
        response = api.request(method, url, json=body, headers=admin)
        assert response.status_code == 404, (method, url, response.text)
    assert api.get("/api/v1/articles").json() == []
    api.cookies.clear()
    login(api, theirs.admin_email)
    assert api.get(f"/api/v1/articles/{article['id']}").json()["ai_enabled"] is True


def test_the_help_page_shows_only_articles_the_ai_may_use(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    ws, other = make_workspace(factory), make_workspace(factory)
    admin = login(api, ws.admin_email)
    shown = _article(api, admin, body="Hello <script>alert(1)</script> **bold**")
    hidden = _article(api, admin, title="Internal")
    api.put(
        f"/api/v1/articles/{hidden['id']}",
        json={**ARTICLE, "title": "Internal", "ai_enabled": False},
        headers=admin,
    )
    api.cookies.clear()
    page = api.get(f"/help/{ws.widget_key}/articles/{shown['id']}")
    assert page.status_code == 200
    assert "<strong>bold</strong>" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert api.get("/help/static/help.css").status_code == 200
    for url in [
        f"/help/{ws.widget_key}/articles/{hidden['id']}",
        f"/help/{ws.widget_key}/articles/nope",
        f"/help/wk_unknown/articles/{shown['id']}",
        f"/help/{other.widget_key}/articles/{shown['id']}",
    ]:
        missing = api.get(url)
        assert missing.status_code == 404, url
        assert "This article isn't available" in missing.text
        assert missing.headers["content-security-policy"] == csp
