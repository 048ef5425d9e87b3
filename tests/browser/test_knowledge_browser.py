"""Teach the AI in the browser (issue 7): a newcomer's path, in headless Chromium, no mocks.

A small home-goods store's help center is seeded through the service functions (six articles,
four intents with approved answers and a model trained on them). In the browser the admin
writes a "Gift wrapping" article with a live Markdown preview, tidies the intents' example
phrasings, retrains and reads the new version's figures, tries the test box, and a customer
then asks the widget. The tests follow that order and share one server; each one also works
alone (what an earlier step would have made is created through the services when missing).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.knowledge import intents as intent_service
from tandem.knowledge import service as knowledge
from tandem.knowledge.models import Article, TrainingExample
from tandem.knowledge.views import article_embedder
from tandem.triage import training
from tandem.workspaces.models import Workspace

from ..factories import PASSWORD, MadeWorkspace, make_workspace
from ..triage.training_data import run_training_jobs
from .kb_data import (
    ANSWERS,
    ARTICLES,
    EXAMPLES,
    GIFT_BODY,
    GIFT_QUESTION,
    GIFT_TITLE,
    MISFILED,
    NEW_EXAMPLE,
    OFF_TOPIC,
    STORE,
)

KNOWLEDGE = "/console/admin/knowledge"
INTENTS = "/console/admin/intents"
AI = "/console/admin/ai"
TRAIN_TIMEOUT = 45_000  # a small model; the background is already embedded by the fixture
AI_TIMEOUT = 45_000
SCOPE_REPLY = "outside what I can help with"
GROUNDED_XFAIL = (
    "with the default precision target the knowledge base did not answer the paraphrased "
    "gift-wrapping question from the article (knowledge/grounded.py calibration)"
)


@dataclass(frozen=True)
class HelpDesk:
    """A running desk (worker on) for one store with a seeded help center and a model."""

    url: str
    workspace: MadeWorkspace
    factory: sessionmaker[Session]

    @property
    def widget(self) -> str:
        """Return the customer chat page's URL."""
        return f"{self.url}/widget?key={self.workspace.widget_key}"

    def article_path(self, article_id: str) -> str:
        """Return an article's public page, desk-relative."""
        return knowledge.article_path(article_id, widget_key=self.workspace.widget_key)


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    """Keep the help center between this module's tests; `help_desk` cleans up at the end."""
    yield


@pytest.fixture(scope="module")
def help_desk(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpDesk]:
    """Seed the store's help center, train its first model, then serve it with its worker."""
    from tandem.app import create_app
    from tandem.config import Settings
    from tandem.db.base import Base
    from tandem.db.session import get_engine, session_factory

    from ..conftest import LiveServer

    factory = session_factory(get_engine(database_url))
    ws = make_workspace(factory, STORE)
    embedder = article_embedder()
    with transaction(factory, ws.id) as session:
        for title, body in ARTICLES.items():
            knowledge.create_article(
                session, workspace_id=ws.id, title=title, body=body, embedder=embedder
            )
        rows = [(text, intent) for intent, texts in EXAMPLES.items() for text in texts]
        rows.append((MISFILED[2], MISFILED[0]))  # filed under the wrong intent by mistake
        knowledge.add_training_examples(session, workspace_id=ws.id, rows=rows, source="import")
        for intent, (title, body) in ANSWERS.items():
            intent_service.save_intent_answer(
                session, workspace_id=ws.id, intent=intent, title=title, body=body, ai_allowed=True
            )
    with transaction(factory, ws.id) as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        training.request_training(session, workspace=workspace, requested_by=None)
    # Version 1, trained here (this also embeds the built-in background once per process, the
    # slow part of a first training run) so the browser's retrain is quick.
    assert run_training_jobs(factory) == 1
    settings = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("help-desk"),
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        auto_migrate=False,
        cookie_secure=False,  # the test clients speak plain http://
    )
    server = LiveServer(create_app(settings, run_worker=True))
    server.start()
    try:
        yield HelpDesk(url=server.url, workspace=ws, factory=factory)
    finally:
        server.stop()
        with get_engine(database_url).begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


# --- helpers ------------------------------------------------------------------------------------


def _log_in(page: Page, desk: HelpDesk, path: str) -> None:
    page.goto(f"{desk.url}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(desk.workspace.admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{desk.url}{path}")
    # The URL changes before htmx has wired the page's forms: a click before that would submit
    # the form the old way. Wait until htmx has processed the page.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")


def _gift_article(desk: HelpDesk) -> str:
    """Return the gift-wrapping article's id (written in the browser, else created here)."""
    with transaction(desk.factory, desk.workspace.id) as session:
        found = session.scalar(select(Article.id).where(Article.title == GIFT_TITLE))
        if found is not None:
            return str(found)
        article = knowledge.create_article(
            session,
            workspace_id=desk.workspace.id,
            title=GIFT_TITLE,
            body=GIFT_BODY,
            embedder=article_embedder(),
        )
        return article.id


def _example_count(desk: HelpDesk, intent: str) -> int:
    with transaction(desk.factory, desk.workspace.id) as session:
        return int(
            session.scalar(
                select(func.count(TrainingExample.id)).where(TrainingExample.intent == intent)
            )
            or 0
        )


def _latest_version(desk: HelpDesk) -> int:
    with transaction(desk.factory, desk.workspace.id) as session:
        return max((v.version for v in training.list_versions(session)), default=0)


def _try(page: Page, text: str) -> None:
    """Put a message in the AI page's test box and wait for its (new) result."""
    result = page.locator("#ai-preview-result")
    result.evaluate("el => { el.innerHTML = ''; }")  # so the previous result cannot pass for it
    page.get_by_label("Test message").fill(text)
    page.get_by_role("button", name="Try it").click()
    expect(result.locator(".preview-result")).to_be_visible(timeout=AI_TIMEOUT)


def _send(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def _first_reply(page: Page) -> Locator:
    """Return the first message that is not the customer's (the AI's reply or a handoff)."""
    reply = page.locator(".chat__messages li:not(.msg--customer)").first
    expect(reply).to_be_visible(timeout=AI_TIMEOUT)
    return reply


# --- 1. write an article ------------------------------------------------------------------------


def test_admin_writes_an_article_with_a_live_markdown_preview(
    help_desk: HelpDesk,
    new_page: Any,
    screenshot: Any,
) -> None:
    page = new_page((1440, 900))
    _log_in(page, help_desk, KNOWLEDGE)
    rows = page.locator("tr[data-article]")
    expect(rows).to_have_count(len(ARTICLES))
    expect(page.get_by_role("link", name="Delivery times and costs")).to_be_visible()
    screenshot(page, "01_articles")

    page.get_by_role("link", name="New article").click()
    expect(page).to_have_url(f"{help_desk.url}{KNOWLEDGE}/new")
    preview = page.locator("#preview")
    expect(preview).to_have_text("Nothing to preview yet.")
    page.get_by_label("Title").fill(GIFT_TITLE)
    page.get_by_label("Text (Markdown)").fill(GIFT_BODY)

    # The preview renders the Markdown, and shows the body's raw HTML as text.
    expect(preview.locator("h2")).to_have_text("Wrapping your order as a gift")
    expect(preview.locator("strong")).to_have_text("gift wrap")
    expect(preview.locator("em")).to_have_text("Gift wrap this order")
    expect(preview.locator("li")).to_have_count(2)
    expect(preview).to_contain_text("<script>window.__kb_xss = 1</script>")
    assert preview.locator("script").count() == 0
    assert page.evaluate("typeof window.__kb_xss") == "undefined"
    expect(page.get_by_label("The AI may answer from this article")).to_be_checked()
    screenshot(page, "02_editor_preview")

    page.get_by_role("button", name="Create article").click()
    expect(page.locator(".alert-ok")).to_have_text(f"Article “{GIFT_TITLE}” created.")
    expect(page).to_have_url(re.compile(rf"{KNOWLEDGE}/[0-9a-f]{{32}}$"))
    article_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("button", name="Save article")).to_be_visible()
    expect(page.locator(f"a[href='{help_desk.article_path(article_id)}']")).to_be_visible()
    assert page.evaluate("typeof window.__kb_xss") == "undefined"
    screenshot(page, "03_article_created")

    page.get_by_role("link", name="Back to the list").click()
    expect(rows).to_have_count(len(ARTICLES) + 1)
    row = page.locator(f"tr[data-article='{article_id}']")
    expect(row.get_by_role("link", name=GIFT_TITLE)).to_be_visible()
    expect(row).to_contain_text("written here")
    expect(row.get_by_label(f"AI may answer from {GIFT_TITLE}")).to_be_checked()
    screenshot(page, "04_article_listed")


# --- 2. example phrasings -----------------------------------------------------------------------


def test_admin_adds_an_example_and_moves_a_misfiled_one(
    help_desk: HelpDesk,
    new_page: Any,
    screenshot: Any,
) -> None:
    track_intent, new_text = NEW_EXAMPLE
    wrong_intent, right_intent, misfiled_text = MISFILED
    assert track_intent == right_intent
    tracked = _example_count(help_desk, track_intent)
    misfiled_in = _example_count(help_desk, wrong_intent)

    page = new_page((1440, 900))
    _log_in(page, help_desk, INTENTS)
    track = page.locator(f".intent-card[data-intent='{track_intent}']")
    hours = page.locator(f".intent-card[data-intent='{wrong_intent}']")
    expect(page.locator(".intent-card")).to_have_count(len(EXAMPLES))
    expect(track.locator("summary")).to_have_text(f"Example phrasings ({tracked})")

    # Opening an intent's list loads its phrasings; a new one is added to it.
    track.locator("summary").click()
    expect(track.locator(".example-text")).to_have_count(tracked)
    track.get_by_label(f"New example for {track_intent}").fill(new_text)
    track.get_by_role("button", name="Add example").click()
    expect(page.locator(".alert-ok")).to_have_text(
        f"Example added to “{track_intent}”; it counts from the next training run."
    )
    expect(track.locator("summary")).to_have_text(f"Example phrasings ({tracked + 1})")
    expect(track.locator(".example-text").filter(has_text=new_text)).to_have_count(1)
    screenshot(page, "01_example_added")

    # A phrasing filed under opening hours really asks where the parcel is: move it.
    hours.locator("summary").click()
    item = hours.locator(".example-list li").filter(has_text=misfiled_text)
    expect(item).to_have_count(1)
    item.get_by_label("Move to intent").select_option(right_intent)
    item.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator(".alert-ok")).to_have_text(f"Example moved to “{right_intent}”.")
    expect(hours.locator("summary")).to_have_text(f"Example phrasings ({misfiled_in - 1})")
    expect(track.locator("summary")).to_have_text(f"Example phrasings ({tracked + 2})")
    expect(track.locator(".example-text").filter(has_text=misfiled_text)).to_have_count(1)
    screenshot(page, "02_example_moved")
    assert _example_count(help_desk, right_intent) == tracked + 2


# --- 3. retrain ---------------------------------------------------------------------------------


def test_admin_retrains_and_sees_the_new_versions_figures(
    help_desk: HelpDesk,
    new_page: Any,
    screenshot: Any,
) -> None:
    version = _latest_version(help_desk) + 1
    tracked = _example_count(help_desk, "track_order")
    page = new_page((1440, 1000))
    _log_in(page, help_desk, AI)
    model = page.locator("#ai-model")
    expect(model.locator("tr[data-version]")).to_have_count(version - 1)

    page.get_by_role("button", name="Retrain now").click()
    expect(model.locator(".training-progress")).to_be_visible()
    expect(page.get_by_role("button", name="Retrain now")).to_have_count(0)
    screenshot(page, "01_training")

    # The section polls the run until it is done, then shows what the new version does.
    result = model.locator(".training-result[data-run-status='succeeded']")
    expect(result).to_contain_text(f"Version {version} is trained", timeout=TRAIN_TIMEOUT)
    # Judged on the examples added since the active version (the earlier steps added some):
    # it is promoted, or stays a candidate and says why.
    expect(result).to_contain_text(re.compile(r"and active\.|stays a candidate: .+"))
    expect(model.locator(".training-progress")).to_have_count(0)
    for key in ("cv_precision", "cv_automation_rate", "cv_unseen_escalation"):
        expect(result.locator(f"[data-figure='{key}'] .stat-value")).to_have_text(
            re.compile(r"^\d{1,3}(\.\d)?%$")
        )
    expect(result.locator("[data-figure='cv_precision']")).to_contain_text("Precision")
    # The examples it trained on: all of them but the held-back newest (at most 15 %).
    used = int(result.locator("tr[data-intent='track_order'] td").nth(1).inner_text())
    assert tracked - round(tracked * 0.15) <= used <= tracked
    row = model.locator(f"tr[data-version='{version}']")
    expect(row).to_contain_text(re.compile("active|candidate"))
    expect(row.locator("td[data-figure='cv_precision']")).to_have_text(re.compile(r"%$"))
    expect(page.get_by_role("button", name="Retrain now")).to_be_visible()
    screenshot(page, "02_trained")


# --- 4. the test box ----------------------------------------------------------------------------


def test_the_test_box_answers_from_the_article_but_not_trivia(
    help_desk: HelpDesk,
    new_page: Any,
    screenshot: Any,
) -> None:
    _gift_article(help_desk)
    page = new_page((1440, 1000))
    _log_in(page, help_desk, AI)
    shown = page.locator("#ai-preview-result .preview-result")

    _try(page, GIFT_QUESTION)
    expect(shown).to_be_visible()
    expect(shown.locator(".tag-intent")).to_be_visible()  # what the intent model thought
    gift_action = shown.get_attribute("data-action")
    gift_text = shown.inner_text()
    screenshot(page, "01_paraphrase")

    # General trivia is not answered with an FAQ answer or an article.
    _try(page, OFF_TOPIC)
    assert shown.get_attribute("data-action") in ("reply", "escalate")
    expect(shown).not_to_contain_text("The AI would answer")
    expect(shown).not_to_contain_text("Source:")
    screenshot(page, "02_off_topic")

    if gift_action != "answer":
        pytest.fail(f"{GROUNDED_XFAIL}; the test box showed: {gift_text!r}")
    assert "The AI would answer" in gift_text, gift_text
    assert f"Source: {GIFT_TITLE}" in gift_text, gift_text
    assert "gift wrap" in gift_text, gift_text


# --- 5. the customer in the widget --------------------------------------------------------------


def _ask_the_widget_about_gift_wrapping(desk: HelpDesk, page: Page) -> tuple[str, str]:
    """Ask the paraphrase; return the article's public path and the AI's reply (or fail)."""
    path = desk.article_path(_gift_article(desk))
    page.goto(desk.widget)
    expect(page.locator(".chat__status")).to_have_text("AI assistant")
    _send(page, GIFT_QUESTION)
    reply = _first_reply(page)
    text = reply.inner_text()
    if "From our help centre" not in text:
        pytest.fail(f"{GROUNDED_XFAIL}; the widget showed: {text!r}")
    return path, text


def test_customer_gets_the_article_and_can_read_it(
    help_desk: HelpDesk,
    new_page: Any,
    screenshot: Any,
) -> None:
    page = new_page((420, 760))
    path, _ = _ask_the_widget_about_gift_wrapping(help_desk, page)
    ai = page.locator(".chat__messages li.msg--ai").first
    bubble = ai.locator(".msg__bubble")
    expect(ai.locator(".msg__label")).to_have_text("AI assistant")
    expect(bubble).to_contain_text("gift wrap")
    expect(bubble).to_contain_text(f"From our help centre: {GIFT_TITLE} ({path})")
    expect(page.locator(".chat__status")).to_have_text("AI assistant")  # no handoff
    screenshot(page, "01_article_answer")

    # The link opens the article's public page on the desk, with its raw HTML inert.
    reader = new_page((900, 760))
    response = reader.goto(f"{help_desk.url}{path}")
    assert response is not None and response.status == 200
    expect(reader.get_by_role("heading", level=1)).to_have_text(GIFT_TITLE)
    expect(reader.locator(".help__body h2")).to_have_text("Wrapping your order as a gift")
    expect(reader.locator(".help__body")).to_contain_text("recycled paper with a ribbon")
    expect(reader.locator(".help__body")).to_contain_text("<script>window.__kb_xss = 1</script>")
    assert reader.locator(".help__body script").count() == 0
    assert reader.evaluate("typeof window.__kb_xss") == "undefined"
    screenshot(reader, "02_public_article")


def test_the_article_link_in_the_widget_is_clickable(
    help_desk: HelpDesk,
    new_page: Any,
) -> None:
    page = new_page((420, 760))
    path, _ = _ask_the_widget_about_gift_wrapping(help_desk, page)
    link = page.locator(".chat__messages li.msg--ai .msg__bubble a").filter(has_text=path)
    assert link.count() == 1, "the article's link is plain text"
    with page.context.expect_page() as opened:
        link.click()
    expect(opened.value.get_by_role("heading", level=1)).to_have_text(GIFT_TITLE)


def test_customer_off_topic_question_gets_a_short_scope_reply(
    help_desk: HelpDesk,
    new_page: Any,
    screenshot: Any,
) -> None:
    page = new_page((420, 760))
    page.goto(help_desk.widget)
    _send(page, OFF_TOPIC)
    reply = _first_reply(page)
    expect(reply).to_have_class(re.compile(r"\bmsg--ai\b"))
    bubble = reply.locator(".msg__bubble")
    expect(bubble).to_contain_text(SCOPE_REPLY)
    expect(bubble).not_to_contain_text("From our help centre")
    expect(bubble).not_to_contain_text("Source:")
    for _, body in ANSWERS.values():
        expect(bubble).not_to_contain_text(body)
    assert len(bubble.inner_text()) < 400, bubble.inner_text()
    expect(page.locator(".chat__status")).to_have_text("AI assistant")
    screenshot(page, "off_topic")


def test_the_article_answer_fits_a_phone_screen(
    help_desk: HelpDesk,
    new_page: Any,
) -> None:
    page = new_page((420, 760))
    _ask_the_widget_about_gift_wrapping(help_desk, page)
    bubble = page.locator(".chat__messages li.msg--ai .msg__bubble").first
    right = bubble.evaluate("el => el.getBoundingClientRect().right")
    width = page.evaluate("document.documentElement.clientWidth")
    assert right <= width, f"the bubble ends at {right}px on a {width}px wide screen"
