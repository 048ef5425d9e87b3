"""Live updates over a real socket: the customer's event stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
from sqlalchemy.orm import Session, sessionmaker

from ..factories import make_workspace

WIDGET = "/api/v1/widget/conversations"


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object], str | None]]:
    event, event_id, data = "", None, ""
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and event:
            yield event, json.loads(data), event_id
            event, event_id, data = "", None, ""


def test_customer_stream_replays_then_follows(live_server, factory: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    ws = make_workspace(factory)
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        started = http.post(WIDGET, headers={"X-Tandem-Widget-Key": ws.widget_key}).json()
        conv_id, token = started["conversation_id"], started["customer_token"]
        headers = {"Authorization": f"Bearer {token}"}
        http.post(f"{WIDGET}/{conv_id}/messages", headers=headers, json={"text": "first"})

        seen: list[tuple[str, dict[str, object], str | None]] = []
        with http.stream("GET", f"{WIDGET}/{conv_id}/events", params={"token": token}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = _events(stream.iter_lines())
            seen.append(next(events))  # "first", replayed from the database
            poster = threading.Thread(
                target=lambda: http.post(
                    f"{WIDGET}/{conv_id}/messages", headers=headers, json={"text": "second"}
                )
            )
            poster.start()
            for event in events:  # the front line reacts too; read until "second" arrives live
                seen.append(event)
                if event[0] == "message" and event[1]["text"] == "second":
                    break
            poster.join()
    messages = [(data["text"], event_id) for kind, data, event_id in seen if kind == "message"]
    assert messages[0] == ("first", "1")
    assert messages[-1][0] == "second"
    ids = [int(event_id or 0) for _, event_id in messages]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # in order, no repeats
    assert any(kind == "status" for kind, _, _ in seen)


def test_stream_resumes_after_last_event_id(live_server, factory: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    ws = make_workspace(factory)
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        started = http.post(WIDGET, headers={"X-Tandem-Widget-Key": ws.widget_key}).json()
        conv_id = started["conversation_id"]
        headers = {"Authorization": f"Bearer {started['customer_token']}"}
        for text in ("one", "two", "three"):
            http.post(f"{WIDGET}/{conv_id}/messages", headers=headers, json={"text": text})
        stored = http.get(f"{WIDGET}/{conv_id}", headers=headers).json()["messages"]
        resume = {**headers, "Last-Event-ID": "2"}
        with http.stream("GET", f"{WIDGET}/{conv_id}/events", headers=resume) as stream:
            first = next(_events(stream.iter_lines()))
    expected = next(m for m in stored if m["seq"] == 3)
    assert first == ("message", expected, "3")


def test_stream_refuses_wrong_token(live_server, factory: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    ws = make_workspace(factory)
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        started = http.post(WIDGET, headers={"X-Tandem-Widget-Key": ws.widget_key}).json()
        response = http.get(
            f"{WIDGET}/{started['conversation_id']}/events", params={"token": "wrong"}
        )
    assert response.status_code == 404


def test_team_stream_sends_status_only_on_real_changes(
    live_server, factory: sessionmaker[Session]
) -> None:  # type: ignore[no-untyped-def]
    from ..factories import PASSWORD

    ws = make_workspace(factory)
    with httpx.Client(base_url=live_server.url, timeout=20) as http:
        started = http.post(WIDGET, headers={"X-Tandem-Widget-Key": ws.widget_key}).json()
        conv_id = started["conversation_id"]
        login = http.post(
            "/api/v1/auth/login", json={"email": ws.agent_email, "password": PASSWORD}
        ).json()
        csrf = {"X-CSRF-Token": login["csrf_token"]}
        team = f"/api/v1/conversations/{conv_id}"
        # A fresh client (no state) is told the current state first…
        with http.stream("GET", f"{team}/events") as stream:
            kind, data, _ = next(_events(stream.iter_lines()))
        assert kind == "status" and data["status"] == "ai"
        state = str(data["state"])

        def note_then_reply() -> None:
            http.post(f"{team}/messages", headers=csrf, json={"text": "psst", "private": True})
            http.post(f"{team}/messages", headers=csrf, json={"text": "Hello, I'm here"})

        # …a page that already shows that state hears only what changes after it.
        with http.stream("GET", f"{team}/events", params={"state": state}) as stream:
            events = _events(stream.iter_lines())
            poster = threading.Thread(target=note_then_reply)
            poster.start()
            seen = [next(events), next(events), next(events)]
            poster.join()
    assert seen[0][0] == "message" and seen[0][1]["text"] == "psst"
    kinds = sorted(kind for kind, _, _ in seen[1:])
    assert kinds == ["message", "status"]  # the reply, and the takeover it caused
    status = next(data for kind, data, _ in seen if kind == "status")
    assert status["status"] == "human" and status["state"] != state
    # The token is opaque: the widget's stream carries it to customers, so no ids in it.
    assert login["user"]["id"] not in str(status["state"]) and ":" not in str(status["state"])
