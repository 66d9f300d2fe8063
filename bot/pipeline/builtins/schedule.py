"""`schedule add|list|show|pause|resume|remove|skip`: the same words in Slack, console and exec."""

from __future__ import annotations

import re
import time

from bot.pipeline import text as pipeline_text
from bot.pipeline.builtins import text as builtin_text
from bot.pipeline.builtins.registry import builtin
from bot.pipeline.context import Context
from bot.pipeline.parse import BuiltinCall, Invocation
from bot.pipeline.request import Channel
from bot.pipeline.specs import Confirm
from bot.pipeline.submit import confirmation_level
from bot.platform import formatting
from bot.platform.audit import AuditAction
from bot.platform.errors import Denied, ParseError
from bot.platform.store import Keys, text
from bot.platform.words import suggest
from bot.schedule.cron import Cron
from bot.schedule.model import USAGE, Schedule, parse_add
from bot.schedule.registry import REPLICA_SEEN, ScheduleError

PERMISSION = "schedule"  # to add, pause, resume, remove and skip; reading needs `jobs`
VERBS = ("list", "show", "add", "pause", "resume", "remove", "skip")


@builtin(
    name="schedule",
    summary="Scheduled runs: add, list, show, pause, resume, remove, skip (`help schedule`)",
    usage='schedule add "<command>" cron "<m h dom mon dow>" [tz <zone>] [window 2h] | '
    "schedule list|show|pause|resume|remove|skip <name>",
    permission=None,
    free_words=True,
    checks=(PERMISSION, "jobs"),
    where=True,
    details=pipeline_text.schedule_help(),
)
def schedule_(context: Context, call: BuiltinCall) -> str:
    return run(context, context.user, call.words, call.channel)


def run(context: Context, user: str, words: tuple[str, ...], channel: Channel | None = None) -> str:
    verb = words[0].lower() if words else "list"
    args = words[1:]
    if verb not in VERBS:
        raise ParseError(
            builtin_text.unknown_schedule_verb(verb, suggest(verb, list(VERBS)), USAGE)
        )
    if verb in ("list", "show"):
        _require(context, user, "jobs", verb)
        return _list(context) if verb == "list" else _show(context, _name(args, verb))
    if verb == "add":
        return _add(context, user, args, channel)
    name = _name(args, verb)
    schedule = context.schedules.get(name)
    if verb == "skip":
        if user != schedule.owner:
            _require(context, user, PERMISSION, verb)
        answer = _skip(context, schedule, user, args[1:])
        _audit(context, AuditAction.SCHEDULE_SKIPPED, user, channel, schedule, answer)
        return answer
    _require(context, user, PERMISSION, verb)
    if verb == "pause":
        if not context.schedules.pause(name, user):
            return builtin_text.schedule_already(name, "paused")
        _audit(context, AuditAction.SCHEDULE_PAUSED, user, channel, schedule)
        return builtin_text.schedule_paused(name)
    if verb == "resume":
        if not context.schedules.resume(name, int(time.time())):
            return builtin_text.schedule_already(name, "running")
        _audit(context, AuditAction.SCHEDULE_RESUMED, user, channel, schedule)
        return builtin_text.schedule_resumed(name, _next(schedule, context))
    context.schedules.remove(name)
    _audit(context, AuditAction.SCHEDULE_REMOVED, user, channel, schedule)
    return builtin_text.schedule_removed(name)


def _audit(
    context: Context,
    action: AuditAction,
    user: str,
    channel: Channel | None,
    schedule: Schedule,
    outcome: str | None = None,
) -> None:
    context.audit.try_record(
        action,
        user=user,
        source="schedule command",
        channel=channel.label() if channel else None,
        command=schedule.command,
        outcome=outcome,
        detail={"schedule": schedule.name, "when": schedule.describe(), "owner": schedule.owner},
    )


def _require(context: Context, user: str, permission: str, verb: str) -> None:
    decision = context.policy.decide(user, permission)
    if not decision:
        raise Denied(pipeline_text.denied(user, f"schedule {verb}", permission))


def _name(args: tuple[str, ...], verb: str) -> str:
    if not args:
        raise ParseError(pipeline_text.missing_argument("name", f"schedule {verb} <name>"))
    return args[0].lower()


def _add(context: Context, user: str, args: tuple[str, ...], typed_in: Channel | None) -> str:
    _require(context, user, PERMISSION, "add")
    defaults = context.settings.schedule.defaults
    request = parse_add(args, defaults)
    policy = context.policy
    parsed = context.parse(request.command)
    if not isinstance(parsed, Invocation):
        raise ParseError(builtin_text.schedule_not_a_job(request.command))
    groups = context.membership(user).groups
    # Allowed where it is typed, and in the channel it will run and report in.
    for where in dict.fromkeys([typed_in, Channel.of(request.channel)]):
        decision = policy.authorize(parsed, user, context.inventory, groups=groups, channel=where)
        if not decision:
            raise Denied(pipeline_text.not_allowed(user, parsed.normalized(), decision.rule))
        if confirmation_level(parsed, decision) is Confirm.APPROVE:
            raise Denied(pipeline_text.scheduled_needs_approval(parsed.normalized()))
    if request.during is not None and request.during not in context.settings.schedule.windows:
        raise ParseError(
            builtin_text.no_such_window(request.during, list(context.settings.schedule.windows))
        )
    base = re.sub(r"[^a-z0-9]+", "-", parsed.normalized().lower())[:40].strip("-")
    name = request.name or context.schedules.free_name(base)
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
    context.schedules.add(schedule)
    _audit(context, AuditAction.SCHEDULE_ADDED, user, typed_in, schedule)
    return builtin_text.schedule_added(
        name, schedule.command, schedule.describe(), _next(schedule, context), _schedulers(context)
    )


def _skip(context: Context, schedule: Schedule, user: str, rest: tuple[str, ...]) -> str:
    if rest:
        fire = int(rest[0]) if rest[0].isascii() and rest[0].isdigit() and len(rest[0]) < 12 else 0
        if fire <= time.time():
            raise ParseError(builtin_text.schedule_bad_skip(rest[0]))
    else:
        upcoming = schedule.timing.next_after(int(time.time()))
        if upcoming is None:
            raise ScheduleError(builtin_text.schedule_never_fires(schedule.name))
        fire = upcoming
    when = formatting.moment(fire, _timezone(schedule, context))
    if not context.schedules.request_skip(schedule.name, fire, user):
        return builtin_text.schedule_skip_already(schedule.name, when)
    return builtin_text.schedule_skip_set(schedule.name, when, user)


def _timezone(schedule: Schedule, context: Context) -> str:
    return (
        schedule.timing.timezone if isinstance(schedule.timing, Cron) else context.settings.timezone
    )


def _next(schedule: Schedule, context: Context, count: int = 1) -> list[str]:
    found = []
    moment = int(time.time())
    for _ in range(count):
        upcoming = schedule.timing.next_after(moment)
        if upcoming is None:
            break
        found.append(formatting.moment(upcoming, _timezone(schedule, context)))
        moment = upcoming
    return found


def _schedulers(context: Context) -> tuple[int, str | None]:
    """How many scheduler replicas were seen lately, and which one leads."""
    r = context.schedules.r
    alive = int(r.zcount(Keys.scheduler_replicas, time.time() - REPLICA_SEEN, "+inf"))
    leader = r.get(Keys.scheduler_leader)
    return alive, None if leader is None else text(leader)


def _list(context: Context) -> str:
    rows = []
    for schedule in context.schedules.all():
        state = context.schedules.state(schedule.name)
        last = context.schedules.history(schedule.name, 1)
        rows.append(
            (
                schedule.name,
                schedule.command,
                schedule.describe(),
                (_next(schedule, context) or ["never"])[0],
                f"paused by <@{state.paused_by}>" if state.paused_by else "active",
                last[0]["outcome"] if last else "",
            )
        )
    return builtin_text.schedule_list(rows, _schedulers(context))


def _show(context: Context, name: str) -> str:
    schedule = context.schedules.get(name)
    state = context.schedules.state(name)
    timezone = _timezone(schedule, context)
    history = [
        (
            formatting.moment(int(float(h["fire"])), timezone),
            h["outcome"],
            h.get("job", ""),
            h.get("detail", ""),
        )
        for h in context.schedules.history(name, 10)
    ]
    return builtin_text.schedule_details(
        schedule,
        schedule.describe(),
        _next(schedule, context, 3),
        state.paused_by,
        history,
        _schedulers(context),
    )
