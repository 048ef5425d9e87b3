"""Business hours: open/closed, next opening and open-time arithmetic, across DST and midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tandem.core.errors import ValidationError
from tandem.routing.hours import add_open_minutes, is_open, next_open, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = {
    "timezone": "Europe/Berlin",
    "days": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def test_no_schedule_means_always_open() -> None:
    now = datetime(2024, 1, 6, 3, 0, tzinfo=UTC)
    assert is_open(None, now)
    assert next_open(None, now) == now
    assert add_open_minutes(None, now, 90) == now + timedelta(minutes=90)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2024, 1, 8, 8, 59), False),  # Monday just before opening
        ((2024, 1, 8, 9, 0), True),  # opening minute is open
        ((2024, 1, 8, 16, 59), True),
        ((2024, 1, 8, 17, 0), False),  # closing minute is closed
        ((2024, 1, 6, 12, 0), False),  # Saturday: no entry, closed
    ],
)
def test_weekday_window_in_local_time(local: tuple[int, ...], expected: bool) -> None:
    assert is_open(WEEKDAYS_9_TO_5, berlin(*local)) is expected


def test_next_open_skips_the_weekend() -> None:
    friday_evening = berlin(2024, 1, 5, 18, 0)
    assert next_open(WEEKDAYS_9_TO_5, friday_evening) == berlin(2024, 1, 8, 9, 0)


def test_next_open_is_now_while_open() -> None:
    now = berlin(2024, 1, 8, 10, 30)
    assert next_open(WEEKDAYS_9_TO_5, now) == now


def test_opening_hour_stays_local_across_spring_forward() -> None:
    # Berlin moves to summer time on Sunday 31 March 2024: 09:00 local is 07:00 UTC after it.
    before = next_open(WEEKDAYS_9_TO_5, datetime(2024, 3, 29, 20, 0, tzinfo=UTC))
    assert before == datetime(2024, 4, 1, 7, 0, tzinfo=UTC)
    assert next_open(WEEKDAYS_9_TO_5, datetime(2024, 3, 28, 6, 0, tzinfo=UTC)) == datetime(
        2024, 3, 28, 8, 0, tzinfo=UTC
    )


def test_window_in_the_skipped_hour_opens_after_the_gap() -> None:
    schedule = {"timezone": "Europe/Berlin", "days": {"sun": [["02:30", "04:00"]]}}
    opening = next_open(schedule, datetime(2024, 3, 30, 12, 0, tzinfo=UTC))
    assert opening is not None
    assert opening.astimezone(BERLIN).hour == 3  # 02:30 never happens that night
    assert is_open(schedule, opening)


def test_fall_back_night_window_lasts_an_hour_longer() -> None:
    # Berlin returns to winter time on Sunday 27 October 2024 at 03:00 (clocks go to 02:00).
    schedule = {"timezone": "Europe/Berlin", "days": {"sat": [["22:00", "06:00"]]}}
    start = next_open(schedule, datetime(2024, 10, 26, 12, 0, tzinfo=UTC))
    assert start == datetime(2024, 10, 26, 20, 0, tzinfo=UTC)
    # 8 wall-clock hours, 9 real hours: 9 hours of open time end exactly at closing.
    assert add_open_minutes(schedule, start, 9 * 60) == datetime(2024, 10, 27, 5, 0, tzinfo=UTC)


def test_overnight_window_is_open_after_midnight_of_the_next_day() -> None:
    night_shift = {"timezone": "Europe/Berlin", "days": {"fri": [["22:00", "06:00"]]}}
    assert is_open(night_shift, berlin(2024, 1, 5, 23, 0))  # Friday night
    assert is_open(night_shift, berlin(2024, 1, 6, 5, 59))  # Saturday morning, Friday's shift
    assert not is_open(night_shift, berlin(2024, 1, 6, 6, 0))
    assert not is_open(night_shift, berlin(2024, 1, 6, 23, 0))  # Saturday has no shift


def test_24_hours_and_back_to_back_windows_merge() -> None:
    schedule = {
        "timezone": "UTC",
        "days": {"mon": [["00:00", "24:00"]], "tue": [["00:00", "12:00"]]},
    }
    monday = datetime(2024, 1, 8, 20, 0, tzinfo=UTC)
    # 10 hours of open time from Monday 20:00 run straight through midnight.
    assert add_open_minutes(schedule, monday, 10 * 60) == datetime(2024, 1, 9, 6, 0, tzinfo=UTC)


def test_open_minutes_pause_while_closed() -> None:
    friday_1645 = berlin(2024, 1, 5, 16, 45)
    # 15 minutes left on Friday, 15 more on Monday morning.
    assert add_open_minutes(WEEKDAYS_9_TO_5, friday_1645, 30) == berlin(2024, 1, 8, 9, 15)
    saturday = berlin(2024, 1, 6, 12, 0)
    assert add_open_minutes(WEEKDAYS_9_TO_5, saturday, 15) == berlin(2024, 1, 8, 9, 15)


def test_a_schedule_without_windows_never_opens() -> None:
    closed = {"timezone": "Europe/Berlin", "days": {}}
    now = datetime(2024, 1, 8, 10, 0, tzinfo=UTC)
    assert not is_open(closed, now)
    assert next_open(closed, now) is None
    assert add_open_minutes(closed, now, 5) is None


def test_parsed_schedule_round_trips() -> None:
    raw = {
        "timezone": "America/New_York",
        "days": {"sat": [["22:00", "06:00"], ["10:00", "24:00"]]},
    }
    parsed = parse_schedule(raw)
    assert parsed is not None
    assert parsed.as_dict() == {
        "timezone": "America/New_York",
        "days": {"sat": [["10:00", "24:00"], ["22:00", "06:00"]]},
    }
    assert parse_schedule(parsed.as_dict()) == parsed


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9-5", "must be an object"),
        ({"days": {}}, "timezone"),
        ({"timezone": "Mars/Olympus", "days": {}}, "unknown timezone"),
        ({"timezone": "UTC", "days": {"monday": [["09:00", "17:00"]]}}, "unknown days"),
        ({"timezone": "UTC", "days": {"mon": [["9:00", "17:00"]]}}, "not a time"),
        ({"timezone": "UTC", "days": {"mon": [["09:00", "25:00"]]}}, "not a time"),
        ({"timezone": "UTC", "days": {"mon": [["09:00"]]}}, "pair"),
        ({"timezone": "UTC", "days": {"mon": [["09:00", "09:00"]]}}, "must differ"),
        ({"timezone": "UTC", "days": {"mon": [["24:00", "09:00"]]}}, "cannot start at 24:00"),
        ({"timezone": "UTC", "days": {"mon": "09:00-17:00"}}, "list"),
        ({"timezone": "UTC", "days": {}, "holidays": []}, "unknown keys"),
    ],
)
def test_bad_schedules_are_refused_with_a_reason(raw: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_schedule(raw)


def test_the_next_opening_is_told_in_the_schedule_s_own_timezone() -> None:
    from datetime import UTC, datetime

    from tandem.handoff.service import _when
    from tandem.routing.hours import next_open

    schedule = {"timezone": "Europe/Berlin", "days": {"mon": [["08:00", "18:00"]]}}
    opens = next_open(schedule, datetime(2026, 12, 4, 1, 0, tzinfo=UTC))  # a Friday night
    assert opens is not None and opens.utcoffset() is not None
    assert opens == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # the same moment as before
    assert _when(opens) == "Monday 08:00 (Europe/Berlin)"  # what the customer reads
