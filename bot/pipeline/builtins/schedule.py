"""`schedule add|list|show|pause|resume|remove|skip`: the same words in Slack, console and exec."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from bot import messages
from bot.pipeline.parse import Channel, Invocation, parse
from bot.pipeline.specs import Confirm
from bot.platform.audit import AuditAction
from bot.platform.errors import Denied, ParseError
from bot.platform.store import Keys, text
from bot.platform.words import suggest
from bot.schedule.cron import Cron
from bot.schedule.model import USAGE, Schedule, parse_add
from bot.schedule.registry import REPLICA_SEEN, ScheduleError

if TYPE_CHECKING:
    from bot.pipeline.bot import Bot

PERMISSION = "schedule"  # to add, pause, resume, remove and skip; reading needs `jobs`
VERBS = ("list", "show", "add", "pause", "resume", "remove", "skip")


def run(bot: Bot, user: str, words: tuple[str, ...], channel: Channel | None = None) -> str:
    verb = words[0].lower() if words else "list"
    args = words[1:]
    if verb not in VERBS:
        raise ParseError(messages.unknown_schedule_verb(verb, suggest(verb, list(VERBS)), USAGE))
    if verb in ("list", "show"):
        _require(bot, user, "jobs", verb)
        return _list(bot) if verb == "list" else _show(bot, _name(args, verb))
    if verb == "add":
        return _add(bot, user, args, channel)
    name = _name(args, verb)
    schedule = bot.schedules.get(name)
    if verb == "skip":
        if user != schedule.owner:
            _require(bot, user, PERMISSION, verb)
        answer = _skip(bot, schedule, user, args[1:])
        _audit(bot, AuditAction.SCHEDULE_SKIPPED, user, channel, schedule, answer)
        return answer
    _require(bot, user, PERMISSION, verb)
    if verb == "pause":
        if not bot.schedules.pause(name, user):
            return messages.schedule_already(name, "paused")
        _audit(bot, AuditAction.SCHEDULE_PAUSED, user, channel, schedule)
        return messages.schedule_paused(name)
    if verb == "resume":
        if not bot.schedules.resume(name, int(time.time())):
            return messages.schedule_already(name, "running")
        _audit(bot, AuditAction.SCHEDULE_RESUMED, user, channel, schedule)
        return messages.schedule_resumed(name, _next(schedule, bot))
    bot.schedules.remove(name)
    _audit(bot, AuditAction.SCHEDULE_REMOVED, user, channel, schedule)
    return messages.schedule_removed(name)


def _audit(
    bot: Bot,
    action: AuditAction,
    user: str,
    channel: Channel | None,
    schedule: Schedule,
    outcome: str | None = None,
) -> None:
    bot.audit.try_record(
        action,
        user=user,
        source="schedule command",
        channel=channel.label() if channel else None,
        command=schedule.command,
        outcome=outcome,
        detail={"schedule": schedule.name, "when": schedule.describe(), "owner": schedule.owner},
    )


def _require(bot: Bot, user: str, permission: str, verb: str) -> None:
    decision = bot.policy.decide(user, permission)
    if not decision:
        raise Denied(messages.denied(user, f"schedule {verb}", permission))


def _name(args: tuple[str, ...], verb: str) -> str:
    if not args:
        raise ParseError(messages.missing_argument("name", f"schedule {verb} <name>"))
    return args[0].lower()


def _add(bot: Bot, user: str, args: tuple[str, ...], typed_in: Channel | None) -> str:
    _require(bot, user, PERMISSION, "add")
    defaults = bot.settings.schedule.defaults
    request = parse_add(args, defaults)
    policy = bot.policy
    parsed = parse(request.command, bot.specs, bot.inventory, policy.patterns)
    if not isinstance(parsed, Invocation):
        raise ParseError(messages.schedule_not_a_job(request.command))
    groups = bot.membership(user, policy).groups
    # Allowed where it is typed, and in the channel it will run and report in.
    for where in dict.fromkeys([typed_in, Channel.of(request.channel)]):
        decision = policy.authorize(parsed, user, bot.inventory, groups=groups, channel=where)
        if not decision:
            raise Denied(messages.not_allowed(user, parsed.normalized(), decision.rule))
        if bot.confirmation_level(parsed, decision) is Confirm.APPROVE:
            raise Denied(messages.scheduled_needs_approval(parsed.normalized()))
    if request.during is not None and request.during not in bot.settings.schedule.windows:
        raise ParseError(
            messages.no_such_window(request.during, list(bot.settings.schedule.windows))
        )
    base = re.sub(r"[^a-z0-9]+", "-", parsed.normalized().lower())[:40].strip("-")
    name = request.name or bot.schedules.free_name(base)
    schedule = Schedule(
        name=name,
        command=parsed.normalized(),
        timing=request.timing,
        window=request.window,
        owner=user,
        channel=request.channel,
        heads_up=request.heads_up,
        during=request.during,
        origin="chat",
        created_at=int(time.time()),
    )
    bot.schedules.add(schedule)
    _audit(bot, AuditAction.SCHEDULE_ADDED, user, typed_in, schedule)
    return messages.schedule_added(
        name, schedule.command, schedule.describe(), _next(schedule, bot), _schedulers(bot)
    )


def _skip(bot: Bot, schedule: Schedule, user: str, rest: tuple[str, ...]) -> str:
    if rest:
        fire = int(rest[0]) if rest[0].isascii() and rest[0].isdigit() and len(rest[0]) < 12 else 0
        if fire <= time.time():
            raise ParseError(messages.schedule_bad_skip(rest[0]))
    else:
        upcoming = schedule.timing.next_after(int(time.time()))
        if upcoming is None:
            raise ScheduleError(messages.schedule_never_fires(schedule.name))
        fire = upcoming
    when = messages.moment(fire, _timezone(schedule, bot))
    if not bot.schedules.request_skip(schedule.name, fire, user):
        return messages.schedule_skip_already(schedule.name, when)
    return messages.schedule_skip_set(schedule.name, when, user)


def _timezone(schedule: Schedule, bot: Bot) -> str:
    return schedule.timing.timezone if isinstance(schedule.timing, Cron) else bot.settings.timezone


def _next(schedule: Schedule, bot: Bot, count: int = 1) -> list[str]:
    found = []
    moment = int(time.time())
    for _ in range(count):
        upcoming = schedule.timing.next_after(moment)
        if upcoming is None:
            break
        found.append(messages.moment(upcoming, _timezone(schedule, bot)))
        moment = upcoming
    return found


def _schedulers(bot: Bot) -> tuple[int, str | None]:
    """How many scheduler replicas were seen lately, and which one leads."""
    r = bot.schedules.r
    alive = int(r.zcount(Keys.scheduler_replicas, time.time() - REPLICA_SEEN, "+inf"))
    leader = r.get(Keys.scheduler_leader)
    return alive, None if leader is None else text(leader)


def _list(bot: Bot) -> str:
    rows = []
    for schedule in bot.schedules.all():
        state = bot.schedules.state(schedule.name)
        last = bot.schedules.history(schedule.name, 1)
        rows.append(
            (
                schedule.name,
                schedule.command,
                schedule.describe(),
                (_next(schedule, bot) or ["never"])[0],
                f"paused by <@{state.paused_by}>" if state.paused_by else "active",
                last[0]["outcome"] if last else "",
            )
        )
    return messages.schedule_list(rows, _schedulers(bot))


def _show(bot: Bot, name: str) -> str:
    schedule = bot.schedules.get(name)
    state = bot.schedules.state(name)
    timezone = _timezone(schedule, bot)
    history = [
        (
            messages.moment(int(float(h["fire"])), timezone),
            h["outcome"],
            h.get("job", ""),
            h.get("detail", ""),
        )
        for h in bot.schedules.history(name, 10)
    ]
    return messages.schedule_details(
        schedule.to_json(),
        schedule.describe(),
        _next(schedule, bot, 3),
        state.paused_by,
        history,
        _schedulers(bot),
    )
