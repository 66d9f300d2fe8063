"""`toil ...`: the ledger's commands, in chat and in the console (words in messages)."""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from collections.abc import Sequence

from bot.pipeline import text as pipeline_text
from bot.pipeline.builtins import text as builtin_text
from bot.pipeline.builtins.registry import builtin
from bot.pipeline.context import Context
from bot.pipeline.parse import BuiltinCall, builtin_flag
from bot.pipeline.settings import Settings
from bot.platform.errors import ParseError
from bot.platform.schema import parse_duration
from bot.platform.words import suggest
from bot.toil.ledger import Ledger, LedgerError
from bot.toil.model import Kind, Source
from bot.toil.overlaps import overlap_note
from bot.toil.ratio import Figures, split_time, team
from bot.toil.weeks import previous, week_bounds, week_label, week_of
from bot.toil.zones import Zones, valid_zone

USAGE = {
    "start": "toil start <operating|coding|overhead> [category] [note]",
    "stop": "toil stop",
    "switch": "toil switch <operating|coding|overhead> [category] [note]",
    "log": "toil log <2h|90m|09:00-11:30> <operating|coding|overhead> [category] "
    "[on <date>] [note]",
    "edit": "toil edit <id> kind=<kind> | category=<category> | duration=<2h> | note=<text>",
    "undo": "toil undo",
    "me": "toil me",
    "report": "toil report [@user|team] [--weeks N]",
    "tz": "toil tz [Area/City|slack]",
}
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def run(
    ledger: Ledger, settings: Settings, user: str, words: Sequence[str], now: float | None = None
) -> str:
    now = time.time() if now is None else now
    if not words:
        return builtin_text.toil_help(list(USAGE.values()))
    verb, rest = words[0].lower(), list(words[1:])
    if verb not in USAGE:
        raise ParseError(builtin_text.unknown_toil_verb(words[0], suggest(verb, list(USAGE))))
    try:
        return _VERBS[verb](ledger, settings, user, rest, now)
    except LedgerError as exc:
        raise ParseError(builtin_text.toil_refused(str(exc), USAGE[verb])) from None


@builtin(
    name="toil",
    summary="Log operating and coding time, see your toil ratio (`help toil`)",
    usage="toil start|stop|switch|log|edit|undo|me|report ...",
    permission=None,
    free_words=True,
)
def toil(context: Context, call: BuiltinCall) -> str:
    return run(Ledger(context.jobs.r), context.settings, context.user, call.words)


def _kind(word: str | None, verb: str) -> Kind:
    if word is None:
        raise ParseError(pipeline_text.missing_argument("kind", USAGE[verb]))
    try:
        return Kind(word.lower())
    except ValueError:
        options = [k.value for k in Kind]
        raise ParseError(
            pipeline_text.bad_choice("kind", word, options, suggest(word, options), USAGE[verb])
        ) from None


def _category_and_note(settings: Settings, words: list[str]) -> tuple[str, str]:
    if words and words[0].lower() in settings.toil.categories:
        return words[0].lower(), " ".join(words[1:])[:200]
    return "general", " ".join(words)[:200]


def _start(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    kind = _kind(words[0] if words else None, "start")
    category, note = _category_and_note(settings, words[1:])
    tz = Zones(ledger.r, settings.timezone).of(user).name
    _, stopped = ledger.start(user, kind, category, note, tz, now, settings.toil.timer_limit)
    previous_timer = (stopped.kind.value, stopped.seconds) if stopped else None
    return builtin_text.toil_started(kind.value, category, previous_timer)


def _stop(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    timer = ledger.timer(user)
    if timer is None:
        return builtin_text.toil_no_timer()
    entry = ledger.stop(user, now, settings.toil.timer_limit)
    if entry is None:
        return builtin_text.toil_too_short()
    capped = now > timer.counts_until(settings.toil.timer_limit)
    return builtin_text.toil_stopped(
        entry.id, entry.kind.value, entry.category, entry.seconds, capped
    )


def _log(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    if not words:
        raise ParseError(pipeline_text.missing_argument("duration", USAGE["log"]))
    amount = words[0]
    if not _SPAN.match(amount) and (amount.isdigit() or not parse_duration(amount[:12])):
        raise ParseError(builtin_text.bad_span(amount, USAGE["log"]))  # a bare number has no unit
    kind = _kind(words[1] if len(words) > 1 else None, "log")
    rest = words[2:]
    tz = Zones(ledger.r, settings.timezone).of(user).name
    zone = zoneinfo.ZoneInfo(tz)
    day = dt.datetime.fromtimestamp(now, zone).date()
    if "on" in [w.lower() for w in rest]:
        at = [w.lower() for w in rest].index("on")
        if at + 1 >= len(rest):
            raise ParseError(pipeline_text.missing_argument("date", USAGE["log"]))
        day = _date(rest[at + 1], day)
        rest = rest[:at] + rest[at + 2 :]
    category, note = _category_and_note(settings, rest)
    start, end = _span(amount, day, zone, now)
    entry = ledger.add(user, kind, category, start, end, tz, Source.LOG, note)
    logged = builtin_text.toil_logged(
        entry.id,
        kind.value,
        category,
        entry.seconds,
        dt.datetime.fromtimestamp(start, zone).strftime("%a %d %b %H:%M"),
    )
    covered = overlap_note(ledger, entry)  # said now, not found in a report later
    return f"{logged}\n{covered}" if covered else logged


def _span(amount: str, day: dt.date, zone: zoneinfo.ZoneInfo, now: float) -> tuple[float, float]:
    match = _SPAN.match(amount)
    if match:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ParseError(builtin_text.bad_span(amount, USAGE["log"]))
        # 23:00-01:00 ends the next day; 11:00-09:00 (22 hours) is read as a slip, refused
        overnight = (h2, m2) < (h1, m1) and (24 * 60 - (h1 * 60 + m1) + h2 * 60 + m2) <= 12 * 60
        if overnight and day == dt.datetime.fromtimestamp(now, zone).date():
            first = dt.datetime.combine(day, dt.time(h1, m1), tzinfo=zone).timestamp()
            if first > now:
                day -= dt.timedelta(days=1)  # typed after midnight: last night's span
        start = dt.datetime.combine(day, dt.time(h1, m1), tzinfo=zone).timestamp()
        last = day + dt.timedelta(days=1) if overnight else day
        end = dt.datetime.combine(last, dt.time(h2, m2), tzinfo=zone).timestamp()
        return start, end
    seconds = parse_duration(amount) if len(amount) < 12 else None
    if not seconds:
        raise ParseError(builtin_text.bad_span(amount, USAGE["log"]))
    today = dt.datetime.fromtimestamp(now, zone).date()
    if day == today:
        return now - seconds, now  # just done
    start = dt.datetime.combine(
        day, dt.time(9, 0), tzinfo=zone
    ).timestamp()  # a past day: from 09:00
    return start, start + seconds


def _date(word: str, today: dt.date) -> dt.date:
    word = word.lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - dt.timedelta(days=1)
    if word in _WEEKDAYS:
        back = (today.weekday() - _WEEKDAYS.index(word)) % 7 or 7
        return today - dt.timedelta(days=back)
    try:
        day = dt.date.fromisoformat(word)
    except ValueError:
        raise ParseError(builtin_text.bad_date(word, USAGE["log"])) from None
    if day > today:
        raise ParseError(builtin_text.future_date(word))
    return day


def _edit(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    if not words or not words[0].lstrip("#").isdigit():
        raise ParseError(pipeline_text.missing_argument("id", USAGE["edit"]))
    entry_id = int(words[0].lstrip("#"))
    entry = ledger.get(entry_id)
    changes: dict[str, object] = {}
    for word in words[1:]:
        field, _, value = word.partition("=")
        if field == "kind":
            changes["kind"] = _kind(value, "edit")
        elif field == "category" and value in settings.toil.categories:
            changes["category"] = value
        elif field == "note":
            changes["note"] = value[:200]
        elif field == "duration" and (seconds := parse_duration(value)) and entry is not None:
            changes["end"] = entry.start + seconds
        else:
            raise ParseError(builtin_text.bad_edit(word, USAGE["edit"]))
    if not changes:
        raise ParseError(pipeline_text.missing_argument("change", USAGE["edit"]))
    edited = ledger.edit(user, entry_id, **changes)
    return builtin_text.toil_edited(edited.id, edited.kind.value, edited.category, edited.seconds)


def _undo(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    undone = ledger.undo(user)
    return builtin_text.toil_undone(undone) if undone else builtin_text.toil_nothing_to_undo()


def _me(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    year, week = week_of(now, settings.timezone)
    start, end = week_bounds(year, week, settings.timezone)
    figures = split_time(ledger.between(start, end, user), start, end)
    timer = ledger.timer(user)
    running = (timer.kind.value, timer.category, now - timer.started) if timer else None
    return builtin_text.toil_me(
        week_label(year, week),
        settings.timezone,
        _hours(figures),
        figures.ratio,
        settings.toil.thresholds,
        running,
    )


def _report(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    weeks, who = 4, "team"
    rest = [builtin_flag(word, ("weeks",)) for word in words]
    if rest and rest[0] != "--weeks":
        who = _person(rest.pop(0))
    if rest:
        if len(rest) != 2 or rest[0] != "--weeks" or not rest[1].isdigit():
            raise ParseError(builtin_text.bad_weeks(" ".join(words), USAGE["report"]))
        if not 1 <= int(rest[1]) <= 26:
            raise ParseError(builtin_text.bad_weeks(" ".join(words), USAGE["report"]))
        weeks = int(rest[1])
    year, week = week_of(now, settings.timezone)
    labels, team_rows, person_rows = [], [], []
    for back in range(weeks - 1, -1, -1):
        y, w = previous(year, week, back)
        start, end = week_bounds(y, w, settings.timezone)
        figures = team(ledger.between(start, end), start, end)
        labels.append(week_label(y, w))
        team_rows.append(figures)
        person_rows.append(figures.people.get(user if who == "team" else who, Figures()))
    quarter_start = _quarter_start(now, settings.timezone)
    quarter = team(ledger.between(quarter_start, now), quarter_start, now)
    if who != "team":
        rows = [
            (label, f.operating, f.coding, f.ratio)
            for label, f in zip(labels, person_rows, strict=True)
        ]
        theirs = quarter.people.get(who, Figures()).ratio
        return builtin_text.toil_person_report(who, rows, theirs, settings.toil.thresholds)
    team_table = [
        (label, f.operating, f.coding, f.ratio, f.median, f.highest, mine.ratio)
        for label, f, mine in zip(labels, team_rows, person_rows, strict=True)
    ]
    return builtin_text.toil_report(team_table, quarter.ratio, settings.toil.thresholds)


_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,30})(\|[^>]*)?>$")
_USER = re.compile(r"^@?([UW][A-Z0-9]{2,30})$")


def _person(word: str) -> str:
    """`team`, a Slack mention `<@U123|name>`, or a user id `U123` / `@U123`."""
    if word.lower() == "team":
        return "team"
    match = _MENTION.match(word) or _USER.match(word)
    if match is None:
        raise ParseError(builtin_text.bad_report_target(word, USAGE["report"]))
    return match.group(1)


def _tz(ledger: Ledger, settings: Settings, user: str, words: list[str], now: float) -> str:
    zones = Zones(ledger.r, settings.timezone)
    if len(words) > 1:
        raise ParseError(builtin_text.bad_zone(" ".join(words), USAGE["tz"]))
    if words and words[0].lower() in ("slack", "auto", "reset"):
        zones.clear(user)
    elif words:
        if not valid_zone(words[0]):
            raise ParseError(builtin_text.bad_zone(words[0], USAGE["tz"]))
        zones.set(user, words[0])
    zone = zones.of(user)
    return builtin_text.toil_zone(zone.name, zone.source.value)


def _quarter_start(now: float, tz: str) -> float:
    """Local midnight of the first day of the current calendar quarter."""
    zone = zoneinfo.ZoneInfo(tz)
    today = dt.datetime.fromtimestamp(now, zone).date()
    first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return dt.datetime.combine(first, dt.time(), tzinfo=zone).timestamp()


def _hours(figures: Figures) -> dict[str, float]:
    return {kind.value: seconds for kind, seconds in figures.seconds.items()}


_VERBS = {
    "start": _start,
    "switch": _start,
    "stop": _stop,
    "log": _log,
    "edit": _edit,
    "undo": _undo,
    "me": _me,
    "report": _report,
    "tz": _tz,
}
