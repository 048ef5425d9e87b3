"""The demo desk keeps the hours its store tells customers: Monday-Friday, 8:00-18:00 CET."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from tandem.db.session import transaction
from tandem.demo.seed import DEMO_BUSINESS_HOURS, load_demo_content, seed_demo
from tandem.routing import hours
from tandem.routing.admin import get_routing_settings
from tandem.workspaces.service import get_workspace_by_name

WEEKDAYS = {"Monday": 0, "Tuesday": 1, "Wednesday": 2, "Thursday": 3, "Friday": 4, "Saturday": 5}
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_seeded_hours_say_what_the_store_says() -> None:
    said = load_demo_content()["store"]["support_hours"]
    match = re.match(r"(\w+)\W+(\w+), (\d{1,2}):(\d\d)\W+(\d{1,2}):(\d\d) (CET)\b", said)
    assert match, said
    first, last = WEEKDAYS[match.group(1)], WEEKDAYS[match.group(2)]
    opens, closes = (
        f"{int(match.group(3)):02d}:{match.group(4)}",
        f"{match.group(5)}:{match.group(6)}",
    )
    schedule = hours.parse_schedule(DEMO_BUSINESS_HOURS)
    assert schedule is not None
    expected_days = {hours.DAY_NAMES[d]: [[opens, closes]] for d in range(first, last + 1)}
    assert schedule.as_dict()["days"] == expected_days
    # CET is UTC+1 (CEST in summer): the zone keeps the store's wall clock all year.
    assert BERLIN.utcoffset(datetime(2027, 1, 4)) == timedelta(hours=1)
    assert schedule.timezone == "Europe/Berlin"


def test_the_demo_workspace_is_seeded_with_those_hours(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        seed_demo(session, train=False)
    with factory() as session:
        workspace = get_workspace_by_name(session, "demo")
        settings = get_routing_settings(session, workspace.id)
    assert settings.auto_assign is True
    schedule = settings.business_hours
    monday = datetime(2027, 1, 4, tzinfo=BERLIN)  # a Monday in winter (CET)
    assert not hours.is_open(schedule, monday.replace(hour=7, minute=59))
    assert hours.is_open(schedule, monday.replace(hour=8))
    assert hours.is_open(schedule, monday.replace(hour=17, minute=59))
    assert not hours.is_open(schedule, monday.replace(hour=18))
    saturday_noon = monday + timedelta(days=5, hours=12)
    assert not hours.is_open(schedule, saturday_noon)
    reopening = hours.next_open(schedule, saturday_noon)
    assert reopening is not None
    assert reopening.astimezone(BERLIN) == monday + timedelta(days=7, hours=8)
