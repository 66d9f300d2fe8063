"""The ledger's hard cases, through the commands people type, against hand-computed figures:
a DST week in Oslo, ISO week 53 across the year boundary, a timer overlapping a log, a timer
left running over a weekend, and an edit to a past week changing that week's report."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bot.pipeline.builtins import toil as commands
from bot.toil.ledger import Ledger
from bot.toil.model import Kind, Source
from bot.toil.report import week_figures
from bot.toil.weeks import previous, week_bounds
from tests.conftest import ADMIN, OPERATOR, write_config

OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
HOUR = 3600.0


def oslo(*args: int) -> float:
    return dt.datetime(*args, tzinfo=OSLO).timestamp()


@pytest.fixture
def settings(tmp_path):
    from bot.config.settings import load_settings

    return load_settings({"TOILBOT_CONFIG": str(write_config(tmp_path, timezone="Europe/Oslo"))})


def say(ledger, settings, text, now, user=ADMIN):
    return commands.run(ledger, settings, user, text.split(), now)


def hours(figures, user=None):
    part = figures["team"] if user is None else figures["people"][user]
    return part["operating_hours"], part["coding_hours"], part["ratio"]


def test_a_dst_week_in_oslo(r, settings):
    """2026-W13 has 167 hours; 01:00-04:00 on the night clocks go forward is 2 hours, and an
    entry crossing into Monday counts only its part before local midnight."""
    ledger = Ledger(r)
    now = oslo(2026, 4, 1, 12)
    assert "2h of operating (incident) from Sun 29 Mar 01:00" in say(
        ledger, settings, "log 01:00-04:00 operating incident on 2026-03-29", now
    )
    say(ledger, settings, "log 4h coding automation on 2026-03-27", now)
    # Sunday 22:00 CEST to Monday 02:00 CEST: 2 h in W13, 2 h in W14.
    ledger.add(
        ADMIN,
        Kind.OPERATING,
        "on-call",
        oslo(2026, 3, 29, 22),
        oslo(2026, 3, 30, 2),
        "Europe/Oslo",
        Source.LOG,
    )
    start, end = week_bounds(2026, 13, "Europe/Oslo")
    assert 167 * HOUR == end - start
    assert (4.0, 4.0, 0.5) == hours(week_figures(ledger, 2026, 13, "Europe/Oslo"))
    assert (2.0, 0.0, None) == hours(week_figures(ledger, 2026, 14, "Europe/Oslo"), ADMIN)


def test_iso_week_53_and_the_year_boundary(r, settings):
    """2026-W53 runs Monday 28 December 2026 to Sunday 3 January 2027; the Monday after is
    2027-W01, whose previous week is 2026-W53."""
    ledger = Ledger(r)
    now = oslo(2027, 1, 5, 12)
    say(ledger, settings, "log 09:00-12:00 operating patching on 2026-12-31", now)
    say(ledger, settings, "log 5h coding automation on 2027-01-02", now)
    say(ledger, settings, "log 09:00-10:00 operating incident on 2027-01-04", now)
    assert (2026, 53) == previous(2027, 1)
    assert (oslo(2026, 12, 28), oslo(2027, 1, 4)) == week_bounds(2026, 53, "Europe/Oslo")
    assert (3.0, 5.0, 0.375) == hours(week_figures(ledger, 2026, 53, "Europe/Oslo"))
    assert (1.0, 0.0) == hours(week_figures(ledger, 2027, 1, "Europe/Oslo"), ADMIN)[:2]
    report = say(ledger, settings, "report --weeks 2", now)
    assert "2026-W53" in report and "2027-W01" in report
    assert "38%" in report  # 3 / 8, the only week with data


def test_a_timer_and_a_log_over_the_same_hour_count_it_once(r, settings):
    """A 3-hour operating timer with a 1-hour coding log inside it: 2 h operating, 1 h coding,
    3 h in all (the log, recorded later, decides the hour they share)."""
    ledger = Ledger(r)
    say(ledger, settings, "start operating interrupts", oslo(2026, 11, 17, 9))
    say(ledger, settings, "stop", oslo(2026, 11, 17, 12))
    say(ledger, settings, "log 10:00-11:00 coding automation", oslo(2026, 11, 17, 12, 5))
    # Someone else's timer at the same time is their own time, counted for them.
    say(ledger, settings, "start coding", oslo(2026, 11, 17, 9), OPERATOR)
    say(ledger, settings, "stop", oslo(2026, 11, 17, 12), OPERATOR)
    figures = week_figures(ledger, 2026, 47, "Europe/Oslo")
    assert (2.0, 1.0, None) == hours(figures, ADMIN)  # 3 h: under 4 h, no ratio
    assert (0.0, 3.0, None) == hours(figures, OPERATOR)


def test_a_timer_left_running_over_the_weekend(r, settings):
    """Started Friday 17:00 and stopped Monday 09:00: it counts the 4-hour limit, in the week it
    started; a timer kept going at 21:30 counts to 01:30 Saturday instead."""
    ledger = Ledger(r)
    say(ledger, settings, "start operating on-call", oslo(2026, 11, 20, 17))
    reply = say(ledger, settings, "stop", oslo(2026, 11, 23, 9))
    assert "4h of operating (on-call)" in reply and "counts only up to the limit" in reply
    assert (4.0, 0.0) == hours(week_figures(ledger, 2026, 47, "Europe/Oslo"), ADMIN)[:2]
    assert {} == week_figures(ledger, 2026, 48, "Europe/Oslo")["people"]

    say(ledger, settings, "start operating incident", oslo(2026, 11, 27, 17), OPERATOR)
    assert [(OPERATOR, oslo(2026, 11, 27, 21))] == ledger.overdue(oslo(2026, 11, 27, 21, 30))
    kept = ledger.keep(OPERATOR, oslo(2026, 11, 27, 17), oslo(2026, 11, 27, 21, 30), 4 * HOUR)
    assert kept is not None and oslo(2026, 11, 28, 1, 30) == kept.until
    assert [] == ledger.overdue(oslo(2026, 11, 28, 1))
    say(ledger, settings, "stop", oslo(2026, 11, 30, 9), OPERATOR)
    assert (8.5, 0.0) == hours(week_figures(ledger, 2026, 48, "Europe/Oslo"), OPERATOR)[:2]


def test_an_edit_to_a_past_week_changes_its_report(r, settings):
    """Turning last week's 2 h of operating into coding moves that week from 50% to 0%;
    this week's figures stay; undo brings the 50% back."""
    ledger = Ledger(r)
    now = oslo(2026, 11, 18, 15)
    logged = say(ledger, settings, "log 2h operating incident on 2026-11-10", now)
    entry_id = int(logged.split()[2].rstrip(":"))
    say(ledger, settings, "log 2h coding automation on 2026-11-11", now)
    say(ledger, settings, "log 3h operating patching on monday", now)
    say(ledger, settings, "log 3h coding on tuesday", now)
    assert (2.0, 2.0, 0.5) == hours(week_figures(ledger, 2026, 46, "Europe/Oslo"))
    say(ledger, settings, f"edit {entry_id} kind=coding", now)
    assert (0.0, 4.0, 0.0) == hours(week_figures(ledger, 2026, 46, "Europe/Oslo"))
    assert (3.0, 3.0, 0.5) == hours(week_figures(ledger, 2026, 47, "Europe/Oslo"))
    assert "Week on week: +50 points" in say(ledger, settings, "report --weeks 2", now)
    say(ledger, settings, "undo", now)
    assert (2.0, 2.0, 0.5) == hours(week_figures(ledger, 2026, 46, "Europe/Oslo"))


def test_report_for_one_person_and_for_the_team(r, settings):
    """`report @user` (a Slack mention or a plain id) shows that person's weeks; `report team`
    the team table; anything else is explained."""
    from bot.platform.errors import ParseError

    ledger = Ledger(r)
    now = oslo(2026, 11, 18, 15)
    say(ledger, settings, "log 3h operating on monday", now, OPERATOR)
    say(ledger, settings, "log 3h coding on tuesday", now, OPERATOR)
    say(ledger, settings, "log 1h coding on monday", now)
    for target in (f"<@{OPERATOR}|oper>", OPERATOR, f"@{OPERATOR}"):
        report = say(ledger, settings, f"report {target} --weeks 2", now)
        assert f"<@{OPERATOR}>'s toil ratio by week" in report
        assert "2026-W47         3h      3h  50%" in report
    team = say(ledger, settings, "report team", now)
    assert "Team toil ratio by week" in team and "2026-W47" in team
    with pytest.raises(ParseError, match="neither `team` nor a person"):
        say(ledger, settings, "report everyone", now)


def test_a_persons_timezone_is_used_for_their_times(r, settings):
    """`toil tz America/New_York`: 09:00-11:30 is New York time; `toil tz slack` goes back."""
    from bot.platform.errors import ParseError

    ledger = Ledger(r)
    now = oslo(2026, 11, 18, 23)  # 17:00 in New York
    assert "Europe/Oslo (the team's)" in say(ledger, settings, "tz", now)
    assert "America/New_York (set by you)" in say(ledger, settings, "tz America/New_York", now)
    say(ledger, settings, "log 09:00-11:30 operating", now)
    [entry] = ledger.between(oslo(2026, 11, 18), oslo(2026, 11, 19))
    ny = zoneinfo.ZoneInfo("America/New_York")
    assert dt.datetime(2026, 11, 18, 9, tzinfo=ny).timestamp() == entry.start
    assert "America/New_York" == entry.tz
    for bad in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime"):
        with pytest.raises(ParseError, match="is not an IANA timezone"):
            say(ledger, settings, f"tz {bad}", now)
    assert "Europe/Oslo (the team's)" in say(ledger, settings, "tz slack", now)
