"""When a schedule fires: cron expressions in an IANA timezone, or a fixed interval. Pure.

Cron is the five classic fields (minute hour day-of-month month day-of-week) in the
schedule's local time, parsed and evaluated by cronsim, which follows Debian's cron to the
letter, DST changes included. Two kinds of expression meet a DST change differently:

- **At a time of day** (neither the minute nor the hour field starts with ``*``: ``30 2 * * *``,
  ``0 9 * * MON``, ``0,30 2 * * *``, ``0 1-5 * * *``): a time the clocks skip (02:30 on a
  spring-forward night in Europe/Oslo) fires at the jump (03:00 local), once; a time the
  clocks repeat (02:30 on a fall-back night) fires once, at its first occurrence. A daily
  job runs once a day, whatever the clocks do.
- **Hourly or finer** (the minute or the hour field starts with ``*``: ``*/30 * * * *``,
  ``15 * * * *``, ``0 */2 * * *``): it follows the clock as it really runs. Through the
  repeated hour of a fall-back night it fires at each matching minute in both passes
  (``*/30``: 02:00+02, 02:30+02, 02:00+01, 02:30+01, 03:00+01), so real time between
  fires stays the same; minutes the clocks skip do not happen and fire nothing (``*/30``
  goes from 01:30+01 to 03:00+02, half an hour of real time). An expression of this kind
  restricted to a skipped hour (``*/30 2 * * *``) does not fire on that night.

When both day-of-month and day-of-week are restricted (neither starts with ``*``), a day
matching either one fires, as in cron. ``every 10m`` fires at multiples of the interval
since the Unix epoch, so every replica computes the same fire times.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from cronsim import CronSim, CronSimError

from bot.platform import formatting
from bot.platform.errors import ParseError
from bot.schedule import text as schedule_text

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
# cronsim's "Bad <field>" names -> (position, our name, lowest, highest)
_FIELDS = {
    "minute": (0, "minute", 0, 59),
    "hour": (1, "hour", 0, 23),
    "day-of-month": (2, "day of month", 1, 31),
    "month": (3, "month", 1, 12),
    "day-of-week": (4, "day of week", 0, 7),
}


@dataclass(frozen=True)
class Cron:
    expression: str
    timezone: str

    def describe(self) -> str:
        return f'cron "{self.expression}" {self.timezone}'

    def next_after(self, after: int) -> int | None:
        """The first fire time strictly after ``after`` (epoch seconds), or None if none."""
        return next(self._fires(after), None)

    def between(self, after: int, until: int) -> Iterator[int]:
        """Fire times in (after, until], oldest first, each once."""
        for fire in self._fires(after):
            if fire > until:
                return
            yield fire

    def _fires(self, after: int) -> Iterator[int]:
        """Fire times after ``after``, strictly increasing; ends if none comes in 50 years."""
        start = datetime.fromtimestamp(after, zoneinfo.ZoneInfo(self.timezone))
        last = after
        # A time-of-day expression is walked in local wall-clock time: started inside the
        # repeated hour it can name the first pass, already behind us; those are dropped.
        for moment in CronSim(self.expression, start):
            fire = int(moment.timestamp())
            if fire > last:
                yield fire
                last = fire


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


def parse_cron(expression: str, timezone: str) -> Cron:
    """A five-field cron expression (or @daily, @weekly...) in ``timezone``; ParseError if bad."""
    try:
        tz = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ParseError(schedule_text.bad_timezone(timezone)) from None
    text = _MACROS.get(expression.strip().lower(), expression.strip())
    fields = text.split()
    if len(fields) != 5:
        raise ParseError(schedule_text.cron_field_count(expression, len(fields)))
    normal = " ".join(fields)
    try:
        CronSim(normal, datetime.now(tz))
    except (CronSimError, AssertionError) as exc:  # cronsim asserts on a few odd forms (5L/2)
        raise ParseError(_explain(expression, fields, str(exc))) from None
    return Cron(expression=normal, timezone=timezone)


def _explain(expression: str, fields: list[str], problem: str) -> str:
    """Which field cronsim refused, or that the date it names never comes."""
    named = _FIELDS.get(problem.removeprefix("Bad "))
    if named is None:  # not a "Bad <field>": find the field that fails on its own
        named = next((f for f in _FIELDS.values() if not _alone_ok(fields, f[0])), None)
    if named is None:
        return schedule_text.cron_never(expression)
    position, name, low, high = named
    if position == 2 and _alone_ok(fields, position):  # a valid day no month named has
        return schedule_text.cron_never(expression)
    return schedule_text.cron_bad_field(expression, name, fields[position], low, high)


def _alone_ok(fields: list[str], position: int) -> bool:
    """Whether the field at ``position`` parses with every other field ``*``."""
    probe = ["*"] * 5
    probe[position] = fields[position]
    try:
        CronSim(" ".join(probe), datetime(2026, 1, 1))
    except (CronSimError, AssertionError):
        return False
    return True
