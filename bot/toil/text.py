"""What the toil domain says: rows it cannot import, the weekly chart's words, and the weekly
summary (the channel's message and each person's DM)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.platform.formatting import decimal_hours, hours, percent
from bot.toil.summary import Summary, WeekRow, change, points
from bot.toil.weeks import week_monday, week_short, week_span


def import_row(line: int, problem: str) -> str:
    """``line`` > 0: a line of a CSV file; < 0: the -line'th row of a JSON list."""
    return f"line {line}: {problem}" if line > 0 else f"row {-line}: {problem}"


# --- the weekly chart (bot/toil/chart.py) ----------------------------------------------------


def chart_headline(shown: int | None, week: str, change: int | None) -> str:
    """The chart's title: '41% operating in W47 (+3 points)'."""
    if shown is None:
        return f"No share in {week}: under 4 hours logged"
    moved = "" if change is None else f" ({_points(change)})"
    return f"{shown}% operating in {week}{moved}"


def chart_subtitle(timezone: str) -> str:
    return f"Share of the team's hours spent operating, per week ({timezone})"


def chart_target(target: int) -> str:
    return f"target {target}%"


def chart_limit(limit: int) -> str:
    return f"limit {limit}%"


def chart_no_data() -> str:
    return "no data"


def chart_share_axis() -> str:
    return "operating share"


def chart_hours_axis() -> str:
    return "hours"


def chart_operating() -> str:
    return "operating"


def chart_coding() -> str:
    return "coding"


def chart_overhead() -> str:
    return "overhead"


# --- the weekly summary: the channel's message and each person's DM --------------------------

NO_SHARE = "–"  # a week under 4 hours of operating plus coding: no share, which is not 0%


def _shown(shown: int | None) -> str:
    return NO_SHARE if shown is None else f"{shown}%"


def _points(change: int) -> str:
    """A change of the whole percents shown: '+3 points', '-1 point', 'no change'."""
    if change == 0:
        return "no change"
    return f"{change:+d} point{'' if abs(change) == 1 else 's'}"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def week_table(rows: Sequence[WeekRow], total: Callable[[float], str]) -> str:
    """Weeks as a monospace table in a code block, oldest first: the share, then the hours the
    share is made of. At most 36 characters wide, so a phone shows it without wrapping."""
    head = ("Week", "Share", "Operating", "Coding")
    body = [
        (
            f"{week_short(row.week)} {week_monday(row.week):%-d %b}",
            _shown(row.shown),
            total(row.operating),
            total(row.coding),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    lines = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        )
        for line in (head, *body)
    ]
    return "```\n" + "\n".join(lines) + "\n```"


def _headline(summary: Summary) -> str:
    this = summary.weeks[-1]
    when = f"week {week_short(summary.week)[1:]} ({week_span(summary.week)})"
    if this.shown is None:
        return f"*No operating share for {when}*: the team logged under 4 hours."
    moved = summary.change
    before = summary.weeks[-2].shown if len(summary.weeks) > 1 else None
    trend = "" if moved is None else f", {_points(moved)} on last week's {_shown(before)}"
    return f"*{this.shown}% operating in {when}*{trend}."


def _above(summary: Summary, names: bool) -> str:
    limit = summary.limit
    above = summary.above_limit
    if not above:
        return f"Nobody is above the {limit}% limit."
    rising = [u for u, rows in above.items() if (change(rows) or 0) > 0]
    if names:
        people = ", ".join(
            f"<@{u}> {_shown(rows[-1].shown)}"
            + ("" if change(rows) is None else f" ({_points(change(rows) or 0)})")
            for u, rows in above.items()
        )
        return f"Above the {limit}% limit: {people}. Each got a note in their DM."
    count = len(above)
    verb = "is" if count == 1 else "are"
    if len(rising) == count:
        trend = " and rising" if count == 1 else ", all rising"
    elif rising:
        trend = f" ({len(rising)} rising)"
    else:
        trend = ""
    note = "a note in their DM" if count == 1 else "a note in their DMs"
    return f"{_plural(count, 'person', 'people')} {verb} above {limit}%{trend}; {note}."


def weekly_summary(summary: Summary, names: bool) -> str:
    """The channel's weekly summary (posted with the chart, previewed by the CLI): the headline,
    who is above the limit, then the tables in code blocks."""
    limits = summary.thresholds
    lines = [
        _headline(summary) + f" Target {_shown(points(limits.target))}, "
        f"limit {_shown(summary.limit)}.",
    ]
    if summary.at_limit:
        lines.append("*At or past the limit: rebalance with the product team.*")
    lines.append(_above(summary, names))
    lines.append(week_table(summary.weeks, decimal_hours))
    lines.append(
        f"{len(summary.weeks)} weeks together: {percent(summary.trend)}; quarter to date: "
        f"{percent(summary.quarter)}. Hours of people with 4 hours or more of operating plus "
        f"coding in the week ({NO_SHARE}: nobody); overhead this week, not in the share: "
        f"{decimal_hours(summary.weeks[-1].overhead)}."
    )
    if summary.categories:
        width = max(len(name) for name, _ in summary.categories)
        table = "\n".join(
            f"{name.ljust(width)}  {decimal_hours(s):>7}" for name, s in summary.categories
        )
        lines.append(f"*Top toil categories this week*\n```\n{table}\n```")
    saved = f"*Toil saved by automation: {hours(summary.saved)}* (not in the hours above)"
    if summary.commands:
        rows = [("Command", "Runs", "Hands-on", "Saved")] + [
            (c.spec, str(c.runs), hours(c.hands_on), hours(c.saved)) for c in summary.commands
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        table = "\n".join(
            "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
            for r in rows
        )
        saved += f"\n```\n{table}\n```"
    lines.append(saved)
    if names:
        people = [f"<@{user}> {_shown(rows[-1].shown)}" for user, rows in summary.people.items()]
        if people:
            lines.append("This week by person: " + ", ".join(people) + ".")
    lines.append("Everyone got their own figures in a DM.")
    return "\n".join(lines)


def weekly_dm(summary: Summary, user: str, weeks: int = 4) -> str:
    """One person's weekly DM: their share, a nudge when above the limit, their last weeks."""
    rows = summary.people[user][-weeks:]
    mine = rows[-1]
    limits = summary.thresholds
    moved = change(rows)
    trend = "" if moved is None else f" ({_points(moved)})"
    when = f"week {week_short(summary.week)[1:]} ({week_span(summary.week)})"
    lines = [
        f"*Your toil {when}: {_shown(mine.shown)} operating*{trend}. Team "
        f"{_shown(summary.weeks[-1].shown)}, target {_shown(points(limits.target))}, limit "
        f"{_shown(summary.limit)}."
    ]
    if user in summary.above_limit:
        before = rows[-2].shown if len(rows) > 1 else None
        how = ""
        if moved is not None and moved > 0:
            how = f", and rising ({_shown(before)} the week before)"
        elif moved is not None:
            how = f" ({_shown(before)} the week before)"
        lines.append(
            f"You were at {mine.shown}% operating this week, above the team's "
            f"{summary.limit}% limit{how}. Worth a word with your lead: hand some of the "
            "operating work on, or automate the biggest part of it."
        )
    lines.append(week_table(rows, hours))
    if mine.overhead:
        lines.append(f"Overhead this week, not in the share: {hours(mine.overhead)}.")
    if mine.shown is None:
        lines.append(
            f"{NO_SHARE}: under 4 hours of operating plus coding, so no share (which is not 0%)."
        )
    return "\n".join(lines)


def chart_alt_text(summary: Summary) -> str:
    """The chart described for a screen reader: the headline and each week's share."""
    weeks = ", ".join(f"{week_short(r.week)} {_shown(r.shown)}" for r in summary.weeks)
    head = chart_headline(summary.weeks[-1].shown, week_short(summary.week), summary.change)
    return f"{head}. Operating share per week: {weeks}."


def overlaps(entry_id: int, covered: Sequence[tuple[int, str, str, float]]) -> str:
    """A new entry covers part of the person's earlier ones: the newest counts there."""
    parts = ", ".join(
        f"{hours(seconds)} of entry {other} ({kind}, {category})"
        for other, kind, category, seconds in covered
    )
    return (
        f"Entry {entry_id} overlaps {parts}: where they overlap, entry {entry_id} counts. "
        f"If that is wrong, `toil undo` takes entry {entry_id} back."
    )
