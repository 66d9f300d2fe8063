"""Cron timing in a timezone, and intervals: the fire times the scheduler relies on."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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
        ("0 0 L * *", "2026-02-10 00:00", "2026-02-28 00:00"),  # the last day of the month
        ("0 9 * * MON#1", "2026-11-22 00:00", "2026-12-07 09:00"),  # the first Monday
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


def oslo(epoch: int) -> str:
    """A fire time as Oslo wall clock with its offset: 02:30+02 is summer time, 02:30+01 winter."""
    return datetime.fromtimestamp(epoch, ZoneInfo("Europe/Oslo")).strftime("%H:%M%z")[:-2]


@pytest.mark.parametrize(
    ("night", "after", "until", "expected"),
    [
        # spring 2026-03-29: at 02:00+01 the clocks jump to 03:00+02; 02:00-02:59 never happen
        (
            "spring",
            "2026-03-28 23:00",  # 00:00+01
            "2026-03-29 02:00",  # 04:00+02
            ["00:30+01", "01:00+01", "01:30+01", "03:00+02", "03:30+02", "04:00+02"],
        ),
        # autumn 2026-10-25: at 03:00+02 the clocks go back to 02:00+01; 02:00-02:59 happen twice
        (
            "autumn",
            "2026-10-24 23:00",  # 01:00+02
            "2026-10-25 03:00",  # 04:00+01
            [
                *["01:30+02", "02:00+02", "02:30+02"],
                *["02:00+01", "02:30+01", "03:00+01", "03:30+01", "04:00+01"],
            ],
        ),
    ],
)
def test_every_half_hour_across_both_oslo_dst_changes(night, after, until, expected):
    """`*/30` follows the real clock: fires in both passes of the repeated hour, every 30 min."""
    cron = parse_cron("*/30 * * * *", "Europe/Oslo")
    fires = list(cron.between(utc(after), utc(until)))
    assert expected == [oslo(f) for f in fires]
    gaps = {b - a for a, b in itertools.pairwise(fires)}
    assert {1800} == gaps  # the skipped hour costs no real time, the repeated one is real time


def test_every_minute_through_the_repeated_hour_runs_both_passes():
    """Fire times only increase through a fall-back night; every real minute fires once."""
    cron = parse_cron("* * * * *", "Europe/Oslo")
    fires = list(cron.between(utc("2026-10-24 23:30"), utc("2026-10-25 02:30")))
    assert list(range(utc("2026-10-24 23:31"), utc("2026-10-25 02:30") + 1, 60)) == fires


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 * * * *", ["01:00+02", "02:00+02", "02:00+01", "03:00+01", "04:00+01"]),  # hourly
        ("30 2 * * *", ["02:30+02"]),  # a time of day: once, at its first occurrence
        ("0,30 2 * * *", ["02:00+02", "02:30+02"]),  # a list of times of day: each once
        ("0 1-3 * * *", ["01:00+02", "02:00+02", "03:00+01"]),  # a range of hours: each once
    ],
)
def test_fall_back_night_hourly_follows_the_clock_times_of_day_fire_once(expression, expected):
    """The rule: minute or hour starting with `*` runs both passes; a named time runs once."""
    cron = parse_cron(expression, "Europe/Oslo")
    fires = cron.between(utc("2026-10-24 22:30"), utc("2026-10-25 03:00"))
    assert expected == [oslo(f) for f in fires]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("15 * * * *", ["01:15+01", "03:15+02", "04:15+02"]),  # hourly: one real hour apart
        ("*/30 2 * * *", []),  # hourly-or-finer inside the skipped hour: nothing that night
        ("30 2 * * *", ["03:00+02"]),  # a time of day: at the jump
    ],
)
def test_spring_night_hourly_follows_the_clock_times_of_day_fire_at_the_jump(expression, expected):
    """The rule on 2026-03-29 in Oslo (02:00-02:59 never happen)."""
    cron = parse_cron(expression, "Europe/Oslo")
    fires = cron.between(utc("2026-03-28 23:30"), utc("2026-03-29 02:30"))
    assert expected == [oslo(f) for f in fires]


def test_started_inside_the_repeated_hour_a_time_already_fired_waits_a_day():
    """At 02:45+01 (the second pass), 02:30 already fired at 02:30+02: next is tomorrow."""
    cron = parse_cron("30 2 * * *", "Europe/Oslo")
    assert "2026-10-26 01:30" == iso(cron.next_after(utc("2026-10-25 01:45")))
    assert "2026-10-25 01:30" == iso(
        parse_cron("30 * * * *", "Europe/Oslo").next_after(utc("2026-10-25 01:15"))
    )


def test_skipped_times_of_day_collapse_into_one_fire_at_the_jump():
    """02:15 and 02:45 do not exist on 2026-03-29: one run at 03:00+02, not two."""
    cron = parse_cron("15,45 2 * * *", "Europe/Oslo")
    fires = [iso(f) for f in cron.between(utc("2026-03-28 12:00"), utc("2026-03-30 12:00"))]
    assert ["2026-03-29 01:00", "2026-03-30 00:15", "2026-03-30 00:45"] == fires


def test_a_date_that_never_comes_is_refused():
    """February 30th: refused when written, with what to do instead."""
    with pytest.raises(ParseError) as caught:
        parse_cron("0 0 30 2 *", "UTC")
    assert "never fires: no month it names has that day" in str(caught.value)


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
        ("0 3 * * 5L/2", "UTC", "the day of week field `5L/2`"),
        ("0 3 * * * *", "UTC", "has 6 field(s); it needs 5"),
    ],
)
def test_bad_cron_says_which_field_and_how_to_fix_it(expression, timezone, fragment):
    """Each mistake names the field and the allowed forms."""
    with pytest.raises(ParseError) as caught:
        parse_cron(expression, timezone)
    assert fragment in str(caught.value)
