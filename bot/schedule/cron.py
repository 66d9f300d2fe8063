"""When a schedule fires: cron expressions in an IANA timezone, or a fixed interval. Pure.

Cron follows the five classic fields (minute hour day-of-month month
day-of-week) in the schedule's local time, with two rules for DST changes:

- a local time the clocks skip (02:30 on a spring-forward night in Europe/Oslo)
  fires at the first minute after the jump (03:00 local), once;
- a local time the clocks repeat (02:30 on a fall-back night) fires once, at
  its first occurrence.

As in classic cron, when both day-of-month and day-of-week are restricted, a
day matching either one fires. ``every 10m`` fires at multiples of the
interval since the Unix epoch, so every replica computes the same fire times.

We keep our own parser rather than croniter: these DST rules are the
contract the scheduler documents and tests, and a library's DST behaviour is
exactly what has changed between its releases.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.platform import formatting
from bot.platform.errors import ParseError
from bot.schedule import text as schedule_text

_NAMES = {
    "month": {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name},
    "weekday": {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6},
}
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELDS = (  # name, low, high, names
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, "month"),
    ("day of week", 0, 7, "weekday"),
)
_ITEM = re.compile(r"(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(\d{1,2}))?")
MAX_SCAN_DAYS = 366 * 5  # "30 2 30 2 *" (February 30th) never fires: stop looking


@dataclass(frozen=True)
class Cron:
    expression: str
    timezone: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is *
    any_weekday: bool  # day of week is *

    def describe(self) -> str:
        return f'cron "{self.expression}" {self.timezone}'

    def next_after(self, after: int) -> int | None:
        """The first fire time strictly after ``after`` (epoch seconds), or None if none."""
        tz = zoneinfo.ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(after, tz).replace(tzinfo=None, second=0, microsecond=0)
        # Local -> epoch never decreases, so no earlier local time can fire after `after`.
        for candidate in self._local_matches(local):
            fire = _to_epoch(candidate, tz)
            if fire > after:
                return fire
        return None

    def between(self, after: int, until: int) -> Iterator[int]:
        """Fire times in (after, until], oldest first, each once."""
        current = after
        while True:
            fire = self.next_after(current)
            if fire is None or fire > until:
                return
            yield fire
            current = fire

    def _day_matches(self, day: datetime) -> bool:
        weekday = (day.weekday() + 1) % 7
        in_month = day.day in self.days
        in_week = weekday in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return in_week
        if self.any_weekday:
            return in_month
        return in_month or in_week

    def _local_matches(self, start: datetime) -> Iterator[datetime]:
        day = start.replace(hour=0, minute=0)
        for _ in range(MAX_SCAN_DAYS):
            if day.month in self.months and self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        moment = day.replace(hour=hour, minute=minute)
                        if moment >= start:
                            yield moment
            day += timedelta(days=1)


@dataclass(frozen=True)
class Every:
    seconds: int

    def describe(self) -> str:
        return f"every {formatting.seconds_text(self.seconds)}"

    def next_after(self, after: int) -> int | None:
        return (after // self.seconds + 1) * self.seconds

    def between(self, after: int, until: int) -> Iterator[int]:
        fire = (after // self.seconds + 1) * self.seconds
        while fire <= until:
            yield fire
            fire += self.seconds


Timing = Cron | Every


def _to_epoch(local: datetime, tz: zoneinfo.ZoneInfo) -> int:
    """A local wall-clock time as epoch seconds; skipped times move to the end of the gap."""
    moment = local
    for _ in range(24 * 60):
        aware = moment.replace(tzinfo=tz, fold=0)
        back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back == moment:  # exists (first occurrence when repeated)
            return int(aware.timestamp())
        moment += timedelta(minutes=1)
    raise AssertionError(f"no valid local time near {local} in {tz}")  # pragma: no cover


def parse_cron(expression: str, timezone: str) -> Cron:
    """A five-field cron expression (or @daily, @weekly...) in ``timezone``; ParseError if bad."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ParseError(schedule_text.bad_timezone(timezone)) from None
    text = _MACROS.get(expression.strip().lower(), expression.strip())
    fields = text.split()
    if len(fields) != 5:
        raise ParseError(schedule_text.cron_field_count(expression, len(fields)))
    sets = [
        _parse_field(raw, name, low, high, names, expression)
        for raw, (name, low, high, names) in zip(fields, _FIELDS, strict=True)
    ]
    weekdays = frozenset(0 if d == 7 else d for d in sets[4])  # 7 is Sunday too
    return Cron(
        expression=" ".join(fields),
        timezone=timezone,
        minutes=sets[0],
        hours=sets[1],
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        any_day=fields[2] == "*",
        any_weekday=fields[4] == "*",
    )


def _parse_field(
    raw: str, name: str, low: int, high: int, names: str | None, expression: str
) -> frozenset[int]:
    values: set[int] = set()
    for item in raw.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ParseError(schedule_text.cron_bad_field(expression, name, raw, low, high))
        span, step_text = match.groups()
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = low, high
        else:
            parts = span.split("-")
            numbers = [_number(p, names, name, low, high, expression, raw) for p in parts]
            first, last = numbers[0], numbers[-1]
            if len(parts) == 1 and step_text:
                last = high
        if step < 1 or first > last:
            raise ParseError(schedule_text.cron_bad_field(expression, name, raw, low, high))
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(
    part: str, names: str | None, name: str, low: int, high: int, expression: str, raw: str
) -> int:
    if names and part.upper() in _NAMES[names]:
        return _NAMES[names][part.upper()]
    if part.isascii() and part.isdigit() and low <= int(part) <= high:
        return int(part)
    raise ParseError(schedule_text.cron_bad_field(expression, name, raw, low, high))
