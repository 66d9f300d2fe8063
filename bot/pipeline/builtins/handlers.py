"""Commands implemented in Python, registered explicitly: help, jobs, job, cancel, toil,
schedule, whoami, can, approvals, approve, deny."""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import messages
from bot.execution import render
from bot.execution.jobs import JobStatus
from bot.pipeline.builtins import schedule as schedule_commands
from bot.pipeline.builtins import toil as toil_commands
from bot.pipeline.parse import BUILTINS, BuiltinCall, parse
from bot.pipeline.specs import ParamType
from bot.platform.errors import JobError, ParseError
from bot.platform.ids import USER_ID
from bot.platform.store import QUEUE
from bot.platform.words import suggest
from bot.toil.ledger import Ledger

if TYPE_CHECKING:
    from bot.pipeline.bot import Bot, Reply

Handler = Callable[["Bot", BuiltinCall, str], str]
#: Builtins that answer with a Reply; they get the caller's queue (approve may queue a job).
JobHandler = Callable[["Bot", BuiltinCall, str, str], "Reply"]


def run(bot: Bot, call: BuiltinCall, user: str, queue: str = QUEUE) -> str | Reply:
    name = call.builtin.name
    if name in JOB_HANDLERS:
        return JOB_HANDLERS[name](bot, call, user, queue)
    return HANDLERS[name](bot, call, user)


def _help(bot: Bot, call: BuiltinCall, user: str) -> str:
    if call.argument is None:
        rows = [(spec.usage(), spec.summary) for spec in bot.specs.values()]
        rows += [(b.usage, b.summary) for b in BUILTINS.values()]
        return messages.help_index(rows)
    name = call.argument.lower()
    if name in BUILTINS:
        builtin = BUILTINS[name]
        return messages.help_command(builtin.usage, builtin.summary, list(builtin.details), [])
    if name not in bot.specs:
        known = sorted(set(bot.specs) | set(BUILTINS))
        raise ParseError(messages.unknown_command(call.argument, suggest(name, known)))
    spec = bot.specs[name]
    details = []
    for param in spec.params.values():
        label = f"--{param.name.replace('_', '-')}" if param.is_flag else f"<{param.name}>"
        extra = ""
        if param.type is ParamType.TARGETS:
            extra = f" (one of: {', '.join(bot.inventory.names()[:15])})"
        elif param.type is ParamType.CHOICE:
            extra = f" (one of: {', '.join(param.choices)})"
        elif param.type is ParamType.INT:
            extra = f" ({param.minimum} to {param.maximum})"
        elif param.type is ParamType.DURATION:
            extra = (
                f" ({messages.seconds_text(param.minimum or 0)} to "
                f"{messages.seconds_text(param.maximum or 0)})"
            )
        details.append(f"  {label}: {param.help}{extra}")
    footer = [
        messages.help_footer(spec.permission, spec.confirm.value, spec.timeout, spec.manual_minutes)
    ]
    return messages.help_command(spec.usage(), spec.summary, details, footer)


def _job_id(text: str | None) -> int:
    if text is None or not text.isascii() or not text.lstrip("#").isdigit() or len(text) > 12:
        raise JobError(messages.bad_job_id(text or ""))
    return int(text.lstrip("#"))


def _jobs(bot: Bot, call: BuiltinCall, user: str) -> str:
    bot.jobs.reap(bot.settings.jobs.lease_seconds)
    records = bot.jobs.recent(15)
    return render.jobs_table(records) if records else messages.no_jobs()


def _job(bot: Bot, call: BuiltinCall, user: str) -> str:
    job_id = _job_id(call.argument)
    bot.jobs.reap(bot.settings.jobs.lease_seconds)
    record = bot.jobs.get(job_id)
    output = None if record.status is JobStatus.SUCCEEDED else bot.jobs.output(job_id, 15)
    return render.job_text(record, output)


def _cancel(bot: Bot, call: BuiltinCall, user: str) -> str:
    job_id = _job_id(call.argument)
    bot.jobs.reap(bot.settings.jobs.lease_seconds)
    return bot.jobs.cancel(job_id, user)


def _toil(bot: Bot, call: BuiltinCall, user: str) -> str:
    return toil_commands.run(Ledger(bot.jobs.r), bot.settings, user, call.words)


def _schedule(bot: Bot, call: BuiltinCall, user: str) -> str:
    return schedule_commands.run(bot, user, call.words, call.channel)


def _policy_line(bot: Bot) -> str:
    path = str(bot.settings.config_path)
    if bot.policies is None:
        return messages.policy_loaded(path, "start-up")
    bot.policy  # noqa: B018 - re-reads the file if it changed, so the answer is current
    state = bot.policies.state
    if state.error is not None:
        return messages.policy_stale(path, _clock(state.error_at or 0), state.error)
    return messages.policy_loaded(path, _clock(state.loaded_at))


def _clock(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def _whoami(bot: Bot, call: BuiltinCall, user: str) -> str:
    policy = bot.policy
    membership = bot.membership(user, policy)
    roles = [
        (role.name, role.via(user, membership.groups))
        for role in policy.roles
        if role.holds(user, membership.groups)
    ]
    rules = [
        f"role {role.name}: {replace(rule, max_hosts=rule.max_hosts or role.max_hosts).describe()}"
        f" ({rule.key})"
        for role in policy.roles
        if role.holds(user, membership.groups)
        for rule in role.all_rules()
    ]
    return messages.whoami(
        user,
        sorted(membership.groups),
        membership.notes,
        roles,
        rules,
        policy.rate_limit.text if policy.rate_limit else None,
        _policy_line(bot),
    )


_MENTION = re.compile(r"<@(" + USER_ID + r")(?:\|[^>]*)?>|(" + USER_ID + r")")


def _can(bot: Bot, call: BuiltinCall, user: str) -> str:
    match = _MENTION.fullmatch(call.words[0]) if call.words else None
    if match is None or len(call.words) < 2:
        raise ParseError(messages.can_usage())
    who = match.group(1) or match.group(2)
    policy = bot.policy
    parsed = parse(shlex.join(call.words[1:]), bot.specs, bot.inventory, policy.patterns)
    membership = bot.membership(who, policy)
    decision = policy.authorize(
        parsed, who, bot.inventory, groups=membership.groups, channel=call.channel
    )
    command = parsed.builtin.name if isinstance(parsed, BuiltinCall) else parsed.normalized()
    rule = decision.rule
    if decision.confirm is not None:
        rule += f"; confirmation: {decision.confirm.value}"
    where = messages.where_text(call.channel.label() if call.channel else None)
    return messages.can_answer(who, command, where, decision.allowed, rule, membership.notes)


def _approval_id(text: str | None, usage: str) -> int:
    if text is None or not text.isascii() or not text.lstrip("#").isdigit() or len(text) > 12:
        raise ParseError(messages.bad_approval_id(text or "", usage))
    return int(text.lstrip("#"))


def _approvals(bot: Bot, call: BuiltinCall, user: str) -> str:
    bot.approvals.expire_due()
    pending = bot.approvals.pending()
    return messages.approvals_list(pending) if pending else messages.no_pending_approvals()


def _approve(bot: Bot, call: BuiltinCall, user: str, queue: str) -> Reply:
    return bot.approve(_approval_id(call.argument, call.builtin.usage), user, queue)


def _deny(bot: Bot, call: BuiltinCall, user: str, queue: str) -> Reply:
    if not call.words:
        raise ParseError(messages.missing_argument("id", call.builtin.usage))
    request_id = _approval_id(call.words[0], call.builtin.usage)
    return bot.deny(request_id, user, " ".join(call.words[1:]))


HANDLERS: dict[str, Handler] = {
    "whoami": _whoami,
    "can": _can,
    "schedule": _schedule,
    "toil": _toil,
    "help": _help,
    "jobs": _jobs,
    "job": _job,
    "cancel": _cancel,
    "approvals": _approvals,
}

JOB_HANDLERS: dict[str, JobHandler] = {
    "approve": _approve,
    "deny": _deny,
}
