"""The AI API: retrain, versions, test box and persona; roles, readable 4xx and isolation."""

from __future__ import annotations

import time
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ..factories import PASSWORD, MadeWorkspace, login, make_workspace
from .training_data import EXAMPLES, add_examples, run_training_jobs


def _error(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def _trained(client: TestClient, factory: sessionmaker[Session]) -> tuple[MadeWorkspace, dict]:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    admin = login(client, ws.admin_email)
    started = client.post("/api/v1/ai/train", headers=admin)
    assert started.status_code == 202, started.text
    run_training_jobs(factory)
    return ws, admin


def test_admin_retrains_and_follows_the_run(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    admin = login(client, ws.admin_email)
    started = client.post("/api/v1/ai/train", headers=admin)
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] == "queued" and run["model_version"] is None
    again = client.post("/api/v1/ai/train", headers=admin)
    assert again.status_code == 202 and again.json()["id"] == run["id"]  # no duplicate run

    run_training_jobs(factory)
    done = client.get(f"/api/v1/ai/train/{run['id']}").json()
    assert done["status"] == "succeeded" and done["model_version"] == 1
    assert done["example_counts"] == {"opening_hours": 6, "reset_password": 6, "track_order": 6}
    assert [r["id"] for r in client.get("/api/v1/ai/train").json()] == [run["id"]]

    models = client.get("/api/v1/ai/models").json()
    assert [(m["version"], m["status"]) for m in models] == [(1, "active")]
    figures = models[0]["figures"]
    for key in ("cv_precision", "cv_automation_rate", "threshold", "n_train"):
        assert key in figures


def test_agents_read_but_cannot_retrain_or_change_anything(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws, _admin = _trained(client, factory)
    run_id = client.get("/api/v1/ai/train").json()[0]["id"]
    agent = login(client, ws.agent_email)
    refused = client.post("/api/v1/ai/train", headers=agent)
    assert refused.status_code == 403 and "supervisor" in _error(refused)["message"]
    assert client.post("/api/v1/ai/models/1/activate", headers=agent).status_code == 403
    assert client.put("/api/v1/ai/settings", json={}, headers=agent).status_code == 403
    assert client.get(f"/api/v1/ai/train/{run_id}").status_code == 200
    assert client.get("/api/v1/ai/models").status_code == 200
    assert client.get("/api/v1/ai/settings").status_code == 200
    assert client.post("/api/v1/ai/preview", json={"text": "hi"}, headers=agent).status_code == 200


def test_cookie_writes_need_the_csrf_header(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    login(client, ws.admin_email)
    refused = client.post("/api/v1/ai/train")
    assert refused.status_code == 403 and "X-CSRF-Token" in _error(refused)["message"]
    assert client.get("/api/v1/ai/train").json() == []


def test_versions_can_be_activated_and_rolled_back(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws, admin = _trained(client, factory)
    # Retraining with nothing new leaves a candidate: there is nothing to judge it on.
    assert client.post("/api/v1/ai/train", headers=admin).status_code == 202
    run_training_jobs(factory)
    unjudged = {m["version"]: m for m in client.get("/api/v1/ai/models").json()}[2]
    assert unjudged["status"] == "candidate"
    assert "no held-back examples" in unjudged["promotion_reason"]
    # New phrasings of each intent: the next candidate is judged on them, next to version 1.
    add_examples(factory, ws.id, {i: [f"{t}, please" for t in ts] for i, ts in EXAMPLES.items()})
    assert client.post("/api/v1/ai/train", headers=admin).status_code == 202
    run_training_jobs(factory)
    statuses = {m["version"]: m["status"] for m in client.get("/api/v1/ai/models").json()}
    assert statuses == {3: "active", 2: "candidate", 1: "retired"}, statuses
    back = client.post("/api/v1/ai/models/1/activate", headers=admin)
    assert back.status_code == 200 and back.json()["status"] == "active"
    statuses = {m["version"]: m["status"] for m in client.get("/api/v1/ai/models").json()}
    assert statuses == {3: "retired", 2: "candidate", 1: "active"}
    missing = client.post("/api/v1/ai/models/9/activate", headers=admin)
    assert missing.status_code == 404 and "model version" in _error(missing)["message"]
    assert client.post("/api/v1/ai/models/x/activate", headers=admin).status_code == 422
    huge = client.post(f"/api/v1/ai/models/{2**40}/activate", headers=admin)
    assert huge.status_code == 404  # found by Schemathesis on PostgreSQL (was a 500)


def test_another_workspaces_runs_and_models_are_not_found(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _ws, _admin = _trained(client, factory)
    run_id = client.get("/api/v1/ai/train").json()[0]["id"]
    other = make_workspace(factory)
    other_admin = login(client, other.admin_email)
    assert client.get(f"/api/v1/ai/train/{run_id}").status_code == 404
    assert client.get("/api/v1/ai/train").json() == []
    assert client.get("/api/v1/ai/models").json() == []
    refused = client.post("/api/v1/ai/models/1/activate", headers=other_admin)
    assert refused.status_code == 404


def test_failed_training_is_reported_readably(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    admin = login(client, ws.admin_email)
    run = client.post("/api/v1/ai/train", headers=admin).json()
    run_training_jobs(factory)
    failed = client.get(f"/api/v1/ai/train/{run['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"].startswith("training needs at least 2 intents")


def test_preview_shows_what_the_ai_would_do_and_rejects_bad_text(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _ws, admin = _trained(client, factory)
    shown = client.post("/api/v1/ai/preview", json={"text": "where is my order"}, headers=admin)
    assert shown.status_code == 200, shown.text
    plan = shown.json()
    assert plan["triage"]["intent"] == "track_order"
    assert plan["decision"]["action"] in ("answer", "escalate")
    assert set(plan) >= {"triage", "decision", "reply", "source", "related_articles"}
    for body, message in [
        ({"text": "   "}, "text must not be empty"),
        ({"text": "x" * 10_001}, "the limit is 10000"),
    ]:
        bad = client.post("/api/v1/ai/preview", json=body, headers=admin)
        assert bad.status_code == 422 and message in _error(bad)["message"], bad.text
    missing = client.post("/api/v1/ai/preview", json={}, headers=admin)
    assert missing.status_code == 422 and "text" in _error(missing)["message"]


def test_settings_are_read_and_changed_through_one_validator(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    admin = login(client, ws.admin_email)
    current = client.get("/api/v1/ai/settings").json()
    assert current["assistant_name"] == f"{ws.name} assistant"
    assert current["language_fallback"] == "escalate" and current["precision_target"] == 0.95
    changed = client.put(
        "/api/v1/ai/settings",
        json={
            "assistant_name": "Robin",
            "ai_notice": {"en": "I am {name}, a bot."},
            "language_fallback": "default_language",
            "default_language": "en",
            "precision_target": 0.9,
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["assistant_name"] == "Robin"
    assert body["ai_notice"]["en"] == "I am Robin, a bot."
    assert body["ai_notice_overrides"] == {"en": "I am {name}, a bot."}
    assert (body["language_fallback"], body["precision_target"]) == ("default_language", 0.9)
    assert client.get("/api/v1/ai/settings").json() == body
    for patch, message in [
        ({"language_fallback": "guess"}, "language_fallback: Input should be 'escalate'"),
        ({"default_language": "de"}, "default_language must be one of the workspace's"),
        ({"ai_notice": {"xx": "hi"}}, "ai_notice: language 'xx' is not one of"),
        ({"assistant_name": "x" * 61}, "assistant_name: String should have at most 60"),
        ({"precision_target": 1.5}, "precision_target: Input should be less than or equal"),
        ({"precision_target": "high"}, "precision_target: Input should be a valid number"),
        ({"colour": "blue"}, "colour"),
    ]:
        bad = client.put("/api/v1/ai/settings", json=patch, headers=admin)
        assert bad.status_code == 422 and message in _error(bad)["message"], (patch, bad.text)
    assert client.get("/api/v1/ai/settings").json() == body  # refused changes left nothing


def test_the_running_app_trains_in_its_own_worker(
    live_server, factory: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    ws = make_workspace(factory)
    add_examples(factory, ws.id)
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        csrf = http.post(
            "/api/v1/auth/login", json={"email": ws.admin_email, "password": PASSWORD}
        ).json()["csrf_token"]
        run = http.post("/api/v1/ai/train", headers={"X-CSRF-Token": csrf}).json()
        deadline = time.monotonic() + 120
        while run["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            run = http.get(f"/api/v1/ai/train/{run['id']}").json()
        assert run["status"] == "succeeded", run
        assert http.get("/api/v1/ai/models").json()[0]["status"] == "active"
