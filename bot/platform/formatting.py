"""How words, times and figures appear inside sentences: the helpers every text module shares.

Not sentences themselves (those live in each package's ``text.py``): a typed word made
safe to echo, "did you mean", a usage line, durations, clock times, ratios and hours.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import UTC, datetime

# --- words a person typed ------------------------------------------------------


def echoed(word: str, limit: int = 40) -> str:
    """A word a person typed, safe to echo: short, and no backticks or Slack <...> markup."""
    short = word if len(word) <= limit else word[:limit] + "…"
    return typed(short.replace("`", "'"))


def typed(text: str) -> str:
    """Free text a person wrote (a reason, a note), shown whole: no Slack <...> markup in it."""
    return text.replace("<", "‹").replace(">", "›")


def did_you_mean(options: Sequence[str]) -> str:
    """' Did you mean `a` or `b`?', or nothing when there is no suggestion."""
    if not options:
        return ""
    return " Did you mean " + " or ".join(f"`{o}`" for o in options) + "?"


def usage_line(usage: str) -> str:
    """The usage on a line of its own, to end a refusal with; nothing when there is none."""
    return f"\nUsage: `{usage}`" if usage else ""


# --- durations and times -------------------------------------------------------


def seconds_text(seconds: float) -> str:
    """A duration the short way: 45s, 2m30s, 1h05m, 3d2h."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s" if sec else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


WHEN_FORMAT = "{date_short_pretty} {time}"  # Slack's tokens: "Today 09:55", "Dec 1 09:55"


def when(epoch: float) -> str:
    """An instant each reader sees in their own time: Slack's date token, with a UTC fallback.

    Replies are mrkdwn, the one text language of every front end: Slack shows this token in
    the reader's timezone (``bot.frontends.slack.mrkdwn`` keeps it live), a terminal in the
    team's (``bot.frontends.terminal``); anything that shows the text raw (a log) still
    reads the UTC fallback.
    """
    seconds = int(epoch)
    fallback = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{seconds}^{WHEN_FORMAT}|{fallback}>"


def moment(epoch: int, timezone: str) -> str:
    """A fire time as the people of ``timezone`` read it: Sun 2026-11-29 03:00 CET."""
    local = datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo(timezone))
    return local.strftime("%a %Y-%m-%d %H:%M:%S %Z").replace(":00 ", " ", 1)


# --- toil figures --------------------------------------------------------------


def percent(ratio: float | None) -> str:
    """A toil ratio: 37%, or 'no data'."""
    return "no data" if ratio is None else f"{ratio:.0%}"


def hours(seconds: float) -> str:
    """Someone's time: as :func:`seconds_text`, and 0h for none."""
    return seconds_text(seconds) if seconds else "0h"


def decimal_hours(seconds: float) -> str:
    """Team totals: 1234.5h (never days, which would hide the scale of the bars)."""
    return f"{seconds / 3600:.1f}h"
