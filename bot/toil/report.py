"""The week's figures as data, for `toilbot toil report --json` and the weekly summary, and the
weekly summary's words for the front ends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.toil import text
from bot.toil.ledger import Ledger
from bot.toil.model import Kind
from bot.toil.ratio import split_time, team
from bot.toil.summary import Summary, WeekRow
from bot.toil.weeks import previous, week_bounds, week_label, week_of


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def week_figures(ledger: Ledger, year: int, week: int, tz: str) -> dict[str, Any]:
    """Team and per-person hours and ratios of one ISO week; ratio null where there is no data."""
    start, end = week_bounds(year, week, tz)
    figures = team(ledger.between(start, end), start, end)
    return {
        "week": week_label(year, week),
        "timezone": tz,
        "team": {
            "operating_hours": _hours(figures.operating),
            "coding_hours": _hours(figures.coding),
            "ratio": figures.ratio,
            "median": figures.median,
            "highest": figures.highest,
        },
        "people": {
            user: {
                "operating_hours": _hours(person.operating),
                "coding_hours": _hours(person.coding),
                "overhead_hours": _hours(person.seconds[Kind.OVERHEAD]),
                "ratio": person.ratio,
            }
            for user, person in figures.people.items()
        },
    }


def person_weeks(ledger: Ledger, user: str, tz: str, now: float, weeks: int = 4) -> list[WeekRow]:
    """One person's last ``weeks`` ISO weeks up to the one holding ``now``, oldest first."""
    year, week = week_of(now, tz)
    rows = []
    for back in range(weeks - 1, -1, -1):
        y, w = previous(year, week, back)
        start, end = week_bounds(y, w, tz)
        figures = split_time(ledger.between(start, end, user), start, end)
        rows.append(WeekRow(week_label(y, w), figures.operating, figures.coding, figures.ratio))
    return rows


# --- the weekly summary's words, for the front ends (bot.toil.text stays inside bot.toil) ----

NO_SHARE = text.NO_SHARE  # a week under 4 hours of operating plus coding


def summary_message(summary: Summary, names: bool) -> str:
    """The channel's weekly summary: the headline, who is above the limit, tables in code
    blocks (mrkdwn; the CLI prints it as it is)."""
    return text.weekly_summary(summary, names)


def personal_message(summary: Summary, user: str) -> str:
    """One person's weekly DM: their share, a nudge when above the limit, their last weeks."""
    return text.weekly_dm(summary, user)


def weeks_table(rows: Sequence[WeekRow], total: Callable[[float], str]) -> str:
    """Weeks as a code block: share, operating and coding hours (``total`` formats hours)."""
    return text.week_table(rows, total)


def chart_description(summary: Summary) -> str:
    """The chart in words, for screen readers (the upload's alt text)."""
    return text.chart_alt_text(summary)
