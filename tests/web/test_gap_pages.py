"""The Knowledge gaps page: supervisors teach what the AI could not answer, in the browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.knowledge.models import Answer, TrainingExample
from tandem.triage.intent import IntentModel

from ..copilot.conftest import Desk
from ..factories import make_workspace
from ..learning.test_gaps import GIFT, STUDENT, play_stream, shop_desk, shop_model
from .conftest import console_login

GAPS = "/console/admin/gaps"
GAP = re.compile(r'data-gap="([0-9a-f]{16})"')


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return shop_model()


@pytest.fixture
def desk(factory: sessionmaker[Session], model: IntentModel) -> Desk:
    """A workspace whose agents resolved two needs the AI has no answer for, six times each."""
    made = shop_desk(factory, model)
    play_stream(made)
    return made


def _gap_ids(html: str, need: tuple[str, ...]) -> str:
    """Return the id of the gap card that lists the need's first question."""
    for gap_id in GAP.findall(html):
        card = html.split(f'data-gap="{gap_id}"', 1)[1].split('data-gap="', 1)[0]
        if any(f'<span class="example-text">{q}</span>' in card for q in need):
            return gap_id
    raise AssertionError(f"no gap card for {need[0]!r}")


def test_a_supervisor_teaches_one_gap_merges_another_and_agents_cannot(
    web: TestClient, desk: Desk
) -> None:
    agent = console_login(web, desk.ws.agent_email)
    assert web.get(GAPS).status_code == 403
    assert f'href="{GAPS}"' not in web.get("/console").text
    assert web.post(f"{GAPS}/{'0' * 16}/dismiss", headers=agent).status_code == 403
    web.cookies.clear()

    headers = console_login(web, desk.ws.supervisor_email)
    assert f'href="{GAPS}"' in web.get("/console").text
    page = web.get(GAPS)
    assert page.status_code == 200
    assert len(GAP.findall(page.text)) == 2 and "6 similar needs" in page.text
    gift, student = _gap_ids(page.text, GIFT), _gap_ids(page.text, STUDENT)
    assert "Yes: tick &#39;gift wrap&#39; at checkout" in page.text  # agents' replies, escaped
    assert '<option value="return_policy">' in page.text  # known intents to merge into

    bad = web.post(
        f"{GAPS}/{gift}/approve",
        data={"intent": "gift wrapping!", "body": "typed by hand"},
        headers=headers,
    )
    assert bad.status_code == 422 and "not a valid intent code" in bad.text
    assert 'value="gift wrapping!"' in bad.text and "typed by hand</textarea>" in bad.text

    edited = "Gift wrap is 3 euros at checkout, card included."
    taught = web.post(
        f"{GAPS}/{gift}/approve",
        data={"intent": "gift_wrapping", "title": "Gift wrap", "body": edited},
        headers=headers,
    )
    assert taught.status_code == 200, taught.text
    assert (
        "Gap taught as the new intent gift_wrapping with the answer “Gift wrap”: 6 new examples."
    ) in taught.text
    assert GAP.findall(taught.text) == [student]

    with transaction(desk.factory, desk.ws.id) as session:
        kept = session.scalars(select(Answer).where(Answer.intent == "return_policy")).one().body
    # The proposed answer sent back unchanged keeps the known intent's own answer.
    proposed = taught.text.split(f'data-gap="{student}"', 1)[1].split("<textarea", 1)[1]
    proposed_body = proposed.split(">", 1)[1].split("</textarea>", 1)[0]
    merged = web.post(
        f"{GAPS}/{student}/approve",
        data={"intent": "return_policy", "body": proposed_body.replace("&#39;", "'")},
        headers=headers,
    )
    assert merged.status_code == 200, merged.text
    assert "Gap merged into return_policy: 6 new examples." in merged.text
    assert 'id="no-gaps"' in merged.text
    with transaction(desk.factory, desk.ws.id) as session:
        answers = {a.intent: a for a in session.scalars(select(Answer))}
        assert (answers["gift_wrapping"].title, answers["gift_wrapping"].body) == (
            "Gift wrap",
            edited,
        )
        assert answers["gift_wrapping"].ai_allowed
        assert answers["return_policy"].body == kept
        taught_texts = session.scalars(
            select(TrainingExample.text).where(TrainingExample.intent == "gift_wrapping")
        ).all()
        assert set(taught_texts) == set(GIFT)

    stale = web.post(f"{GAPS}/{gift}/dismiss", headers=headers)
    assert stale.status_code == 404 and "reload the gaps" in stale.text


def test_dismissing_a_gap_sets_it_aside(web: TestClient, desk: Desk) -> None:
    headers = console_login(web, desk.ws.admin_email)  # admins see it too
    gift = _gap_ids(web.get(GAPS).text, GIFT)
    dismissed = web.post(f"{GAPS}/{gift}/dismiss", headers=headers)
    assert dismissed.status_code == 200, dismissed.text
    assert "Gap of 6 needs dismissed; they are not proposed again." in dismissed.text
    assert gift not in GAP.findall(dismissed.text) and len(GAP.findall(dismissed.text)) == 1
    assert gift not in GAP.findall(web.get(GAPS).text)


def test_another_workspace_sees_none_of_the_gaps_and_cannot_touch_them(
    web: TestClient, desk: Desk, factory: sessionmaker[Session]
) -> None:
    console_login(web, desk.ws.supervisor_email)
    gift = _gap_ids(web.get(GAPS).text, GIFT)
    web.cookies.clear()
    other = make_workspace(factory)
    headers = console_login(web, other.supervisor_email)
    assert 'id="no-gaps"' in web.get(GAPS).text
    for action in ("approve", "dismiss"):
        refused = web.post(f"{GAPS}/{gift}/{action}", data={"intent": "x"}, headers=headers)
        assert refused.status_code == 404, (action, refused.text)
    web.cookies.clear()
    console_login(web, desk.ws.supervisor_email)
    assert gift in GAP.findall(web.get(GAPS).text)  # untouched
