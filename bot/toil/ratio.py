"""The toil ratio: operating / (operating + coding), per person and for the team. Pure.

Overlapping entries of one person are counted once: where entries overlap,
the one recorded last decides the kind of that stretch of time. Overhead is
kept but left out of the ratio. Under ``MIN_SECONDS`` of operating plus
coding, a person has no ratio ("no data", not 0%) and is left out of the
team figure, which is weighted by time.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from bot.toil.model import Entry, Kind

MIN_SECONDS = 4 * 3600


@dataclass(frozen=True)
class Thresholds:
    target: float = 0.35
    notice: float = 0.40
    warning: float = 0.45
    action: float = 0.50  # at or past it, the team rebalances with the product teams

    def level(self, ratio: float | None) -> str:
        if ratio is None:
            return "no data"
        if ratio >= self.action:
            return "action"
        if ratio >= self.warning:
            return "warning"
        if ratio >= self.notice:
            return "notice"
        return "ok"


@dataclass
class Figures:
    """One person's (or the team's) time in one period, in seconds."""

    seconds: dict[Kind, float] = field(default_factory=lambda: dict.fromkeys(Kind, 0.0))

    @property
    def operating(self) -> float:
        return self.seconds[Kind.OPERATING]

    @property
    def coding(self) -> float:
        return self.seconds[Kind.CODING]

    @property
    def counted(self) -> float:
        return self.operating + self.coding

    @property
    def ratio(self) -> float | None:
        return self.operating / self.counted if self.counted >= MIN_SECONDS else None


def _sweep(entries: Iterable[Entry], start: float, end: float) -> Iterator[tuple[Entry, float]]:
    """Each stretch of [start, end) covered by one person's entries: (the deciding entry, seconds).

    Where entries overlap, the one recorded last (then the higher id) decides.
    """
    live = [e for e in entries if not e.deleted and e.end > start and e.start < end]
    cuts = sorted(
        {start, end, *(max(start, e.start) for e in live), *(min(end, e.end) for e in live)}
    )
    for left, right in itertools.pairwise(cuts):
        covering = [e for e in live if e.start <= left and e.end >= right]
        if covering:
            yield max(covering, key=lambda e: (e.created_at, e.id)), right - left


def split_time(entries: Iterable[Entry], start: float, end: float) -> Figures:
    """Seconds per kind within [start, end) of one person's entries, overlaps counted once."""
    figures = Figures()
    for winner, seconds in _sweep(entries, start, end):
        figures.seconds[winner.kind] += seconds
    return figures


def split_categories(
    entries: Iterable[Entry], start: float, end: float
) -> dict[tuple[Kind, str], float]:
    """Seconds per (kind, category) within [start, end), overlaps counted once, any people."""
    by_user: dict[str, list[Entry]] = {}
    for entry in entries:
        by_user.setdefault(entry.user, []).append(entry)
    totals: dict[tuple[Kind, str], float] = {}
    for mine in by_user.values():
        for winner, seconds in _sweep(mine, start, end):
            key = (winner.kind, winner.category)
            totals[key] = totals.get(key, 0.0) + seconds
    return totals


@dataclass(frozen=True)
class TeamFigures:
    people: dict[str, Figures]
    operating: float  # seconds, people with data only
    coding: float
    ratio: float | None  # time-weighted
    median: float | None
    highest: float | None
    highest_user: str | None


def team(entries: Iterable[Entry], start: float, end: float) -> TeamFigures:
    by_user: dict[str, list[Entry]] = {}
    for entry in entries:
        by_user.setdefault(entry.user, []).append(entry)
    people = {user: split_time(mine, start, end) for user, mine in sorted(by_user.items())}
    counted = {u: f for u, f in people.items() if f.ratio is not None}
    operating = sum(f.operating for f in counted.values())
    coding = sum(f.coding for f in counted.values())
    ratios = {u: f.ratio for u, f in counted.items() if f.ratio is not None}
    top = max(ratios, key=lambda u: ratios[u]) if ratios else None
    return TeamFigures(
        people=people,
        operating=operating,
        coding=coding,
        ratio=operating / (operating + coding) if counted else None,
        median=statistics.median(ratios.values()) if ratios else None,
        highest=ratios[top] if top else None,
        highest_user=top,
    )
