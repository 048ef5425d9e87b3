"""The Learning page: supervisors approve the new intents and answers agents taught at resolve."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.knowledge.models import Answer, AnswerCandidate, TrainingExample
from tandem.knowledge.service import training_examples

from ..factories import MadeWorkspace, make_workspace
from .conftest import (
    console_login,
    escalated_conversation,
    handle_in_console,
    triaged_conversation,
)

LEARNING = "/console/admin/learning"
CANDIDATE = re.compile(r'data-candidate="([0-9a-f]{32})"')
QUESTION = "Do you gift wrap orders for birthdays?"
REPLY = "Yes! Tick 'gift wrap' at checkout; it costs 3 euros and includes a card."


def _resolve_as_new_intent(
    web: TestClient, factory: sessionmaker[Session], ws: MadeWorkspace, conversation_id: str
) -> None:
    headers = console_login(web, ws.agent_email)
    handle_in_console(web, headers, conversation_id, REPLY)
    resolved = web.post(
        f"/console/c/{conversation_id}/resolve",
        data={"intent": "gift_wrapping", "label": "confirm"},
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text
    web.cookies.clear()


def test_a_new_intent_ends_with_the_approved_answer_the_supervisor_edited(
    web: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conversation_id = triaged_conversation(web, factory, shop, QUESTION, "a human please")
    _resolve_as_new_intent(web, factory, shop, conversation_id)
    with transaction(factory, shop.id) as session:
        assert "gift_wrapping" not in training_examples(session)[1]  # waits for approval

    headers = console_login(web, shop.supervisor_email)
    assert f'href="{LEARNING}"' in web.get("/console").text
    page = web.get(LEARNING)
    assert page.status_code == 200
    card = page.text.split('data-pending-intent="gift_wrapping"', 1)[1]
    assert f'<span class="example-text">{QUESTION}</span>' in card
    assert "Yes! Tick &#39;gift wrap&#39; at checkout" in card  # the proposed answer
    (candidate_id,) = CANDIDATE.findall(page.text)
    assert 'name="title" maxlength="200" value="Gift wrapping"' in page.text

    edited = "Choose gift wrap at checkout: 3 euros, card included."
    approved = web.post(
        f"{LEARNING}/answers/{candidate_id}/approve",
        data={"title": "Gift wrapping", "body": edited},
        headers=headers,
    )
    assert approved.status_code == 200, approved.text
    assert (
        "Answer “Gift wrapping” and the new intent gift_wrapping approved: "
        "the AI learns the intent at the next training run."
    ) in approved.text
    assert "When agents resolve a conversation with a new intent, it appears here" in approved.text
    assert "No proposed answers." in approved.text
    with transaction(factory, shop.id) as session:
        answer = session.scalars(select(Answer).where(Answer.intent == "gift_wrapping")).one()
        assert (answer.title, answer.body, answer.ai_allowed) == ("Gift wrapping", edited, True)
        assert (QUESTION, "gift_wrapping") in set(zip(*training_examples(session), strict=True))
        candidate = session.get(AnswerCandidate, candidate_id)
        assert candidate is not None and candidate.status == "approved"

    again = web.post(f"{LEARNING}/answers/{candidate_id}/approve", data={}, headers=headers)
    assert again.status_code == 422 and "already approved" in again.text


def test_agents_get_no_learning_page(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.agent_email)
    page = web.get(LEARNING)
    assert page.status_code == 403 and "needs the" in page.text
    assert LEARNING not in web.get("/console").text
    for url in (
        f"{LEARNING}/intents/gift_wrapping/approve",
        f"{LEARNING}/intents/gift_wrapping/dismiss",
        f"{LEARNING}/answers/{'0' * 32}/approve",
        f"{LEARNING}/answers/{'0' * 32}/dismiss",
    ):
        assert web.post(url, headers=headers).status_code == 403, url


def test_the_empty_page_says_where_items_come_from(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    console_login(web, ws.admin_email)  # admins see it too
    page = web.get(LEARNING)
    assert page.status_code == 200
    assert "When agents resolve a conversation with a new intent, it appears here" in page.text
    assert "No proposed answers." in page.text and not CANDIDATE.search(page.text)


def test_dismissing_and_html_shown_as_text(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    need = "Gift wrap? <img src=x onerror=alert(1)>"
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, need)
    _resolve_as_new_intent(web, factory, ws, conv.id)
    headers = console_login(web, ws.supervisor_email)
    page = web.get(LEARNING)
    assert "Gift wrap? &lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "<img src=x" not in page.text
    (candidate_id,) = CANDIDATE.findall(page.text)

    # Turning the answer down keeps the intent's example waiting.
    dismissed = web.post(f"{LEARNING}/answers/{candidate_id}/dismiss", headers=headers)
    assert dismissed.status_code == 200, dismissed.text
    assert "Proposed answer for gift_wrapping dismissed." in dismissed.text
    assert 'data-pending-intent="gift_wrapping"' in dismissed.text
    assert not CANDIDATE.search(dismissed.text)
    # Dismissing the intent drops its example; the AI never learns it.
    dropped = web.post(f"{LEARNING}/intents/gift_wrapping/dismiss", headers=headers)
    assert dropped.status_code == 200, dropped.text
    assert "New intent “gift_wrapping” dismissed with its 1 example." in dropped.text
    assert "it appears here" in dropped.text
    with factory() as session:
        assert session.scalars(select(TrainingExample)).all() == []
        assert session.scalars(select(AnswerCandidate.status)).all() == ["dismissed"]
    missing = web.post(f"{LEARNING}/intents/gift_wrapping/approve", headers=headers)
    assert missing.status_code == 404 and "waiting for approval" in missing.text


def test_approving_a_new_intent_alone_keeps_its_proposed_answer_waiting(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, QUESTION)
    _resolve_as_new_intent(web, factory, ws, conv.id)
    headers = console_login(web, ws.supervisor_email)
    approved = web.post(f"{LEARNING}/intents/gift_wrapping/approve", headers=headers)
    assert approved.status_code == 200, approved.text
    assert (
        "New intent “gift_wrapping” approved with 1 example; "
        "the AI learns it at the next training run."
    ) in approved.text
    assert 'data-pending-intent="gift_wrapping"' not in approved.text
    assert len(CANDIDATE.findall(approved.text)) == 1  # the answer still needs its own approval
    assert "Approve answer" in approved.text and "new intent</span>" not in approved.text
    with transaction(factory, ws.id) as session:
        assert (QUESTION, "gift_wrapping") in set(zip(*training_examples(session), strict=True))
        assert session.scalars(select(Answer)).all() == []
