"""Cron timing in a timezone, and intervals: the fire times the scheduler relies on."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from bot.platform.errors import ParseError
from bot.schedule.cron import Every, parse_cron


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 3 * * SUN", "2026-11-22 02:30", "2026-11-22 03:00"),  # a Sunday
        ("0 3 * * SUN", "2026-11-22 03:00", "2026-11-29 03:00"),  # strictly after
        ("*/15 * * * *", "2026-11-22 10:07", "2026-11-22 10:15"),
        ("30 8 1,15 * *", "2026-11-15 09:00", "2026-12-01 08:30"),
        ("0 0 * * 1-5", "2026-11-21 12:00", "2026-11-23 00:00"),  # Saturday -> Monday
        ("0 0 * * 7", "2026-11-22 12:00", "2026-11-29 00:00"),  # 7 is Sunday too
        ("0 12 13 * FRI", "2026-11-01 00:00", "2026-11-06 12:00"),  # dom OR dow, as in cron
        ("@weekly", "2026-11-22 12:00", "2026-11-29 00:00"),
        ("0 9 * JAN MON", "2026-11-22 00:00", "2027-01-04 09:00"),
        ("59 23 31 12 *", "2026-12-31 23:59", "2027-12-31 23:59"),
    ],
)
def test_next_fire_time_in_utc(expression, after, expected):
    """Classic five-field cron: names, ranges, lists, steps, macros, dom-or-dow."""
    assert expected == iso(parse_cron(expression, "UTC").next_after(utc(after)))


def test_weekly_run_keeps_its_local_time_across_the_dst_change():
    """03:00 Oslo on Sundays is 01:00 UTC in summer and 02:00 UTC in winter."""
    cron = parse_cron("0 3 * * SUN", "Europe/Oslo")
    fires = [iso(f) for f in cron.between(utc("2026-10-17 00:00"), utc("2026-11-02 00:00"))]
    assert ["2026-10-18 01:00", "2026-10-25 02:00", "2026-11-01 02:00"] == fires
    spring = [iso(f) for f in cron.between(utc("2026-03-21 00:00"), utc("2026-04-06 00:00"))]
    assert ["2026-03-22 02:00", "2026-03-29 01:00", "2026-04-05 01:00"] == spring


def test_a_time_the_clocks_skip_fires_once_at_the_jump():
    """02:30 does not exist on 2026-03-29 in Oslo: the run happens at 03:00 local, once."""
    cron = parse_cron("30 2 * * *", "Europe/Oslo")
    fires = [iso(f) for f in cron.between(utc("2026-03-27 12:00"), utc("2026-03-30 12:00"))]
    # 02:30 CET = 01:30 UTC; the jump 02:00 -> 03:00 CEST is 01:00 UTC; 02:30 CEST = 00:30 UTC
    assert ["2026-03-28 01:30", "2026-03-29 01:00", "2026-03-30 00:30"] == fires


def test_a_time_the_clocks_repeat_fires_once():
    """02:30 happens twice on 2026-10-25 in Oslo: the run happens at the first one only."""
    cron = parse_cron("30 2 * * *", "Europe/Oslo")
    fires = [iso(f) for f in cron.between(utc("2026-10-24 12:00"), utc("2026-10-26 12:00"))]
    assert ["2026-10-25 00:30", "2026-10-26 01:30"] == fires


def test_every_minute_through_the_repeated_hour_never_goes_back():
    """Fire times only increase through a fall-back night; none is produced twice."""
    cron = parse_cron("* * * * *", "Europe/Oslo")
    fires = list(cron.between(utc("2026-10-24 23:30"), utc("2026-10-25 02:30")))
    gaps = [b - a for a, b in itertools.pairwise(fires)]
    assert sorted(set(fires)) == fires
    # 02:00-02:59 local run once (00:00-00:59 UTC); the repeat hour runs nothing: one 61-min gap
    assert [3660] == [g for g in gaps if g != 60]


def test_a_date_that_never_comes_never_fires():
    """February 30th: no fire time, and the search stops."""
    assert None is parse_cron("0 0 30 2 *", "UTC").next_after(utc("2026-01-01 00:00"))


def test_every_is_anchored_to_the_epoch():
    """Every replica computes the same interval fire times, whenever it started."""
    every = Every(600)
    assert utc("2026-11-22 10:10") == every.next_after(utc("2026-11-22 10:03"))
    assert [utc("2026-11-22 10:10"), utc("2026-11-22 10:20")] == list(
        every.between(utc("2026-11-22 10:00"), utc("2026-11-22 10:20"))
    )


@pytest.mark.parametrize(
    ("expression", "timezone", "fragment"),
    [
        ("0 3 * *", "UTC", "has 4 field(s); it needs 5"),
        ("61 3 * * *", "UTC", "the minute field `61`"),
        ("0 3 * * FUNDAY", "UTC", "the day of week field `FUNDAY`"),
        ("0 5-2 * * *", "UTC", "the hour field `5-2`"),
        ("*/0 * * * *", "UTC", "the minute field `*/0`"),
        ("0 3 * * SUN", "Mars/Olympus", "`Mars/Olympus` is not an IANA timezone"),
        ("0 3 * * SUN", "../../etc/passwd", "is not an IANA timezone"),
    ],
)
def test_bad_cron_says_which_field_and_how_to_fix_it(expression, timezone, fragment):
    """Each mistake names the field and the allowed forms."""
    with pytest.raises(ParseError) as caught:
        parse_cron(expression, timezone)
    assert fragment in str(caught.value)
