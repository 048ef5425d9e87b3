"""Business hours: when the desk is open, in the workspace's own timezone (pure, no database).

A schedule is stored as ``{"timezone": "Europe/Berlin", "days": {"mon": [["09:00", "17:00"]]}}``.
A day that is missing or has an empty list is closed. A window whose end is not after its
start runs overnight into the next day (``["22:00", "06:00"]``); ``"24:00"`` ends at midnight.
No schedule at all (``None``) means always open. Windows are wall-clock times, so a 09:00 start
stays 09:00 local across daylight-saving changes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tandem.core.errors import ValidationError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_WINDOWS_PER_DAY = 6
# How far ahead we look for an opening; a schedule with no window at all never opens.
HORIZON_DAYS = 366
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True)
class Window:
    """One opening on a weekday, in minutes after local midnight (end may pass 1440)."""

    start: int
    end: int


@dataclass(frozen=True)
class Schedule:
    """A validated weekly schedule; `days[0]` is Monday."""

    timezone: str
    days: tuple[tuple[Window, ...], ...]

    @property
    def zone(self) -> ZoneInfo:
        """Return the schedule's timezone."""
        return ZoneInfo(self.timezone)

    def as_dict(self) -> dict[str, Any]:
        """Return the stored (JSON) form."""
        return {
            "timezone": self.timezone,
            "days": {
                DAY_NAMES[i]: [[_clock(w.start), _clock(w.end % 1440 or 1440)] for w in windows]
                for i, windows in enumerate(self.days)
                if windows
            },
        }


ScheduleLike = Schedule | Mapping[str, Any] | None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(value: object, where: str) -> int:
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValidationError(f"{where}: {value!r} is not a time like '09:00' (00:00-24:00)")
    hours, mins = value.split(":")
    return int(hours) * 60 + int(mins)


def _window(pair: object, where: str) -> Window:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise ValidationError(f"{where}: each window must be a pair [start, end]")
    start, end = _minutes(pair[0], where), _minutes(pair[1], where)
    if start == 1440:
        raise ValidationError(f"{where}: a window cannot start at 24:00")
    if start == end:
        raise ValidationError(f"{where}: start and end must differ")
    if end <= start:
        end += 1440  # overnight: ends the next day
    return Window(start=start, end=end)


def parse_schedule(raw: object) -> Schedule | None:
    """Return a validated schedule (None = always open), or raise ValidationError saying why."""
    if raw is None:
        return None
    if isinstance(raw, Schedule):
        return raw
    if not isinstance(raw, Mapping):
        raise ValidationError("business_hours must be an object with 'timezone' and 'days'")
    unknown = set(raw) - {"timezone", "days"}
    if unknown:
        raise ValidationError(f"business_hours: unknown keys {sorted(unknown)}")
    tz_name = raw.get("timezone")
    if not isinstance(tz_name, str) or not tz_name:
        raise ValidationError("business_hours.timezone must be an IANA name like 'Europe/Berlin'")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"business_hours.timezone: unknown timezone {tz_name!r}") from exc
    days_raw = raw.get("days", {})
    if not isinstance(days_raw, Mapping):
        raise ValidationError("business_hours.days must map 'mon'..'sun' to lists of windows")
    bad_days = set(days_raw) - set(DAY_NAMES)
    if bad_days:
        raise ValidationError(
            f"business_hours.days: unknown days {sorted(bad_days)}; use {', '.join(DAY_NAMES)}"
        )
    days: list[tuple[Window, ...]] = []
    for name in DAY_NAMES:
        pairs = days_raw.get(name) or []
        if not isinstance(pairs, list):
            raise ValidationError(f"business_hours.days.{name} must be a list of [start, end]")
        if len(pairs) > MAX_WINDOWS_PER_DAY:
            raise ValidationError(
                f"business_hours.days.{name}: at most {MAX_WINDOWS_PER_DAY} windows a day"
            )
        windows = sorted(
            (_window(p, f"business_hours.days.{name}") for p in pairs), key=lambda w: w.start
        )
        days.append(tuple(windows))
    return Schedule(timezone=tz_name, days=tuple(days))


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    # fold=0: a wall-clock time that does not exist (spring forward) lands just after the gap;
    # an ambiguous one (fall back) means its first occurrence.
    extra, within = divmod(minutes, 1440)
    moment = datetime.combine(day + timedelta(days=extra), time(within // 60, within % 60))
    return moment.replace(tzinfo=zone).astimezone(UTC)


def open_intervals(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Yield the open periods (UTC, merged, in order) that end after `start`, up to the horizon."""
    zone = schedule.zone
    first_day = start.astimezone(zone).date() - timedelta(days=1)  # overnight windows of yesterday
    pending: tuple[datetime, datetime] | None = None
    for offset in range(HORIZON_DAYS + 2):
        day = first_day + timedelta(days=offset)
        for window in schedule.days[day.weekday()]:
            opens, closes = _local(day, window.start, zone), _local(day, window.end, zone)
            if closes <= start or closes <= opens:
                continue
            if pending is not None and opens <= pending[1]:
                pending = (pending[0], max(pending[1], closes))
                continue
            if pending is not None:
                yield pending
            pending = (opens, closes)
    if pending is not None:
        yield pending


def is_open(schedule: ScheduleLike, now: datetime) -> bool:
    """Return whether the desk is open at `now` (always, when there is no schedule)."""
    parsed = parse_schedule(schedule)
    if parsed is None:
        return True
    for opens, closes in open_intervals(parsed, now):
        return opens <= now < closes
    return False


def next_open(schedule: ScheduleLike, now: datetime) -> datetime | None:
    """Return `now` if open, else the next opening moment; None if the schedule never opens.

    The moment is given in the schedule's own timezone, so that is the zone customers are told.
    """
    parsed = parse_schedule(schedule)
    if parsed is None:
        return now
    for opens, _closes in open_intervals(parsed, now):
        return max(opens, now).astimezone(parsed.zone)
    return None


def add_open_minutes(schedule: ScheduleLike, start: datetime, minutes: float) -> datetime | None:
    """Return when `minutes` of open time have passed after `start` (None: never, closed desk)."""
    parsed = parse_schedule(schedule)
    if parsed is None:
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=minutes)
    for opens, closes in open_intervals(parsed, start):
        begin = max(opens, start)
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    return None


def minutes_until(later: datetime, now: datetime) -> int:
    """Return whole minutes from `now` to `later`, rounded up (never negative)."""
    return max(0, math.ceil((later - now).total_seconds() / 60))
