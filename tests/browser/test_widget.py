"""The customer chat widget in a real browser, against a desk with a trained demo model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tandem.conversations import service as conversations
from tandem.conversations.models import Conversation
from tandem.conversations.service import Author
from tandem.db.session import transaction
from tandem.demo.seed import DEMO_AGENT_EMAIL
from tandem.users.models import User

from .conftest import Desk

FAQ_QUESTION = "How long does shipping take and what does it cost?"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
AI_ANSWER_TIMEOUT = 60_000  # the first answer also waits for the models to load


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    """Keep the seeded demo between this module's tests; `desk` cleans up after the last one."""
    yield


def _watch_csp(page: Page) -> list[str]:
    """Collect Content-Security-Policy violations the page reports (there should be none)."""
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return violations


def _send(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def _bubbles(page: Page, author: str):  # type: ignore[no-untyped-def]
    return page.locator(f".chat__messages li.msg--{author} .msg__bubble")


def test_customer_gets_a_labelled_ai_answer_and_keeps_it_on_reload(
    desk: Desk,
    new_page,
    screenshot,  # type: ignore[no-untyped-def]
) -> None:
    page = new_page((420, 760))
    violations = _watch_csp(page)
    page.goto(desk.widget())
    expect(page.get_by_role("heading", name="Northwind Threads")).to_be_visible()
    expect(page.locator(".chat__status")).to_have_text("AI assistant")
    send = page.get_by_role("button", name="Send message")
    expect(send).to_be_disabled()
    page.get_by_label("Your message").fill("   ")
    expect(send).to_be_disabled()
    screenshot(page, "empty")

    _send(page, FAQ_QUESTION)
    expect(_bubbles(page, "customer")).to_have_text([FAQ_QUESTION])
    ai = page.locator(".chat__messages li.msg--ai")
    expect(ai).to_have_count(1, timeout=AI_ANSWER_TIMEOUT)
    expect(ai.locator(".msg__label")).to_have_text("AI assistant")
    expect(ai.locator(".msg__ai-note")).to_contain_text("AI assistant")
    expect(ai.locator(".msg__bubble")).to_contain_text("Standard shipping")
    expect(ai.locator(".msg__bubble")).to_contain_text(", an AI assistant. Not what you needed?")
    expect(ai.locator("a[href='https://northwind.example/shipping']")).to_be_visible()
    expect(page.get_by_label("Your message")).to_have_value("")
    screenshot(page, "ai_answer")

    # A reload continues the same conversation (the token is kept per widget key).
    page.reload()
    expect(_bubbles(page, "customer")).to_have_text([FAQ_QUESTION])
    expect(page.locator(".chat__messages li.msg--ai")).to_have_count(1)
    expect(page.locator(".chat__intro")).to_be_hidden()
    assert violations == []


def test_markup_in_messages_is_shown_as_text(desk: Desk, new_page, screenshot) -> None:  # type: ignore[no-untyped-def]
    page = new_page((420, 760))
    page.goto(desk.widget())
    _send(page, XSS)
    expect(_bubbles(page, "customer")).to_have_text([XSS])
    # Wait for the front line's reply (or handoff) so every render path has run.
    expect(page.locator(".chat__messages li:not(.msg--customer)").first).to_be_visible(
        timeout=AI_ANSWER_TIMEOUT
    )
    page.reload()
    expect(_bubbles(page, "customer")).to_have_text([XSS])
    assert page.locator(".chat__messages img, .chat__messages script").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    screenshot(page, "markup_as_text")


def test_talk_to_a_human_then_an_agent_replies(desk: Desk, new_page, screenshot) -> None:  # type: ignore[no-untyped-def]
    page = new_page((420, 760))
    page.goto(desk.widget())
    human = page.get_by_role("button", name="Talk to a human")
    human.click()
    expect(page.locator(".chat__status")).to_have_text("Waiting for a human")
    system = page.locator(".chat__messages li.msg--system")
    expect(system).to_have_count(1)
    expect(system).to_contain_text("passing this conversation to our support team")
    expect(page.get_by_role("button", name="Human requested")).to_be_disabled()
    screenshot(page, "waiting_for_human")

    # An agent answers from the desk; the customer sees it live, styled as a person.
    conversation_id = _stored_conversation(page, desk.widget_key)
    with transaction(desk.factory) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        agent = session.scalar(select(User).where(User.email == DEMO_AGENT_EMAIL))
        assert agent is not None
        conversations.post_message(
            session,
            conversations.get_conversation(session, conversation.id, lock=True),
            author=Author.AGENT,
            text="Hi, I'm Alex. <b>How</b> can I help?",
            max_chars=4000,
            user_id=agent.id,
        )
    agent_message = page.locator(".chat__messages li.msg--agent")
    expect(agent_message.locator(".msg__bubble")).to_have_text(
        "Hi, I'm Alex. <b>How</b> can I help?"
    )
    expect(page.locator(".chat__status")).to_contain_text("You're chatting with")
    screenshot(page, "agent_reply")


def _stored_conversation(page: Page, widget_key: str) -> str:
    saved = page.evaluate(
        "(key) => JSON.parse(localStorage.getItem('tandem.widget.' + key))", widget_key
    )
    assert saved and saved["id"]
    return str(saved["id"])


def test_unknown_key_shows_a_readable_page(desk: Desk, new_page, screenshot) -> None:  # type: ignore[no-untyped-def]
    page = new_page((420, 600))
    response = page.goto(desk.widget("wk_not_a_real_key"))
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="This chat isn't available")).to_be_visible()
    screenshot(page, "unknown_key")


@pytest.fixture
def host_site(tmp_path: Path, desk: Desk) -> Iterator[str]:
    """Serve a plain shop page with the embed snippet, from another origin (port)."""
    (tmp_path / "index.html").write_text(
        f"""<!doctype html>
<html><head><meta charset="utf-8"><title>A shop</title>
<meta http-equiv="Content-Security-Policy"
      content="default-src 'self'; script-src {desk.url}; frame-src {desk.url}">
</head><body><h1>Welcome to a shop</h1><p>Nice things for sale.</p>
<script src="{desk.url}/widget.js" data-widget-key="{desk.widget_key}" async></script>
</body></html>""",
        encoding="utf-8",
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def test_embed_snippet_opens_the_chat_in_an_iframe(
    desk: Desk,
    host_site: str,
    new_page,
    screenshot,  # type: ignore[no-untyped-def]
) -> None:
    page = new_page((1100, 780))
    violations = _watch_csp(page)
    page.goto(host_site)
    launcher = page.get_by_role("button", name="Open support chat")
    expect(launcher).to_be_visible()
    expect(page.locator("iframe")).to_have_count(0)  # nothing loads until the visitor opens it
    screenshot(page, "host_closed")

    launcher.click()
    frame = page.frame_locator("iframe[title='Support chat']")
    expect(frame.get_by_role("heading", name="Northwind Threads")).to_be_visible()
    expect(frame.get_by_role("button", name="Talk to a human")).to_be_visible()
    expect(page.get_by_role("button", name="Close support chat")).to_have_attribute(
        "aria-expanded", "true"
    )
    box = frame.get_by_label("Your message")
    box.fill("Do you ship to the UK?")
    box.press("Enter")
    expect(frame.locator(".chat__messages li.msg--customer")).to_have_count(1)
    screenshot(page, "host_open")

    frame.get_by_role("button", name="Close chat").click()
    expect(page.locator("#tandem-chat-frame")).to_be_hidden()
    expect(page.get_by_role("button", name="Open support chat")).to_be_focused()
    assert violations == []  # works under the host's strict CSP, and under the page's own
