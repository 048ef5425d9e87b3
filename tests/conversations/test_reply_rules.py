"""The rules every path shares: compliance of agent replies, payment data masked before storage.

Run through the team API and the widget API over HTTP, and checked in the database with plain
SQL, so no ORM convenience can hide a stored card number.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.events.models import Event

from ..factories import login, make_workspace, open_conversation

CONVERSATIONS = "/api/v1/conversations"
WIDGET = "/api/v1/widget/conversations"
PAN = "4111 1111 1111 1111"
PAN_DIGITS = "4111111111111111"


def _stored_texts(factory: sessionmaker[Session], conversation_id: str) -> list[str]:
    with factory() as session:
        rows = session.execute(
            text("SELECT text FROM messages WHERE conversation_id = :c ORDER BY seq"),
            {"c": conversation_id},
        )
        return [row[0] for row in rows]


def _digits_only(value: str) -> str:
    return re.sub(r"\D", "", value)


def _human_conversation(client: TestClient, ws_widget_key: str) -> str:
    conv = open_conversation(client, ws_widget_key)
    client.post(f"{WIDGET}/{conv.id}/messages", headers=conv.headers, json={"text": "Help me"})
    return conv.id


def test_the_team_api_blocks_a_reply_with_a_card_number_and_a_promise(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conversation_id = _human_conversation(client, ws.widget_key)
    csrf = login(client, ws.agent_email)
    before = _stored_texts(factory, conversation_id)

    blocked = client.post(
        f"{CONVERSATIONS}/{conversation_id}/messages",
        headers=csrf,
        json={"text": f"{PAN}, I guarantee a 100 % refund"},
    )

    assert blocked.status_code == 422, blocked.text
    error = blocked.json()["error"]
    assert error["code"] == "compliance_blocked"
    codes = {f["code"] for f in error["details"]["flags"]}
    assert codes == {"card_number", "forbidden_phrase"}
    assert error["message"] == (
        "the reply was not sent: it contains payment data (card_number); "
        "it also breaks the rules (forbidden_phrase)"
    )
    assert PAN_DIGITS not in _digits_only(blocked.text)  # the error does not echo the card
    assert _stored_texts(factory, conversation_id) == before  # nothing was posted
    detail = client.get(f"{CONVERSATIONS}/{conversation_id}").json()
    assert detail["status"] == "ai"  # a blocked reply takes no ownership either


def test_a_negated_promise_is_sent(client: TestClient, factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    conversation_id = _human_conversation(client, ws.widget_key)
    csrf = login(client, ws.agent_email)
    sent = client.post(
        f"{CONVERSATIONS}/{conversation_id}/messages",
        headers=csrf,
        json={"text": "I can't guarantee it arrives before Saturday, sorry."},
    )
    assert sent.status_code == 201, sent.text


def test_a_supervisor_override_is_allowed_only_where_configured_and_is_audited(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conversation_id = _human_conversation(client, ws.widget_key)
    url = f"{CONVERSATIONS}/{conversation_id}/messages"
    body = {"text": "I guarantee delivery by Friday.", "override_reason": "Approved by ops"}

    supervisor = login(client, ws.supervisor_email)
    refused = client.post(url, headers=supervisor, json=body)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["override_allowed"] is False

    admin = login(client, ws.admin_email)
    rules = client.get("/api/v1/copilot/rules", headers=admin).json()
    saved = client.put(
        "/api/v1/copilot/rules", headers=admin, json={**rules, "allow_supervisor_override": True}
    )
    assert saved.status_code == 200, saved.text

    agent = login(client, ws.agent_email)
    assert client.post(url, headers=agent, json=body).status_code == 422  # agents may not

    supervisor = login(client, ws.supervisor_email)
    no_reason = client.post(url, headers=supervisor, json={"text": body["text"]})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["details"]["override_allowed"] is True
    card = client.post(url, headers=supervisor, json={**body, "text": f"Card {PAN}"})
    assert card.status_code == 422  # payment data is never overridden
    assert card.json()["error"]["details"]["override_allowed"] is False
    sent = client.post(url, headers=supervisor, json=body)
    assert sent.status_code == 201, sent.text

    me = client.get("/api/v1/me").json()["user"]["id"]
    with transaction(factory) as session:
        events = session.scalars(
            select(Event).where(
                Event.conversation_id == conversation_id,
                Event.type == "message.compliance_override",
            )
        ).all()
        assert [(e.actor_id, e.data["reason"], e.data["flags"]) for e in events] == [
            (me, "Approved by ops", ["forbidden_phrase"])
        ]


def test_a_card_number_from_a_customer_is_masked_before_it_is_stored(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    posted = client.post(
        f"{WIDGET}/{conv.id}/messages",
        headers=conv.headers,
        json={"text": f"My card is {PAN} and it was charged twice"},
    )
    assert posted.status_code in (200, 201), posted.text
    assert PAN_DIGITS not in _digits_only(posted.text)

    stored = _stored_texts(factory, conv.id)
    assert not any(PAN_DIGITS in _digits_only(t) for t in stored), stored
    assert stored[0] == "My card is •••• •••• •••• 1111 and it was charged twice"
    # The customer is told, in their language, not to send card data.
    assert stored[1].startswith("For your security we hid the card number")

    csrf = login(client, ws.agent_email)
    messages = client.get(f"{CONVERSATIONS}/{conv.id}").json()["messages"]
    assert messages[0]["text"].endswith("1111 and it was charged twice")
    assert messages[0]["meta"]["masked"] == ["card_number"]
    assert csrf


def test_a_card_in_a_private_note_and_in_german_is_masked_too(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    client.post(
        f"{WIDGET}/{conv.id}/messages",
        headers=conv.headers,
        json={"text": "Meine Kreditkarte ist 5555-5555-5555-4444, bitte helfen Sie mir"},
    )
    csrf = login(client, ws.agent_email)
    note = client.post(
        f"{CONVERSATIONS}/{conv.id}/messages",
        headers=csrf,
        json={"text": "Customer pasted 5555 5555 5555 4444 earlier", "private": True},
    )
    assert note.status_code == 201, note.text
    stored = _stored_texts(factory, conv.id)
    assert not any("5555555555554444" in _digits_only(t) for t in stored), stored
    assert "Kartennummer" in stored[1]


def test_a_workspace_may_mask_ibans_and_emails_as_well(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ws = make_workspace(factory)
    agent = login(client, ws.agent_email)
    body = {"mask": ["iban", "email"]}
    assert client.put("/api/v1/privacy", headers=agent, json=body).status_code == 403
    admin = login(client, ws.admin_email)
    bad = client.put("/api/v1/privacy", headers=admin, json={"mask": ["shoe_size"]})
    assert bad.status_code == 422
    saved = client.put("/api/v1/privacy", headers=admin, json=body)
    # Card numbers and security codes are always masked, whatever the setting says.
    assert saved.json() == {"mask": ["card_number", "card_security_code", "email", "iban"]}
    conv = open_conversation(client, ws.widget_key)
    client.post(
        f"{WIDGET}/{conv.id}/messages",
        headers=conv.headers,
        json={"text": "Refund to DE89 3704 0044 0532 0130 00 please, mail kim@example.com"},
    )
    stored = _stored_texts(factory, conv.id)[0]
    assert "3704 0044" not in stored and "kim@" not in stored
    assert stored == "Refund to DE•• •••• •••• •••• ••30 00 please, mail k•••@example.com"


def test_a_dotted_or_glued_card_and_its_security_code_are_never_stored_or_sent(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    # Found by a newcomer check: dots as separators, or a card glued to a word, went through.
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    posted = client.post(
        f"{WIDGET}/{conv.id}/messages",
        headers=conv.headers,
        json={"text": "my card 4111.1111.1111.1111 cvv 123, or card5555555555554444"},
    )
    assert posted.status_code in (200, 201), posted.text
    stored = _stored_texts(factory, conv.id)
    assert stored[0] == "my card ••••.••••.••••.1111 cvv •••, or card••••••••••••4444"
    assert stored[1].startswith("For your security we hid the card number")

    csrf = login(client, ws.agent_email)
    for text_ in ("We charged card 4111.1111.1111.1111 today.", "Your CVC is 4321, right?"):
        blocked = client.post(
            f"{CONVERSATIONS}/{conv.id}/messages", headers=csrf, json={"text": text_}
        )
        assert blocked.status_code == 422, blocked.text
        assert blocked.json()["error"]["code"] == "compliance_blocked"
    note = client.post(
        f"{CONVERSATIONS}/{conv.id}/messages",
        headers=csrf,
        json={"text": "Card 4111 1111 1111 1111 exp 12/28 cvv 123", "private": True},
    )
    assert note.status_code == 201, note.text
    assert _stored_texts(factory, conv.id)[-1] == "Card •••• •••• •••• 1111 exp 12/28 cvv •••"


def test_a_bare_card_gets_the_notice_in_english_and_names_no_language(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    # Found by a newcomer check: "card5555555555554444" got the notice in French and the
    # conversation was recorded as Welsh.
    ws = make_workspace(factory)
    conv = open_conversation(client, ws.widget_key)
    client.post(
        f"{WIDGET}/{conv.id}/messages", headers=conv.headers, json={"text": "card5555555555554444"}
    )
    stored = _stored_texts(factory, conv.id)
    assert stored[1].startswith("For your security we hid the card number")
    with factory() as session:
        language = session.execute(
            text("SELECT language FROM conversations WHERE id = :c"), {"c": conv.id}
        ).scalar_one()
    assert language is None
