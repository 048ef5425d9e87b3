"""Moving a conversation to another queue: the rules, the audit trail, auto-assignment, the API."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.conversations.models import Conversation, Message
from tandem.conversations.service import change_status, get_conversation, start_conversation
from tandem.conversations.state import Action
from tandem.core.errors import ConflictError, NotFoundError
from tandem.db.session import transaction
from tandem.events.models import Event
from tandem.routing import service
from tandem.routing.service import RoutingOutcome

from ..factories import MadeWorkspace, login, make_workspace
from .conftest import add_agent, escalate_and_route


@dataclass(frozen=True)
class Desk:
    """A workspace with a General (default) and a Billing queue."""

    ws: MadeWorkspace
    general: str
    billing: str


def make_desk(factory: sessionmaker[Session], *, auto_assign: bool = True) -> Desk:
    ws = make_workspace(factory)
    with transaction(factory, workspace_id=ws.id) as session:
        service.ensure_default_setup(session, ws.id)
        general = service.list_queues(session, ws.id)[0]
        billing = service.create_queue(
            session, workspace_id=ws.id, name="Billing", intents=["get_refund"]
        )
        service.update_routing_settings(session, workspace_id=ws.id, auto_assign=auto_assign)
        return Desk(ws=ws, general=general.id, billing=billing.id)


def set_members(
    factory: sessionmaker[Session], desk: Desk, queue_id: str, users: list[str]
) -> None:
    with transaction(factory, workspace_id=desk.ws.id) as session:
        service.set_queue_members(
            session, workspace_id=desk.ws.id, queue_id=queue_id, user_ids=users
        )


def waiting_in_general(factory: sessionmaker[Session], desk: Desk) -> str:
    """Escalate a conversation nobody is online to take: it waits in General."""
    conversation_id, outcome = escalate_and_route(factory, desk.ws.id)
    assert outcome.queue_id == desk.general and outcome.assignee_id is None
    return conversation_id


def do_transfer(
    factory: sessionmaker[Session],
    desk: Desk,
    conversation_id: str,
    queue_id: str,
    *,
    actor_id: str,
    note: str | None = None,
) -> RoutingOutcome:
    with transaction(factory, workspace_id=desk.ws.id) as session:
        conversation = get_conversation(session, conversation_id, lock=True)
        return service.transfer(
            session, conversation, queue_id=queue_id, actor_id=actor_id, note=note
        )


def load(factory: sessionmaker[Session], conversation_id: str) -> Conversation:
    with factory() as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        return row


def events(factory: sessionmaker[Session], conversation_id: str, type_: str) -> list[Event]:
    with factory() as session:
        query = select(Event).where(Event.conversation_id == conversation_id, Event.type == type_)
        return list(session.scalars(query.order_by(Event.id)))


# --- service ------------------------------------------------------------------------------------


def test_transfer_moves_a_waiting_conversation_and_leaves_its_sla_alone(
    factory: sessionmaker[Session],
) -> None:
    desk = make_desk(factory)
    actor = add_agent(factory, desk.ws.id, presence="offline")
    conversation_id = waiting_in_general(factory, desk)
    before = load(factory, conversation_id)

    outcome = do_transfer(
        factory, desk, conversation_id, desk.billing, actor_id=actor, note="  Refund, not tech.  "
    )

    after = load(factory, conversation_id)
    assert (outcome.queue_id, outcome.queue_name, outcome.assignee_id) == (
        desk.billing,
        "Billing",
        None,
    )
    assert (after.queue_id, after.status, after.assignee_id) == (
        desk.billing,
        "waiting_for_human",
        None,
    )
    assert after.first_response_due_at == before.first_response_due_at
    assert after.sla_policy_id == before.sla_policy_id
    [moved] = events(factory, conversation_id, "conversation.transferred")
    assert (moved.actor_type, moved.actor_id) == ("user", actor)
    assert moved.data["from_queue"] == desk.general
    assert moved.data["to_queue"] == desk.billing
    assert moved.data["note"] == "Refund, not tech."
    with factory() as session:
        notes = session.scalars(
            select(Message).where(Message.conversation_id == conversation_id)
        ).all()
    [note] = [m for m in notes if m.author == "agent"]
    assert (note.text, note.is_private, note.author_user_id) == ("Refund, not tech.", True, actor)


def test_a_waiting_conversation_goes_to_an_online_member_of_the_new_queue(
    factory: sessionmaker[Session],
) -> None:
    desk = make_desk(factory)
    general_agent = add_agent(factory, desk.ws.id, presence="offline")
    billing_agent = add_agent(factory, desk.ws.id, presence="online", capacity=1)
    # Online with more room, but not on Billing: must not be picked for a Billing conversation.
    outsider = add_agent(factory, desk.ws.id, presence="online", capacity=9)
    set_members(factory, desk, desk.general, [general_agent])
    set_members(factory, desk, desk.billing, [billing_agent])
    with transaction(factory, workspace_id=desk.ws.id) as session:
        shipping = service.create_queue(session, workspace_id=desk.ws.id, name="Shipping")
    set_members(factory, desk, shipping.id, [outsider])
    conversation_id = waiting_in_general(factory, desk)

    outcome = do_transfer(factory, desk, conversation_id, desk.billing, actor_id=general_agent)

    after = load(factory, conversation_id)
    assert outcome.assignee_id == billing_agent
    assert (after.status, after.assignee_id, after.queue_id) == (
        "human",
        billing_agent,
        desk.billing,
    )
    [assigned] = events(factory, conversation_id, "conversation.assign")
    assert assigned.data["via"] == "transfer" and assigned.data["queue_id"] == desk.billing
    [moved] = events(factory, conversation_id, "conversation.transferred")
    assert moved.data["assignee_id"] == billing_agent and moved.data["note"] is None


def test_without_auto_assign_the_conversation_waits_in_the_new_queue(
    factory: sessionmaker[Session],
) -> None:
    desk = make_desk(factory, auto_assign=False)
    billing_agent = add_agent(factory, desk.ws.id, presence="online")
    set_members(factory, desk, desk.billing, [billing_agent])
    conversation_id, _ = escalate_and_route(factory, desk.ws.id)

    outcome = do_transfer(factory, desk, conversation_id, desk.billing, actor_id=billing_agent)

    after = load(factory, conversation_id)
    assert outcome.assignee_id is None
    assert (after.status, after.assignee_id, after.queue_id) == (
        "waiting_for_human",
        None,
        desk.billing,
    )


def test_an_owned_conversation_keeps_its_agent_and_status(
    factory: sessionmaker[Session],
) -> None:
    desk = make_desk(factory)
    owner = add_agent(factory, desk.ws.id, presence="offline")
    billing_agent = add_agent(factory, desk.ws.id, presence="online")
    set_members(factory, desk, desk.general, [owner])
    set_members(factory, desk, desk.billing, [billing_agent])
    conversation_id = waiting_in_general(factory, desk)
    with transaction(factory, workspace_id=desk.ws.id) as session:
        conversation = get_conversation(session, conversation_id, lock=True)
        change_status(session, conversation, Action.ASSIGN, actor_type="user", assignee_id=owner)

    outcome = do_transfer(factory, desk, conversation_id, desk.billing, actor_id=owner)

    after = load(factory, conversation_id)
    assert outcome.assignee_id is None
    assert (after.status, after.assignee_id, after.queue_id) == ("human", owner, desk.billing)
    assert len(events(factory, conversation_id, "conversation.assign")) == 1


def test_only_open_conversations_move_and_never_to_their_own_queue(
    factory: sessionmaker[Session],
) -> None:
    desk = make_desk(factory)
    actor = add_agent(factory, desk.ws.id, presence="offline")
    waiting = waiting_in_general(factory, desk)
    resolved = waiting_in_general(factory, desk)
    with transaction(factory, workspace_id=desk.ws.id) as session:
        conversation = get_conversation(session, resolved, lock=True)
        change_status(session, conversation, Action.RESOLVE, actor_type="user", actor_id=actor)
        with_ai = start_conversation(session, workspace_id=desk.ws.id).conversation.id

    with pytest.raises(ConflictError, match="already in the General queue"):
        do_transfer(factory, desk, waiting, desk.general, actor_id=actor)
    with pytest.raises(ConflictError, match="resolved"):
        do_transfer(factory, desk, resolved, desk.billing, actor_id=actor)
    with pytest.raises(ConflictError, match="the AI handles it"):
        do_transfer(factory, desk, with_ai, desk.billing, actor_id=actor)
    assert load(factory, resolved).queue_id == desk.general
    assert load(factory, with_ai).queue_id is None
    assert events(factory, waiting, "conversation.transferred") == []


def test_a_queue_of_another_workspace_is_not_found(factory: sessionmaker[Session]) -> None:
    ours, theirs = make_desk(factory), make_desk(factory)
    actor = add_agent(factory, ours.ws.id, presence="offline")
    conversation_id = waiting_in_general(factory, ours)

    with pytest.raises(NotFoundError, match="queue not found"):
        do_transfer(factory, ours, conversation_id, theirs.billing, actor_id=actor)
    assert load(factory, conversation_id).queue_id == ours.general


# --- API ----------------------------------------------------------------------------------------


def test_any_team_member_moves_a_conversation_through_the_api(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    desk = make_desk(factory)
    conversation_id = waiting_in_general(factory, desk)
    headers = login(client, desk.ws.agent_email)
    # Logged in means online; away, the mover is not offered the conversation in Billing.
    client.put("/api/v1/me/presence", json={"presence": "away"}, headers=headers)

    response = client.post(
        f"/api/v1/conversations/{conversation_id}/transfer",
        json={"queue_id": desk.billing, "note": "refund question"},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["status"], body["queue_id"], body["queue_name"]) == (
        conversation_id,
        "waiting_for_human",
        desk.billing,
        "Billing",
    )
    assert body["auto_assigned"] is False
    [moved] = events(factory, conversation_id, "conversation.transferred")
    assert moved.data["note"] == "refund question"
    detail = client.get(f"/api/v1/conversations/{conversation_id}", headers=headers).json()
    assert [(m["text"], m["is_private"]) for m in detail["messages"] if m["author"] == "agent"] == [
        ("refund question", True)
    ]


def test_the_api_answers_4xx_for_other_workspaces_and_refused_moves(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ours, theirs = make_desk(factory), make_desk(factory)
    own = waiting_in_general(factory, ours)
    foreign = waiting_in_general(factory, theirs)
    with transaction(factory, workspace_id=ours.ws.id) as session:
        with_ai = start_conversation(session, workspace_id=ours.ws.id).conversation.id
    headers = login(client, ours.ws.agent_email)

    def post(conversation_id: str, body: dict[str, object]) -> tuple[int, str]:
        response = client.post(
            f"/api/v1/conversations/{conversation_id}/transfer", json=body, headers=headers
        )
        return response.status_code, response.text

    assert post(foreign, {"queue_id": theirs.billing})[0] == 404
    assert post(own, {"queue_id": theirs.billing})[0] == 404
    same = post(own, {"queue_id": ours.general})
    assert same[0] == 409 and "already in the General queue" in same[1]
    assert post(with_ai, {"queue_id": ours.billing})[0] == 409
    assert post(own, {"queue_id": ours.billing, "priority": 3})[0] == 422
    assert post(own, {})[0] == 422
    assert load(factory, own).queue_id == ours.general
    assert load(factory, foreign).queue_id == theirs.general
    resolve = client.post(
        f"/api/v1/conversations/{own}/status", json={"action": "resolve"}, headers=headers
    )
    assert resolve.status_code == 200
    assert post(own, {"queue_id": ours.billing})[0] == 409
