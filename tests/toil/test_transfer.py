"""Import and export through the real `toilbot` command line: a round trip gives identical
reports, and a file with bad rows is refused whole, by line number."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.conftest import ADMIN, OPERATOR, toilbot_cli


def run(env, *args):
    proc = toilbot_cli(env, *args, timeout=120)
    assert 0 == proc.returncode, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exec_logs_and_an_import_of_their_export_give_identical_reports(env, r, tmp_path, fmt):
    """Entries logged with `toilbot exec "toil log ..."` (overlaps included), exported, wiped and
    imported again: `toil report --json` and `exec "toil report"` print the same."""
    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday() + 7)  # last week's Monday
    day = [str(monday + dt.timedelta(days=n)) for n in range(5)]
    week = f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}"
    for user, text in [
        (ADMIN, f"toil log 09:00-12:00 operating incident on {day[0]} db failover"),
        (ADMIN, f"toil log 10:00-11:00 coding automation on {day[0]}"),  # overlaps: wins
        (ADMIN, f"toil log 6h coding automation on {day[1]}"),
        (ADMIN, f"toil log 1h overhead meetings on {day[2]}"),
        (OPERATOR, f'toil log 08:00-13:30 operating patching on {day[3]} "kernel, glibc"'),
        (OPERATOR, f"toil log 2h coding on {day[4]}"),
    ]:
        assert "Logged entry" in run(env, "exec", "--user", user, text)
    before = run(env, "toil", "report", "--week", week, "--json")
    before_text = run(env, "exec", "--user", ADMIN, "toil report --weeks 2")
    body = json.loads(before)
    assert (2.0, 7.0) == (
        body["people"][ADMIN]["operating_hours"],
        body["people"][ADMIN]["coding_hours"],
    )
    assert (5.5, 2.0, 1.0) == (
        body["people"][OPERATOR]["operating_hours"],
        body["people"][OPERATOR]["coding_hours"],
        body["people"][ADMIN]["overhead_hours"],
    )
    exported = run(env, "toil", "export", "--since", day[0], "--format", fmt)
    path = tmp_path / f"ledger.{fmt}"
    path.write_text(exported)
    if fmt == "csv":
        assert exported.startswith("user,kind,category,start,end,note\n")
        assert "kernel, glibc" in exported

    r.flushdb()
    assert "Imported 6 entries" in run(env, "toil", "import", str(path))
    assert before == run(env, "toil", "report", "--week", week, "--json")
    assert before_text == run(env, "exec", "--user", ADMIN, "toil report --weeks 2")
    assert exported == run(env, "toil", "export", "--since", day[0], "--format", fmt)
    # The same file again adds nothing (it used to double every row).
    again = run(env, "toil", "import", str(path))
    assert f"Nothing imported from {path}: its 6 entries are in the ledger already." in again
    assert before == run(env, "toil", "report", "--week", week, "--json")


def test_bad_rows_are_reported_by_line_and_nothing_is_written(env, r, tmp_path):
    """Three bad rows among good ones: each named by its line, exit 2, the ledger untouched."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "user,kind,category,start,end,note\n"
        "U0ADMIN,operating,incident,2026-11-16T09:00:00+01:00,2026-11-16T11:00:00+01:00,ok\n"
        "U0ADMIN,toil,incident,2026-11-16T09:00:00+01:00,2026-11-16T11:00:00+01:00,\n"
        "U0ADMIN,coding,automation,2026-11-16T09:00:00,2026-11-16T11:00:00Z,\n"
        '"U0ADMIN",coding,automation,2026-11-17T09:00:00Z,2026-11-17T10:00:00Z,"two\n'
        'lines"\n'
        "U0ADMIN,coding,knitting,2026-11-18T11:00:00Z,2026-11-18T10:00:00Z,\n"
        "someone,coding,automation,2026-11-18T09:00:00Z,2026-11-18T10:00:00Z,\n"
    )
    proc = toilbot_cli(env, "toil", "import", str(path))
    assert 2 == proc.returncode
    assert "Nothing imported" in proc.stderr and "4 bad rows" in proc.stderr
    assert "line 3: kind `toil` is not one of operating, coding, overhead" in proc.stderr
    assert "line 4: start `2026-11-16T09:00:00` is not an ISO 8601 time with its offset" in (
        proc.stderr
    )
    assert "line 7: category `knitting` is not in toil.categories" in proc.stderr
    assert "line 8: user `someone` is not a Slack user id" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert [] == r.keys("toilbot:toil:*")

    proc = toilbot_cli(env, "toil", "import", str(tmp_path / "missing.csv"))
    assert 2 == proc.returncode and "Cannot read" in proc.stderr
    proc = toilbot_cli(env, "toil", "export", "--since", "last tuesday")
    assert 2 == proc.returncode and "is not a date, time or age" in proc.stderr


def test_export_since_takes_an_age_as_audit_export_does():
    """`toil export --since 7d` (refused before, while `audit export --since 7d` worked)."""
    from bot.toil.transfer import instant_or_date

    now = 1_800_000_000.0
    assert now - 7 * 86400 == instant_or_date("7d", "Europe/Oslo", now)
    assert now - 5400 == instant_or_date("1h30m", "UTC", now)
    assert instant_or_date("7", "UTC", now) is None  # a bare number is not an age
    assert (
        instant_or_date("2026-11-01", "UTC", now)
        == dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
    )


def test_an_export_is_in_the_team_timezone_and_imports_to_the_same_instants():
    """Exported times carry the team's offset (+01:00 in Oslo in November, Z for UTC) and read
    back as the same instants."""
    from bot.toil.model import Entry, Kind, Source
    from bot.toil.transfer import export_entries, read_rows

    start = dt.datetime(2026, 11, 16, 8, 0, tzinfo=dt.UTC).timestamp()
    entry = Entry(1, ADMIN, Kind.CODING, "automation", start, start + 3600, "UTC", Source.LOG)
    oslo = export_entries([entry], "csv", "Europe/Oslo")
    assert "2026-11-16T09:00:00+01:00,2026-11-16T10:00:00+01:00" in oslo
    assert "2026-11-16T08:00:00Z,2026-11-16T09:00:00Z" in export_entries([entry], "csv", "UTC")
    [row] = read_rows(oslo, "csv", ["automation"])
    assert (start, start + 3600) == (row.start, row.end)
