"""`toil ...` through the pipeline, as people type it (console, exec, Slack all share it)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bot.pipeline.builtins import toil as commands
from bot.toil.ledger import Ledger
from tests.conftest import ADMIN, VIEWER, write_config
from tests.harness import Harness

# Wednesday 18 November 2026, 15:00 in Oslo.
NOW = dt.datetime(2026, 11, 18, 15, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Oslo")).timestamp()


@pytest.fixture
def settings(tmp_path):
    from bot.config.settings import load_settings

    return load_settings({"TOILBOT_CONFIG": str(write_config(tmp_path, timezone="Europe/Oslo"))})


def say(ledger, settings, user, text, now=NOW):
    return commands.run(ledger, settings, user, text.split(), now)


def test_a_week_of_logging_gives_a_ratio(r, settings):
    """Timers and logs add up to the week's figures and ratio."""
    ledger = Ledger(r)
    assert "Timer started: operating (interrupts)" in say(
        ledger, settings, ADMIN, "start operating interrupts", NOW - 2 * 3600
    )
    reply = say(ledger, settings, ADMIN, "switch coding automation", NOW - 3600)
    assert "previous timer (operating, 1h) was stopped and logged" in reply
    assert "Logged entry 2: 1h of coding (automation)" in say(ledger, settings, ADMIN, "stop")
    assert "Logged entry 3: 2h of coding (general) from Mon 16 Nov 09:00" in say(
        ledger, settings, ADMIN, "log 2h coding on monday terraform module"
    )
    assert "Logged entry 4: 2h30m of operating (patching) from Tue 17 Nov 09:00" in say(
        ledger, settings, ADMIN, "log 09:00-11:30 operating patching on yesterday"
    )
    me = say(ledger, settings, ADMIN, "me")
    assert "Your week 2026-W47 (Europe/Oslo): operating 3h30m, coding 3h, overhead 0h." in me
    assert "Toil ratio: 54% (target 35%, limit 50%; action)." in me
    report = say(ledger, settings, ADMIN, "report --weeks 2")
    assert "2026-W46" in report and "2026-W47" in report
    assert "Quarter to date: 54%." in report  # W46 has no data: no week-on-week line
    assert "At or past the limit: rebalance with the product team." in report
    say(ledger, settings, ADMIN, "log 6h coding on 2026-11-10")
    say(ledger, settings, ADMIN, "log 2h operating on 2026-11-11")
    report = say(ledger, settings, ADMIN, "report --weeks 2")
    assert "Week on week: +29 points. Quarter to date: 38%." in report  # 5.5h / 14.5h


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("strat operating", "Did you mean `start`"),
        ("start toil", "<kind>: `toil` is not allowed"),
        ("log 2 hours coding", "`2` is not a duration or a time span"),
        ("log 25:00-26:00 coding", "is not a duration or a time span"),
        ("log 2h coding on someday", "`someday` is not a date"),
        ("log 2h coding on 2030-01-01", "is in the future"),
        ("log 30h coding on yesterday", "covers at most 24 hours"),
        ("log 11:00-09:00 coding", "must come after its start"),
        ("report --weeks 99", "not a number of weeks from 1 to 26"),
        ("edit 99 kind=coding", "you have no entry 99"),
    ],
)
def test_mistakes_are_explained(r, settings, text, fragment):
    """Every mistake says what was wrong and shows the usage; nothing is recorded."""
    from bot.platform.errors import ParseError

    ledger = Ledger(r)
    with pytest.raises(ParseError) as caught:
        say(ledger, settings, ADMIN, text)
    assert fragment in str(caught.value)
    assert [] == ledger.between(0, NOW * 2)


def test_toil_from_the_pipeline_needs_no_role(harness: Harness):
    """Anyone can log time, even without a role; `toil` alone explains the commands."""
    assert "Log your time" in harness.say("toil", VIEWER)
    assert "Timer started: operating (on-call)" in harness.say(
        "toil start operating on-call", "U0NOROLE"
    )
    assert "Nothing to undo." in harness.say("toil undo", "U0NOROLE")


def test_toilbot_toil_report_json(env, r):
    """`toilbot toil report --week ... --json` prints team and per-person figures, null ratios
    where there is no data."""
    import json

    from tests.conftest import toilbot_cli

    ledger = Ledger(r)
    monday = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC).timestamp()
    from bot.toil.model import Kind, Source

    ledger.add("U0A", Kind.OPERATING, "incident", monday, monday + 2 * 3600, "UTC", Source.LOG)
    ledger.add("U0A", Kind.CODING, "ci", monday + 3 * 3600, monday + 9 * 3600, "UTC", Source.LOG)
    ledger.add("U0B", Kind.CODING, "ci", monday, monday + 3600, "UTC", Source.LOG)
    proc = toilbot_cli(env, "toil", "report", "--week", "2026-W47", "--json")
    assert 0 == proc.returncode, proc.stderr
    body = json.loads(proc.stdout)
    assert ("2026-W47", 2.0, 6.0, 0.25) == (
        body["week"],
        body["team"]["operating_hours"],
        body["team"]["coding_hours"],
        body["team"]["ratio"],
    )
    assert body["people"]["U0B"]["ratio"] is None
    bad = toilbot_cli(env, "toil", "report", "--week", "2026-47")
    assert 2 == bad.returncode and "is not an ISO week" in bad.stderr


def test_a_bot_job_records_hands_on_time_and_the_toil_it_saved(harness: Harness, r):
    """After a job: 2 minutes of operating for the requester; the rest of manual_minutes saved."""
    import time

    harness.say("status localhost", ADMIN)
    ledger = Ledger(r)
    [entry] = ledger.between(time.time() - 3600, time.time() + 60)
    assert (ADMIN, "operating", "bot", 120.0) == (
        entry.user,
        entry.kind.value,
        entry.source.value,
        entry.seconds,
    )
    assert "job 1: status" == entry.note
    [saved] = ledger.saved_between(time.time() - 3600, time.time() + 60)
    assert {
        "job": 1,
        "user": ADMIN,
        "spec": "status",
        "seconds": 5 * 60 - 120.0,
        "hands_on": 120,
    } == saved


def test_report_on_a_person_by_slack_mention_with_a_phone_dash(r, settings):
    """`/toil report @alice` arrives escaped as `<@U…|alice>`, and `—weeks` typed on a phone
    reads as `--weeks`; a plain `@alice` (Slack did not escape it) is told why and how."""
    from bot.platform.errors import ParseError

    ledger = Ledger(r)
    say(ledger, settings, VIEWER, "log 2h operating on monday", NOW)
    expected = say(ledger, settings, ADMIN, f"report {VIEWER} --weeks 2")
    assert f"<@{VIEWER}>'s toil ratio by week" in expected and "2026-W46" in expected
    for dash in ("—weeks", "–weeks", "-weeks"):
        assert expected == say(ledger, settings, ADMIN, f"report <@{VIEWER}|alice> {dash} 2")
    with pytest.raises(ParseError) as caught:
        say(ledger, settings, ADMIN, "report @alice")
    assert "`@alice` reached me as plain text, not as a mention of a member" in str(caught.value)
    with pytest.raises(ParseError) as caught:
        say(ledger, settings, ADMIN, "report —week 2")  # not a flag of report: refused as before
    assert "Usage: `toil report [@user|team] [--weeks N]`" in str(caught.value)


def test_a_log_over_an_earlier_entry_says_what_it_covers(harness: Harness):
    """`toil log 2h coding` then `toil log 90m overhead meetings`: the second covers 1h30m of
    the first, and says so when it is logged (before, `toil me` silently showed 30m of coding)."""
    assert "Logged entry 1" in harness.say("toil log 2h coding", ADMIN)
    second = harness.say("toil log 90m overhead meetings", ADMIN)
    assert "Logged entry 2" in second
    assert "Entry 2 overlaps 1h30m of entry 1 (coding," in second
    assert "where they overlap, entry 2 counts" in second and "toil undo" in second
    third = harness.say("toil log 30m operating incident on 2026-01-05", ADMIN)
    assert "overlaps" not in third  # another day: nothing covered


def test_an_overnight_span_ends_the_next_day(harness: Harness, r):
    """`toil log 23:00-01:00 operating incident on 2026-01-05` is two hours from the 5th to
    the 6th (it was refused before)."""
    out = harness.say("toil log 23:00-01:00 operating incident on 2026-01-05", ADMIN)
    assert "Logged entry 1: 2h of operating (incident) from Mon 05 Jan 23:00." in out
    [entry] = Ledger(r).between(0, 2e9)
    assert 7200 == entry.end - entry.start
