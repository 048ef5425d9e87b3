"""Presence follows the login: online on login unless the agent chose away; offline on logout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tandem.core.errors import ValidationError
from tandem.db.session import transaction
from tandem.users.models import User
from tandem.users.service import end_session, start_session

from ..factories import make_workspace

DAY = timedelta(days=1)


def agent(session: Session, email: str) -> User:
    return session.scalars(select(User).where(User.email == email)).one()


@pytest.mark.parametrize(("before", "after"), [("offline", "online"), ("online", "online")])
def test_logging_in_puts_the_agent_online(
    factory: sessionmaker[Session], before: str, after: str
) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        user = agent(session, ws.agent_email)
        user.presence = before
        start_session(session, user=user, lifetime=DAY)
        assert user.presence == after and user.last_seen_at is not None


def test_a_chosen_away_outlives_logout_and_login(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        user = agent(session, ws.agent_email)
        issued = start_session(session, user=user, lifetime=DAY)
        user.presence = "away"  # the agent's choice
        end_session(session, user, issued.token)
        assert user.presence == "away"
        start_session(session, user=user, lifetime=DAY)
        assert user.presence == "away"


def test_logging_out_of_the_last_session_goes_offline(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        user = agent(session, ws.agent_email)
        laptop = start_session(session, user=user, lifetime=DAY)
        phone = start_session(session, user=user, lifetime=DAY)
        end_session(session, user, laptop.token)
        assert user.presence == "online"  # still logged in on the phone
        end_session(session, user, phone.token)
        assert user.presence == "offline"


@pytest.mark.parametrize("chosen", ["away", "offline", "online"])
def test_a_presence_chosen_at_login_is_kept(factory: sessionmaker[Session], chosen: str) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        user = agent(session, ws.agent_email)
        user.presence = "away"  # chosen before; an explicit choice at login wins
        start_session(session, user=user, lifetime=DAY, presence=chosen)
        assert user.presence == chosen


def test_an_unknown_presence_at_login_is_refused(factory: sessionmaker[Session]) -> None:
    ws = make_workspace(factory)
    with transaction(factory, ws.id) as session:
        user = agent(session, ws.agent_email)
        with pytest.raises(ValidationError, match="presence"):
            start_session(session, user=user, lifetime=DAY, presence="busy")
        assert user.presence == "offline"
