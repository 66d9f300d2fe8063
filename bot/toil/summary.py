"""The weekly summary's figures: one ISO week and the seven before it, for the team and each
person. Pure arithmetic over what the ledger holds for those weeks (and the quarter so far).

The team figures count only people with data that week (4 hours or more of
operating plus coding), as the ratio does, so the hours in the bars, the
categories and the ratio always agree.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from bot.toil.ledger import Ledger
from bot.toil.model import Kind
from bot.toil.ratio import Figures, Thresholds, split_categories, team
from bot.toil.weeks import previous, week_bounds, week_label

WEEKS = 8  # the trend: the reported week and the seven before it
TOP = 5  # categories and commands listed


def points(ratio: float) -> int:
    """A ratio as the whole percent shown everywhere (0.414 -> 41): changes are computed from
    these, so the text never says "44%, 44%, -1 points"."""
    return round(ratio * 100)


@dataclass(frozen=True)
class WeekRow:
    week: str  # 2026-W47
    operating: float  # seconds
    coding: float
    ratio: float | None
    overhead: float = 0.0  # left out of the ratio

    @property
    def shown(self) -> int | None:
        """The ratio in whole percent, as the text and the chart show it."""
        return None if self.ratio is None else points(self.ratio)


def change(rows: tuple[WeekRow, ...] | list[WeekRow]) -> int | None:
    """The last week's shown percent minus the week before's, in points; None without both."""
    if len(rows) < 2:
        return None
    last, before = rows[-1].shown, rows[-2].shown
    return None if last is None or before is None else last - before


@dataclass(frozen=True)
class CommandRow:
    spec: str
    runs: int
    hands_on: float  # seconds of people's time the runs took
    saved: float  # seconds of manual work they replaced, beyond that


@dataclass(frozen=True)
class Summary:
    week: str
    timezone: str
    thresholds: Thresholds
    weeks: tuple[WeekRow, ...]  # oldest first; the reported week last
    trend: float | None  # the ratio over the WEEKS weeks, weighted by time
    quarter: float | None  # the quarter to the end of the reported week
    categories: tuple[tuple[str, float], ...]  # operating seconds by category, most first
    commands: tuple[CommandRow, ...]  # the reported week's bot jobs by command
    saved: float  # seconds of toil saved by automation in the reported week
    people: dict[str, tuple[WeekRow, ...]]  # each person's WEEKS weeks, oldest first

    @property
    def ratio(self) -> float | None:
        return self.weeks[-1].ratio

    @property
    def change(self) -> int | None:
        """Week on week in points, from the whole percents shown."""
        return change(self.weeks)

    @property
    def limit(self) -> int:
        return points(self.thresholds.action)

    @property
    def above_limit(self) -> dict[str, tuple[WeekRow, ...]]:
        """The people whose reported week shows over the limit (76% > 50%), highest first."""
        over = {u: rows for u, rows in self.people.items() if (rows[-1].shown or 0) > self.limit}
        return dict(sorted(over.items(), key=lambda item: (-(item[1][-1].shown or 0), item[0])))

    @property
    def level(self) -> str:
        return self.thresholds.level(self.ratio)

    @property
    def at_limit(self) -> bool:
        return self.ratio is not None and self.ratio >= self.thresholds.action


def quarter_start(year: int, week: int, tz: str) -> float:
    """Local midnight of the first day of the quarter holding the week's Monday."""
    monday = dt.date.fromisocalendar(year, week, 1)
    first = dt.date(monday.year, 3 * ((monday.month - 1) // 3) + 1, 1)
    return dt.datetime.combine(first, dt.time(), tzinfo=zoneinfo.ZoneInfo(tz)).timestamp()


def _row(label: str, figures: Figures | None) -> WeekRow:
    figures = figures or Figures()
    overhead = figures.seconds[Kind.OVERHEAD]
    return WeekRow(label, figures.operating, figures.coding, figures.ratio, overhead)


def build_summary(ledger: Ledger, tz: str, thresholds: Thresholds, year: int, week: int) -> Summary:
    """Everything the weekly summary says about ISO week ``year``-W``week`` in ``tz``."""
    rows: list[WeekRow] = []
    per_person: dict[str, list[Figures | None]] = {}
    for back in range(WEEKS - 1, -1, -1):
        y, w = previous(year, week, back)
        start, end = week_bounds(y, w, tz)
        entries = ledger.between(start, end)
        figures = team(entries, start, end)
        ratio = figures.ratio
        overhead = sum(
            f.seconds[Kind.OVERHEAD] for f in figures.people.values() if f.ratio is not None
        )
        rows.append(WeekRow(week_label(y, w), figures.operating, figures.coding, ratio, overhead))
        for user in figures.people:
            per_person.setdefault(user, [None] * WEEKS)
        for user, slots in per_person.items():
            slots[WEEKS - 1 - back] = figures.people.get(user)
        if back == 0:
            counted = {u for u, f in figures.people.items() if f.ratio is not None}
            by_category = split_categories([e for e in entries if e.user in counted], start, end)
            saved = ledger.saved_between(start, end)
    operating = sum(r.operating for r in rows)
    counted_seconds = operating + sum(r.coding for r in rows)
    q_start = quarter_start(year, week, tz)
    q_end = week_bounds(year, week, tz)[1]
    quarter = team(ledger.between(q_start, q_end), q_start, q_end).ratio
    categories = sorted(
        ((cat, s) for (kind, cat), s in by_category.items() if kind is Kind.OPERATING and s > 0),
        key=lambda item: (-item[1], item[0]),
    )
    commands: dict[str, list[float]] = {}
    for record in saved:
        totals = commands.setdefault(str(record["spec"]), [0, 0.0, 0.0])
        totals[0] += 1
        totals[1] += float(record.get("hands_on", 0.0))
        totals[2] += float(record["seconds"])
    command_rows = sorted(
        (CommandRow(spec, int(t[0]), t[1], t[2]) for spec, t in commands.items()),
        key=lambda c: (-(c.hands_on + c.saved), c.spec),
    )
    labels = [r.week for r in rows]
    return Summary(
        week=rows[-1].week,
        timezone=tz,
        thresholds=thresholds,
        weeks=tuple(rows),
        trend=operating / counted_seconds if counted_seconds else None,
        quarter=quarter,
        categories=tuple(categories[:TOP]),
        commands=tuple(command_rows[:TOP]),
        saved=sum(c.saved for c in command_rows),
        people={
            user: tuple(_row(label, f) for label, f in zip(labels, slots, strict=True))
            for user, slots in sorted(per_person.items())
        },
    )
