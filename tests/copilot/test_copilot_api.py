"""The co-pilot API: roles, workspace isolation, readable 4xx."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ..factories import login
from .conftest import Desk

TORN = "The jacket I ordered arrived with a torn sleeve."
REPLY = "Sorry! I've emailed a prepaid return label; a replacement ships once it is scanned."


def test_copilot_panel_for_a_conversation(client: TestClient, shop: Desk) -> None:
    earlier = shop.start()
    shop.resolved_case(earlier, TORN, REPLY)
    current = shop.start()
    shop.customer(current, "My jacket came torn at the sleeve")
    headers = login(client, shop.ws.agent_email)
    response = client.get(f"/api/v1/conversations/{current}/copilot", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"suggestions", "next_actions", "history"}
    assert any(
        s["source_kind"] == "resolved_case" and s["text"] == REPLY for s in body["suggestions"]
    )
    assert [h["id"] for h in body["history"]] == [earlier]


def test_copilot_of_another_workspaces_conversation_is_not_found(
    client: TestClient, shop: Desk, bare: Desk
) -> None:
    theirs = bare.start()
    headers = login(client, shop.ws.agent_email)
    response = client.get(f"/api/v1/conversations/{theirs}/copilot", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "conversation not found"
    check = client.post(
        "/api/v1/copilot/check", headers=headers, json={"text": "hi", "conversation_id": theirs}
    )
    assert check.status_code == 404


def test_check_returns_flags_and_ok(client: TestClient, bare: Desk) -> None:
    headers = login(client, bare.ws.agent_email)
    bad = client.post(
        "/api/v1/copilot/check",
        headers=headers,
        json={"text": "We guarantee it. Card 4111 1111 1111 1111."},
    )
    assert bad.status_code == 200, bad.text
    body = bad.json()
    assert body["ok"] is False
    assert [f["code"] for f in body["flags"]] == ["forbidden_phrase", "card_number"]
    assert body["flags"][1]["start"] == 22 and body["flags"][1]["end"] == 41
    good = client.post("/api/v1/copilot/check", headers=headers, json={"text": "Order NW-1 ok."})
    assert good.json() == {"flags": [], "ok": True}
    warn = client.post("/api/v1/copilot/check", headers=headers, json={"text": "Ref 9876543210123"})
    assert warn.json()["ok"] is True and warn.json()["flags"][0]["severity"] == "warn"


def test_check_refuses_bad_input_readably(client: TestClient, bare: Desk) -> None:
    headers = login(client, bare.ws.agent_email)
    missing = client.post("/api/v1/copilot/check", headers=headers, json={})
    assert missing.status_code == 422
    assert "text" in missing.json()["error"]["message"]
    huge = client.post("/api/v1/copilot/check", headers=headers, json={"text": "x" * 200_000})
    assert huge.status_code in (413, 422)
    no_csrf = client.post("/api/v1/copilot/check", json={"text": "hi"})
    assert no_csrf.status_code == 403
    client.cookies.clear()
    anonymous = client.post("/api/v1/copilot/check", json={"text": "hi"})
    assert anonymous.status_code == 401


def test_rules_are_read_by_members_and_written_by_admins(client: TestClient, bare: Desk) -> None:
    agent = login(client, bare.ws.agent_email)
    rules = client.get("/api/v1/copilot/rules", headers=agent).json()
    assert (
        "guarantee*" in rules["forbidden_phrases"] and rules["allow_supervisor_override"] is False
    )
    new = {"forbidden_phrases": ["free money"], "required_phrases": ["Kind regards"]}
    assert client.put("/api/v1/copilot/rules", headers=agent, json=new).status_code == 403
    supervisor = login(client, bare.ws.supervisor_email)
    assert client.put("/api/v1/copilot/rules", headers=supervisor, json=new).status_code == 403

    admin = login(client, bare.ws.admin_email)
    saved = client.put("/api/v1/copilot/rules", headers=admin, json=new)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {**new, "allow_supervisor_override": False}
    agent = login(client, bare.ws.agent_email)
    assert client.get("/api/v1/copilot/rules", headers=agent).json() == saved.json()
    flags = client.post(
        "/api/v1/copilot/check", headers=agent, json={"text": "We guarantee FREE  money"}
    ).json()["flags"]
    assert [(f["code"], f["start"]) for f in flags] == [
        ("forbidden_phrase", 13),
        ("missing_required_wording", None),
    ]


def test_bad_rules_get_422_with_the_reason(client: TestClient, shop: Desk, bare: Desk) -> None:
    admin = login(client, bare.ws.admin_email)
    for body, needle in [
        ({"forbidden_phrases": [""]}, "forbidden_phrases[0] must be a non-empty string"),
        ({"forbidden_phrases": "guarantee"}, "forbidden_phrases"),
        ({"allow_supervisor_override": "yes"}, "allow_supervisor_override"),
        ({"surprise": True}, "surprise"),
    ]:
        response = client.put("/api/v1/copilot/rules", headers=admin, json=body)
        assert response.status_code == 422, response.text
        assert needle in response.json()["error"]["message"]
    # Rules belong to one workspace: the shop still has the defaults.
    client.put("/api/v1/copilot/rules", headers=admin, json={"forbidden_phrases": ["zzz"]})
    shop_agent = login(client, shop.ws.agent_email)
    assert (
        "guarantee*"
        in client.get("/api/v1/copilot/rules", headers=shop_agent).json()["forbidden_phrases"]
    )
