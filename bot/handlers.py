"""Commands implemented in Python, registered explicitly: help, jobs, job, cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot import messages, render
from bot.errors import JobError, ParseError
from bot.jobs import JobStatus
from bot.parse import BUILTINS, BuiltinCall, suggest
from bot.schedule import commands as schedule_commands
from bot.specs import ParamType
from bot.toil import commands as toil_commands
from bot.toil.ledger import Ledger

if TYPE_CHECKING:
    from bot.service import Bot

Handler = Callable[["Bot", BuiltinCall, str], str]


def run(bot: Bot, call: BuiltinCall, user: str) -> str:
    return HANDLERS[call.builtin.name](bot, call, user)


def _help(bot: Bot, call: BuiltinCall, user: str) -> str:
    if call.argument is None:
        rows = [(spec.usage(), spec.summary) for spec in bot.specs.values()]
        rows += [(b.usage, b.summary) for b in BUILTINS.values()]
        return messages.help_index(rows)
    name = call.argument.lower()
    if name in BUILTINS:
        builtin = BUILTINS[name]
        return messages.help_command(builtin.usage, builtin.summary, [], [])
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
    return schedule_commands.run(bot, user, call.words)


HANDLERS: dict[str, Handler] = {
    "schedule": _schedule,
    "toil": _toil,
    "help": _help,
    "jobs": _jobs,
    "job": _job,
    "cancel": _cancel,
}
