"""Toil ratio arithmetic: weeks in a timezone, overlaps counted once, no data under 4 hours."""

from __future__ import annotations

import itertools

import pytest

from bot.toil.model import Entry, Kind, Source
from bot.toil.ratio import Thresholds, split_time, team
from bot.toil.weeks import parse_week, previous, week_bounds, week_of

HOUR = 3600.0
_ids = itertools.count(1)


def entry(user: str, kind: Kind, start_h: float, end_h: float, created: float = 0.0) -> Entry:
    return Entry(
        id=next(_ids),
        user=user,
        kind=kind,
        category="x",
        start=start_h * HOUR,
        end=end_h * HOUR,
        tz="UTC",
        source=Source.LOG,
        created_at=created,
    )


@pytest.mark.parametrize(
    ("week", "tz", "hours"),
    [
        ("2026-W47", "Europe/Oslo", 168),
        ("2026-W13", "Europe/Oslo", 167),  # 29 March 2026: clocks go forward
        ("2026-W43", "Europe/Oslo", 169),  # 25 October 2026: clocks go back
        ("2026-W10", "America/New_York", 167),  # 8 March 2026
        ("2026-W44", "America/New_York", 169),  # 1 November 2026
        ("2026-W13", "UTC", 168),
    ],
)
def test_week_lengths_follow_local_midnights(week, tz, hours):
    """A week runs from Monday 00:00 to Monday 00:00 in the team's zone, DST included."""
    parsed = parse_week(week)
    assert parsed is not None
    start, end = week_bounds(*parsed, tz)
    assert hours == (end - start) / HOUR
    assert parsed == week_of(start, tz) == week_of(end - 1, tz)


@pytest.mark.parametrize("text", ["2026-47", "2026-W00", "2026-W54", "2021-W53x", "W47"])
def test_malformed_weeks(text):
    """Only real ISO weeks parse."""
    assert parse_week(text) is None


def test_previous_weeks_cross_years():
    """Four weeks back from 2026-W02 is 2025-W50."""
    assert (2025, 50) == previous(2026, 2, 4)


def test_overlaps_are_counted_once_and_the_newest_entry_wins():
    """Two entries over the same hour count that hour once, for the entry recorded last."""
    entries = [
        entry("U1", Kind.OPERATING, 0, 3, created=1),
        entry("U1", Kind.CODING, 2, 6, created=2),
    ]
    figures = split_time(entries, 0, 100 * HOUR)
    assert (2 * HOUR, 4 * HOUR) == (figures.operating, figures.coding)


def test_entries_crossing_the_boundary_are_split():
    """Only the part of an entry inside the week counts for that week."""
    figures = split_time([entry("U1", Kind.OPERATING, -2, 5)], 0, 4 * HOUR)
    assert 4 * HOUR == figures.operating


def test_overhead_is_kept_but_not_in_the_ratio():
    """Overhead hours are reported and left out of operating / (operating + coding)."""
    entries = [
        entry("U1", Kind.OPERATING, 0, 2),
        entry("U1", Kind.CODING, 2, 6),
        entry("U1", Kind.OVERHEAD, 6, 16),
    ]
    figures = split_time(entries, 0, 100 * HOUR)
    assert 10 * HOUR == figures.seconds[Kind.OVERHEAD]
    assert pytest.approx(2 / 6) == figures.ratio


def test_under_four_hours_is_no_data_and_out_of_the_team_figure():
    """A person with 3 hours shows no ratio and does not pull the team figure."""
    entries = [
        entry("U1", Kind.OPERATING, 0, 3),  # 3 h: no data
        entry("U2", Kind.OPERATING, 0, 4),
        entry("U2", Kind.CODING, 4, 8),  # 50%
        entry("U3", Kind.OPERATING, 0, 2),
        entry("U3", Kind.CODING, 2, 20),  # 10%
    ]
    result = team(entries, 0, 100 * HOUR)
    assert result.people["U1"].ratio is None
    assert pytest.approx(6 / 28) == result.ratio  # weighted by time
    assert pytest.approx((0.5 + 0.1) / 2) == result.median
    assert (pytest.approx(0.5), "U2") == (result.highest, result.highest_user)


def test_no_one_with_data_means_no_team_ratio():
    """A team with only short entries has no ratio, not 0%."""
    assert team([entry("U1", Kind.CODING, 0, 1)], 0, 100 * HOUR).ratio is None


@pytest.mark.parametrize(
    ("ratio", "level"),
    [
        (None, "no data"),
        (0.30, "ok"),
        (0.35, "ok"),
        (0.40, "notice"),
        (0.47, "warning"),
        (0.50, "action"),
        (0.8, "action"),
    ],
)
def test_threshold_levels(ratio, level):
    """Target 35%, notice 40%, warning 45%, action 50%."""
    assert level == Thresholds().level(ratio)
