"""A schedule, change freezes and maintenance windows: what they are and how they are read.

Schedules come from chat (`schedule add ...`) or from toilbot.yaml; freezes
and maintenance windows only from toilbot.yaml. Pure: no Redis, no clock.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.platform.errors import ParseError
from bot.platform.ids import USER_ID
from bot.platform.schema import Node, parse_duration
from bot.schedule import text as schedule_text
from bot.schedule.cron import Cron, Every, Timing, parse_cron

NAME = r"[a-z0-9][a-z0-9-]{0,39}"
MIN_EVERY = 1  # seconds; an every-second schedule is allowed (tests use one)
MAX_DURATION = 7 * 86400
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?")


@dataclass(frozen=True)
class Schedule:
    name: str
    command: str  # the command as the owner typed it, normalized
    timing: Timing
    window: int  # seconds a run may start late (after an outage) before it is skipped
    owner: str  # whose permissions it runs with, checked again at every fire
    channel: str | None  # where heads-ups, skips and results go (None: nowhere but history)
    heads_up: int  # seconds before a run to announce it; 0 for none
    during: str | None  # a maintenance window it must run inside
    origin: str  # "chat" or the config file
    created_at: int

    def describe(self) -> str:
        return self.timing.describe()

    def wake_at(self, now: int, *, looked: bool = True) -> float:
        """When the scheduler must next look at it, everything up to ``now`` being decided: its
        next fire time, or the heads-up before it; infinity if it never fires again. Not
        ``looked`` at yet (just added or resumed): a heads-up already due is due at ``now``."""
        upcoming = self.timing.next_after(now)
        if upcoming is None:
            return math.inf
        notice = upcoming - self.heads_up
        if self.heads_up and (notice > now or not looked):
            return max(notice, now)
        return upcoming

    def to_json(self) -> dict[str, Any]:
        timing: dict[str, Any] = (
            {"cron": self.timing.expression, "tz": self.timing.timezone}
            if isinstance(self.timing, Cron)
            else {"every": self.timing.seconds}
        )
        return {
            "name": self.name,
            "command": self.command,
            "timing": timing,
            "window": self.window,
            "owner": self.owner,
            "channel": self.channel,
            "heads_up": self.heads_up,
            "during": self.during,
            "origin": self.origin,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        raw = data["timing"]
        timing: Timing = (
            parse_cron(raw["cron"], raw["tz"]) if "cron" in raw else Every(int(raw["every"]))
        )
        return cls(
            name=data["name"],
            command=data["command"],
            timing=timing,
            window=int(data["window"]),
            owner=data["owner"],
            channel=data.get("channel"),
            heads_up=int(data.get("heads_up", 0)),
            during=data.get("during"),
            origin=data.get("origin", "chat"),
            created_at=int(data.get("created_at", 0)),
        )


@dataclass(frozen=True)
class Freeze:
    """No scheduled changes, and chat changes only with an approved override."""

    name: str
    start: int
    end: int

    def contains(self, moment: float) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class MaintenanceWindow:
    """A recurring period in which changes may run: opens on its cron, lasts ``duration``."""

    name: str
    opens: Cron
    duration: int

    def contains(self, moment: int) -> bool:
        opened = self.opens.next_after(moment - self.duration)
        return opened is not None and opened <= moment

    def next_open(self, moment: int) -> int | None:
        return self.opens.next_after(moment)


@dataclass(frozen=True)
class Defaults:
    window: int
    heads_up: int
    timezone: str
    channel: str | None


@dataclass(frozen=True)
class AddRequest:
    """`schedule add "<command>" (cron "<expr>" [tz <zone>] | every <duration>) [options]`."""

    command: str
    timing: Timing
    window: int
    heads_up: int
    during: str | None
    name: str | None
    channel: str | None


USAGE = (
    'schedule add "<command>" cron "<m h dom mon dow>" [tz <zone>] [window 2h] '
    "[heads-up 15m] [during <maintenance window>] [name <name>]"
    '  |  schedule add "<command>" every <1h> [...]'
)
_OPTIONS = ("tz", "window", "heads-up", "during", "name", "channel")


def parse_add(words: tuple[str, ...], defaults: Defaults) -> AddRequest:
    """The words after `schedule add`; a ParseError says what is wrong and shows the usage."""
    if len(words) < 3:
        raise ParseError(schedule_text.schedule_usage(USAGE))
    command, how = words[0], words[1].lower()
    options: dict[str, str] = {}
    rest = list(words[2:])
    if how == "cron" or how == "every":
        expression = rest.pop(0)
    else:
        raise ParseError(schedule_text.schedule_expected_timing(words[1], USAGE))
    while rest:
        key = rest.pop(0).lower()
        if key not in _OPTIONS:
            raise ParseError(schedule_text.schedule_unknown_option(key, _OPTIONS, USAGE))
        if not rest:
            raise ParseError(schedule_text.schedule_option_needs_value(key, USAGE))
        if key in options:
            raise ParseError(schedule_text.repeated_flag(key, USAGE))
        options[key] = rest.pop(0)
    timezone = options.get("tz", defaults.timezone)
    timing: Timing
    if how == "cron":
        timing = parse_cron(expression, timezone)
    else:
        if "tz" in options:
            raise ParseError(schedule_text.schedule_tz_with_every(USAGE))
        seconds = _duration(expression, "every", MIN_EVERY, USAGE)
        timing = Every(seconds)
    name = options.get("name")
    if name is not None and not re.fullmatch(NAME, name):
        raise ParseError(schedule_text.schedule_bad_name(name))
    channel = options.get("channel", defaults.channel)
    if channel is not None and not re.fullmatch(r"#?[A-Za-z0-9_-]{1,80}", channel):
        raise ParseError(schedule_text.schedule_bad_channel(channel))
    during = options.get("during")
    if during is not None and not re.fullmatch(NAME, during):
        raise ParseError(schedule_text.schedule_bad_name(during))
    return AddRequest(
        command=command,
        timing=timing,
        window=_duration(options["window"], "window", 1, USAGE)
        if "window" in options
        else defaults.window,
        heads_up=_duration(options["heads-up"], "heads-up", 0, USAGE)
        if "heads-up" in options
        else defaults.heads_up,
        during=during,
        name=name,
        channel=channel,
    )


def _duration(text: str, what: str, low: int, usage: str) -> int:
    seconds = parse_duration(text) if len(text) < 20 and text.isascii() else None
    if seconds is None or not low <= seconds <= MAX_DURATION:
        raise ParseError(schedule_text.bad_duration(what, text, low, MAX_DURATION, usage))
    return seconds


def parse_moment(text: str, timezone: str) -> int | None:
    """'2026-12-18' or '2026-12-18 08:00' in ``timezone`` -> epoch seconds; None if malformed."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    year, month, day, hour, minute = (int(g) if g else 0 for g in match.groups())
    try:
        local = datetime(year, month, day, hour, minute, tzinfo=zoneinfo.ZoneInfo(timezone))
    except ValueError:
        return None
    return int(local.timestamp())


def _maybe_duration(node: Node) -> int:
    """A duration where 0 (or "none") means "not at all"."""
    return 0 if node.value in (0, "0", "none") else node.duration()


def load_freezes(node: Node, timezone: str) -> tuple[Freeze, ...]:
    freezes = []
    for name, item in node.items():
        Node(item.path, item.key, name).text(NAME, "use a lower-case name such as year-end")
        item.check_keys({"from", "until"})
        bounds = []
        for key in ("from", "until"):
            child = item.child(key)
            moment = parse_moment(str(child.value), timezone)
            if moment is None:
                raise child.error(
                    f"{child.value!r} is not a date", "write 2026-12-18 or '2026-12-18 08:00'"
                )
            bounds.append(moment)
        if bounds[0] >= bounds[1]:
            raise item.error("ends before it starts", "make `until` later than `from`")
        freezes.append(Freeze(name, bounds[0], bounds[1]))
    return tuple(freezes)


def load_windows(node: Node, timezone: str) -> dict[str, MaintenanceWindow]:
    windows = {}
    for name, item in node.items():
        Node(item.path, item.key, name).text(NAME, "use a lower-case name such as sunday-night")
        item.check_keys({"cron", "timezone", "duration"})
        tz = item.child("timezone", timezone).text()
        cron_node = item.child("cron")
        try:
            opens = parse_cron(cron_node.text(), tz)
        except ParseError as exc:
            raise cron_node.error(
                str(exc), "write five cron fields such as '0 2 * * SUN'"
            ) from None
        duration = item.child("duration").duration()
        if not 60 <= duration <= MAX_DURATION:
            raise item.child("duration").error("must be 1m to 7 days", "write e.g. 4h")
        windows[name] = MaintenanceWindow(name, opens, duration)
    return windows


def load_configured(
    node: Node, defaults: Defaults, windows: dict[str, MaintenanceWindow]
) -> dict[str, tuple[Schedule, Node]]:
    """Schedules declared in toilbot.yaml, with their node so a bad command names its key."""
    found = {}
    for name, item in node.items():
        Node(item.path, item.key, name).text(NAME, "use a lower-case name such as web-sunday")
        item.check_keys(
            {
                "command",
                "cron",
                "every",
                "timezone",
                "window",
                "owner",
                "channel",
                "heads_up",
                "during",
            }
        )
        timing: Timing
        if ("cron" in item.mapping()) == ("every" in item.mapping()):
            raise item.error("needs exactly one of cron or every", "add cron: '0 3 * * SUN'")
        if "cron" in item.mapping():
            cron_node = item.child("cron")
            try:
                timing = parse_cron(
                    cron_node.text(), item.child("timezone", defaults.timezone).text()
                )
            except ParseError as exc:
                raise cron_node.error(
                    str(exc), "write five cron fields such as '0 3 * * SUN'"
                ) from None
        else:
            timing = Every(item.child("every").duration())
        during = item.child("during", None).value
        if during is not None and during not in windows:
            raise item.child("during").error(
                f"there is no maintenance window {during!r}",
                f"use one of: {', '.join(windows) or '(none declared under maintenance_windows)'}",
            )
        channel_node = item.child("channel", defaults.channel)
        schedule = Schedule(
            name=name,
            command=item.child("command").text(),
            timing=timing,
            window=item.child("window", defaults.window).duration(),
            owner=item.child("owner").text(USER_ID, "use the Slack user id of its owner"),
            channel=None if channel_node.value is None else channel_node.text(),
            heads_up=_maybe_duration(item.child("heads_up", defaults.heads_up)),
            during=during,
            origin=item.path,
            created_at=0,
        )
        found[name] = (schedule, item)
    return found


@dataclass(frozen=True)
class ScheduleSettings:
    lease_seconds: int  # a leader silent this long is replaced
    defaults: Defaults
    freezes: tuple[Freeze, ...]
    windows: dict[str, MaintenanceWindow]
    configured: dict[str, tuple[Schedule, Node]]  # from toilbot.yaml, commands checked by Bot.load

    def freeze_at(self, moment: float) -> Freeze | None:
        return next((f for f in self.freezes if f.contains(moment)), None)


def load_schedule_settings(root: Node, timezone: str, channel: str | None) -> ScheduleSettings:
    node = root.child("scheduler", {})
    node.check_keys({"lease_seconds", "window", "heads_up", "channel"})
    channel_node = node.child("channel", channel)
    defaults = Defaults(
        window=node.child("window", "1h").duration(),
        heads_up=_maybe_duration(node.child("heads_up", "15m")),
        timezone=timezone,
        channel=None if channel_node.value is None else channel_node.text(),
    )
    windows = load_windows(root.child("maintenance_windows", {}), timezone)
    return ScheduleSettings(
        lease_seconds=node.child("lease_seconds", 15).number(2, 600),
        defaults=defaults,
        freezes=load_freezes(root.child("freezes", {}), timezone),
        windows=windows,
        configured=load_configured(root.child("schedules", {}), defaults, windows),
    )
