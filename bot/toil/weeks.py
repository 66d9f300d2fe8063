"""ISO weeks in the team's timezone: boundaries at local midnights (DST weeks: 167 or 169 h)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_week(text: str) -> tuple[int, int] | None:
    """'2026-W47' -> (2026, 47); None if malformed or not a week of that ISO year."""
    match = _WEEK.match(text.strip())
    if not match:
        return None
    year, week = int(match.group(1)), int(match.group(2))
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        return None
    return year, week


def week_bounds(year: int, week: int, tz: str) -> tuple[float, float]:
    """UTC epoch seconds of Monday 00:00 local and the next Monday 00:00 local."""
    zone = zoneinfo.ZoneInfo(tz)
    monday = dt.date.fromisocalendar(year, week, 1)
    start = dt.datetime.combine(monday, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=zone)
    return start.timestamp(), end.timestamp()


def week_of(timestamp: float, tz: str) -> tuple[int, int]:
    local = dt.datetime.fromtimestamp(timestamp, zoneinfo.ZoneInfo(tz))
    iso = local.isocalendar()
    return iso.year, iso.week


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def previous(year: int, week: int, count: int = 1) -> tuple[int, int]:
    monday = dt.date.fromisocalendar(year, week, 1) - dt.timedelta(weeks=count)
    iso = monday.isocalendar()
    return iso.year, iso.week


def week_monday(label: str) -> dt.date:
    """The Monday of a week label ('2026-W47' -> 2026-11-16)."""
    parsed = parse_week(label)
    if parsed is None:
        raise ValueError(f"not a week label: {label!r}")
    return dt.date.fromisocalendar(*parsed, 1)


def week_short(label: str) -> str:
    """'2026-W47' -> 'W47'."""
    return label.partition("-")[2] or label


def week_span(label: str) -> str:
    """The days of a week as people read them: '16–22 Nov 2026', '30 Nov – 6 Dec 2026'."""
    monday = week_monday(label)
    sunday = monday + dt.timedelta(days=6)
    if monday.month == sunday.month:
        return f"{monday.day}–{sunday.day} {sunday:%b %Y}"
    if monday.year == sunday.year:
        return f"{monday.day} {monday:%b} – {sunday.day} {sunday:%b %Y}"
    return f"{monday.day} {monday:%b %Y} – {sunday.day} {sunday:%b %Y}"
