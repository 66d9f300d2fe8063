"""The week's figures as data, for `toilbot toil report --json` and the weekly summary."""

from __future__ import annotations

from typing import Any

from bot.toil.ledger import Ledger
from bot.toil.model import Kind
from bot.toil.ratio import split_time, team
from bot.toil.summary import WeekRow
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
