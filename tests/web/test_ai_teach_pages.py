"""The AI page's teaching sections: retrain with progress, versions, test box, persona."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.web import ai_presenter
from tandem.web.templating import templates
from tandem.workspaces.models import Workspace

from ..factories import make_workspace
from ..triage.training_data import add_examples, run_training_jobs
from .conftest import console_login

POLL = re.compile(r'hx-get="/console/admin/ai/train/([0-9a-f]{32})" hx-trigger="every 1s"')


def test_the_page_offers_retraining_the_test_box_and_the_persona(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    console_login(web, ws.admin_email)
    page = web.get("/console/admin/ai")
    assert page.status_code == 200
    for text in ("Retrain now", 'id="preview-form"', 'id="persona-form"', "No model yet"):
        assert text in page.text, text
    assert f'placeholder="{ws.name} assistant"' in page.text


def test_retraining_shows_progress_then_the_new_models_figures(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    headers = console_login(web, ws.admin_email)
    started = web.post("/console/admin/ai/train", headers=headers)
    assert started.status_code == 202, started.text
    assert "Training started." in started.text
    poll = POLL.search(started.text)
    assert poll, started.text  # the section polls its run until it is done
    assert "Retrain now" not in started.text
    again = web.post("/console/admin/ai/train", headers=headers)
    assert "already going" in again.text and poll.group(1) in again.text

    waiting = web.get(f"/console/admin/ai/train/{poll.group(1)}", headers=headers)
    assert POLL.search(waiting.text) and "Waiting for the training worker" in waiting.text
    run_training_jobs(factory)
    done = web.get(f"/console/admin/ai/train/{poll.group(1)}", headers=headers)
    assert done.status_code == 200
    assert not POLL.search(done.text)  # polling stops
    assert "Version 1 is trained and active" in done.text
    for key in ("cv_precision", "cv_automation_rate", "cv_unseen_escalation"):
        assert f'data-figure="{key}"' in done.text
    assert '<tr data-intent="track_order"><td><code>track_order</code></td><td>6</td></tr>' in (
        done.text
    )
    assert 'data-version="1"' in done.text and "Retrain now" in done.text


def test_a_missing_figure_is_shown_as_a_dash() -> None:
    shown = ai_presenter.figures({"cv_precision": 0.953, "cv_automation_rate": 0.5})
    texts = {figure.key: figure.text for figure in shown}
    assert texts["cv_precision"] == "95.3%" and texts["cv_automation_rate"] == "50.0%"
    assert texts["cv_unseen_escalation"] == "—" and texts["threshold"] == "—"
    assert ai_presenter.figures({"cv_unseen_escalation": 0.82})[2].text == "82.0%"


def test_failed_training_says_why(web: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    started = web.post("/console/admin/ai/train", headers=headers)
    run_id = POLL.search(started.text)
    assert run_id
    run_training_jobs(factory)
    failed = web.get(f"/console/admin/ai/train/{run_id.group(1)}", headers=headers)
    assert "Training failed: training needs at least 2 intents" in failed.text


def test_retraining_needs_the_csrf_token_and_the_admin_role(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    forged = web.post("/console/admin/ai/train", headers={"HX-Request": "true"})
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.text
    started = web.post("/console/admin/ai/train", headers=headers)
    run_id = POLL.search(started.text)
    assert run_id
    for url, data in [
        ("/console/admin/ai/persona", {"assistant_name": "Evil"}),
        ("/console/admin/ai/preview", {"text": "hi"}),
        ("/console/admin/ai/models/1/activate", {}),
    ]:
        assert web.post(url, data=data, headers={"HX-Request": "true"}).status_code == 403, url

    agent = console_login(web, ws.agent_email)
    assert web.post("/console/admin/ai/train", headers=agent).status_code == 403
    assert web.get(f"/console/admin/ai/train/{run_id.group(1)}", headers=agent).status_code == 403
    assert web.post(
        "/console/admin/ai/preview", data={"text": "hi"}, headers=agent
    ).status_code == (403)
    assert (
        web.post(
            "/console/admin/ai/persona", data={"assistant_name": "Evil"}, headers=agent
        ).status_code
        == 403
    )


def test_another_workspaces_run_and_versions_are_not_found(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    headers = console_login(web, ws.admin_email)
    run_id = POLL.search(web.post("/console/admin/ai/train", headers=headers).text)
    assert run_id
    run_training_jobs(factory)
    other = make_workspace(factory)
    other_headers = console_login(web, other.admin_email)
    assert web.get(
        f"/console/admin/ai/train/{run_id.group(1)}", headers=other_headers
    ).status_code == (404)
    missing = web.post("/console/admin/ai/models/1/activate", headers=other_headers)
    assert missing.status_code == 404 and "no model version 1" in missing.text


def test_versions_are_activated_from_the_page(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    headers = console_login(web, ws.admin_email)
    for _ in range(2):
        web.post("/console/admin/ai/train", headers=headers)
        run_training_jobs(factory)
    # Nothing new for the second run to be judged on: it stays a candidate, and says why.
    page = web.get("/console/admin/ai")
    assert 'hx-post="/console/admin/ai/models/1/activate"' not in page.text  # active
    assert 'hx-post="/console/admin/ai/models/2/activate"' in page.text
    assert "no held-back examples" in page.text and 'name="reason" required' in page.text
    refused = web.post("/console/admin/ai/models/2/activate", headers=headers)
    assert refused.status_code == 422 and "give a reason" in refused.text
    promoted = web.post(
        "/console/admin/ai/models/2/activate", data={"reason": "same data"}, headers=headers
    )
    assert promoted.status_code == 200 and "Version 2 is now active." in promoted.text
    back = web.post("/console/admin/ai/models/1/activate", headers=headers)
    assert back.status_code == 200 and "Version 1 is now active." in back.text
    assert 'hx-post="/console/admin/ai/models/2/activate"' in back.text


def test_the_test_box_shows_the_decision_and_refuses_empty_text(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    headers = console_login(web, ws.admin_email)
    web.post("/console/admin/ai/train", headers=headers)
    run_training_jobs(factory)
    shown = web.post(
        "/console/admin/ai/preview", data={"text": "where is my order"}, headers=headers
    )
    assert shown.status_code == 200, shown.text
    assert '<span class="tag tag-intent">track_order</span>' in shown.text
    assert "threshold" in shown.text and "Frustration" in shown.text
    # Six examples an intent cannot clear a 95 % precision target: a person gets it, and why.
    assert 'data-action="escalate"' in shown.text and "low confidence" in shown.text
    empty = web.post("/console/admin/ai/preview", data={"text": "  "}, headers=headers)
    assert empty.status_code == 422 and "text must not be empty" in empty.text


def test_the_test_box_escapes_everything_it_shows() -> None:
    evil = '<img src=x onerror="alert(1)">'
    plan = {
        "triage": {
            "intent": evil,
            "confidence": 0.97,
            "ranked": [[evil, 0.97], ["<b>x</b>", 0.02]],
            "language": evil,
            "sentiment_label": evil,
            "personal_data": [evil],
            "sensitive_topics": {evil: 0.9},
        },
        "decision": {"action": "answer", "reasons": []},
        "reply": f"Hello {evil}",
        "source": {"kind": "answer", "intent": evil, "title": evil},
        "related_articles": [{"title": evil, "source": evil, "score": 0.5}],
    }
    html = templates.get_template("admin/_ai_preview_result.html").render(
        result=ai_presenter.preview_view(plan, threshold=0.8)
    )
    assert "<img" not in html and "<b>x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    refused = {**plan, "decision": {"action": "escalate", "reasons": [evil]}, "reply": None}
    html = templates.get_template("admin/_ai_preview_result.html").render(
        result=ai_presenter.preview_view(refused, threshold=None)
    )
    assert "<img" not in html and "&lt;img" in html
    scope = {**plan, "decision": {"action": "reply", "reasons": ["off_topic"]}}
    html = templates.get_template("admin/_ai_preview_result.html").render(
        result=ai_presenter.preview_view(scope, threshold=0.8)
    )
    assert "without an FAQ answer" in html and "hand this to a person" not in html
    assert "<img" not in html and "Hello &lt;img" in html


def test_the_test_box_shows_an_off_topic_question_gets_a_scope_reply(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    headers = console_login(web, ws.admin_email)
    web.post("/console/admin/ai/train", headers=headers)
    run_training_jobs(factory)
    shown = web.post(
        "/console/admin/ai/preview",
        data={"text": "what is the capital of Australia?"},
        headers=headers,
    )
    assert shown.status_code == 200, shown.text
    assert 'data-action="reply"' in shown.text and "off topic" in shown.text.lower()
    assert "talk to a human" in shown.text


def test_persona_form_saves_and_explains_mistakes(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    headers = console_login(web, ws.admin_email)
    form = {
        "assistant_name": 'Robin "<b>"',
        "notice_en": "I am {name}, a bot.",
        "notice_es": "",
        "notice_de": "",
        "notice_fr": "",
        "language_fallback": "default_language",
        "default_language": "en",
    }
    saved = web.post("/console/admin/ai/persona", data=form, headers=headers)
    assert saved.status_code == 200 and "Assistant settings saved." in saved.text
    assert 'value="Robin &#34;&lt;b&gt;&#34;"' in saved.text  # escaped in the attribute
    with factory() as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        stored = workspace.settings
    assert stored["assistant_name"] == 'Robin "<b>"'
    assert stored["ai_notice"] == {"en": "I am {name}, a bot."}
    assert stored["language_fallback"] == "default_language"

    bad = web.post(
        "/console/admin/ai/persona",
        data={**form, "assistant_name": "Sam", "default_language": "de"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "default_language must be one of the workspace&#39;s languages" in bad.text
    assert 'value="Sam"' in bad.text  # the form keeps what was typed
    with transaction(factory) as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None and workspace.settings["assistant_name"] == 'Robin "<b>"'
