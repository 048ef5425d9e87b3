"""Resolving in the console: a conversation a person handled asks for its need's intent."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.events.models import Event
from tandem.knowledge.models import TrainingExample

from ..factories import MadeWorkspace, make_workspace
from .conftest import (
    console_login,
    escalated_conversation,
    handle_in_console,
    triaged_conversation,
)

WHERE_IS_MY_ORDER = "Where is my order 12345? I want to talk to a person"
SHIPPED = "It left our warehouse today; tracking follows."


def _examples(factory: sessionmaker[Session], conversation_id: str) -> list[TrainingExample]:
    with factory() as session:
        query = select(TrainingExample).where(TrainingExample.conversation_id == conversation_id)
        return list(session.scalars(query))


def _resolve_labels(factory: sessionmaker[Session], conversation_id: str) -> list[object]:
    with factory() as session:
        events = session.scalars(
            select(Event)
            .where(Event.conversation_id == conversation_id, Event.type == "conversation.resolve")
            .order_by(Event.id)
        )
        return [(event.data or {}).get("label") for event in events]


def _toast(response: Response) -> str:
    message: str = json.loads(response.headers["HX-Trigger-After-Swap"])["tandem:toast"]["message"]
    return message


def test_resolving_with_the_confirmed_intent_teaches_exactly_one_example(
    web: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conversation_id = triaged_conversation(web, factory, shop, WHERE_IS_MY_ORDER)
    headers = console_login(web, shop.agent_email)
    handle_in_console(web, headers, conversation_id, SHIPPED)

    page = web.get(f"/console/c/{conversation_id}")
    # A person handled it: "Resolve…" opens the label form instead of resolving at once.
    assert f'hx-get="/console/c/{conversation_id}/resolve"' in page.text
    assert 'id="resolve-panel"' in page.text
    form = web.get(f"/console/c/{conversation_id}/resolve", headers=headers)
    assert form.status_code == 200
    assert f'<q class="learn-text" id="learn-text">{WHERE_IS_MY_ORDER}</q>' in form.text
    assert 'name="intent" list="resolve-known-intents" value="order_status"' in form.text
    assert '<option value="shipping_times_costs">' in form.text  # the workspace's intents
    assert 'value="confirm"' in form.text and 'value="skip"' in form.text
    assert "Resolve without label" in form.text

    resolved = web.post(
        f"/console/c/{conversation_id}/resolve",
        data={"intent": "order_status", "label": "confirm"},
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text
    assert 'data-status="resolved"' in resolved.text and 'id="reopen"' in resolved.text
    assert _toast(resolved) == f"Resolved. Learned: “{WHERE_IS_MY_ORDER}” → order_status."
    (example,) = _examples(factory, conversation_id)
    assert (example.intent, example.text, example.pending) == (
        "order_status",
        WHERE_IS_MY_ORDER,
        False,
    )
    assert example.source == "resolution" and example.confirmed_by is not None


def test_resolving_without_a_label_teaches_nothing_but_is_recorded(
    web: TestClient, factory: sessionmaker[Session], shop: MadeWorkspace
) -> None:
    conversation_id = triaged_conversation(web, factory, shop, WHERE_IS_MY_ORDER)
    headers = console_login(web, shop.agent_email)
    handle_in_console(web, headers, conversation_id, SHIPPED)

    skipped = web.post(
        f"/console/c/{conversation_id}/resolve",
        data={"intent": "order_status", "label": "skip"},  # the typed intent is ignored
        headers=headers,
    )
    assert skipped.status_code == 200, skipped.text
    assert 'data-status="resolved"' in skipped.text
    assert _toast(skipped) == "Resolved without a label: nothing was learned."
    assert _examples(factory, conversation_id) == []
    (label,) = _resolve_labels(factory, conversation_id)
    assert label == {"intent": None, "suggested": "order_status", "skipped": True}


def test_an_ai_only_conversation_resolves_in_one_click(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "Do you ship to Norway?")
    headers = console_login(web, ws.agent_email)
    page = web.get(f"/console/c/{conv.id}")
    # Nobody handled it yet: the button resolves at once and there is no label form.
    assert f'hx-post="/console/c/{conv.id}/resolve"' in page.text
    assert f'hx-get="/console/c/{conv.id}/resolve"' not in page.text
    assert 'id="resolve-panel"' not in page.text

    resolved = web.post(f"/console/c/{conv.id}/resolve", headers=headers)
    assert resolved.status_code == 200, resolved.text
    assert 'data-status="resolved"' in resolved.text
    assert _toast(resolved) == "Resolved."
    assert _examples(factory, conv.id) == []
    assert _resolve_labels(factory, conv.id) == [None]  # nothing was asked, nothing skipped


def test_label_mistakes_are_explained_and_leave_the_conversation_open(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, "Can I pay by invoice?")
    headers = console_login(web, ws.agent_email)
    handle_in_console(web, headers, conv.id, "Yes, invoices are fine for orders over 50 euros.")
    url = f"/console/c/{conv.id}/resolve"

    empty = web.post(url, data={"intent": " ", "label": "confirm"}, headers=headers)
    assert empty.status_code == 422 and empty.headers["X-Tandem-Error"] == "1"
    assert "type the intent" in empty.text
    bad = web.post(url, data={"intent": "pay by invoice!", "label": "confirm"}, headers=headers)
    assert bad.status_code == 422 and "not a valid intent code" in bad.text
    odd = web.post(url, data={"label": "maybe"}, headers=headers)
    assert odd.status_code == 422 and "confirm or skip" in odd.text
    assert 'data-status="human"' in web.get(f"/console/c/{conv.id}/head").text
    assert _examples(factory, conv.id) == [] and _resolve_labels(factory, conv.id) == []


def test_html_in_the_customers_need_is_shown_as_text(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    need = 'Is <script>alert("x")</script> <b>gift</b> wrap free?'
    conv = escalated_conversation(web, factory, ws.id, ws.widget_key, need)
    headers = console_login(web, ws.agent_email)
    handle_in_console(web, headers, conv.id, "Gift wrap is free for orders over 30 euros.")
    form = web.get(f"/console/c/{conv.id}/resolve", headers=headers)
    assert form.status_code == 200
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &lt;b&gt;gift&lt;/b&gt;" in form.text
    assert "<script>alert" not in form.text and "<b>gift" not in form.text

    resolved = web.post(
        f"/console/c/{conv.id}/resolve",
        data={"intent": "gift_wrapping", "label": "confirm"},
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text
    # The toast is JSON in a header; the console script shows it with textContent.
    trigger = resolved.headers["HX-Trigger-After-Swap"]
    assert trigger.isascii() and "\n" not in trigger
    assert _toast(resolved) == (
        "Resolved. The new intent gift_wrapping waits for a supervisor's approval."
        " Your reply is proposed as its answer."
    )
