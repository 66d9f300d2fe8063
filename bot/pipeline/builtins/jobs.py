"""`jobs`, `job <id>` and `cancel <id>`: the jobs in the queue and how they went."""

from __future__ import annotations

from bot.execution import render
from bot.execution.records import JobStatus
from bot.pipeline.builtins import text
from bot.pipeline.builtins.registry import builtin
from bot.pipeline.context import Context
from bot.pipeline.parse import BuiltinCall
from bot.platform.errors import JobError


def _job_id(word: str | None) -> int:
    if word is None or not word.isascii() or not word.lstrip("#").isdigit() or len(word) > 12:
        raise JobError(text.bad_job_id(word or ""))
    return int(word.lstrip("#"))


@builtin(name="jobs", summary="Recent jobs and their status", usage="jobs", permission="jobs")
def jobs(context: Context, call: BuiltinCall) -> str:
    context.jobs.reap(context.settings.jobs.lease_seconds)
    records = context.jobs.recent(15)
    return render.jobs_table(records) if records else text.no_jobs()


@builtin(
    name="job",
    summary="One job: status, per-host results, output",
    usage="job <id>",
    permission="jobs",
    argument="id",
    argument_required=True,
)
def job(context: Context, call: BuiltinCall) -> str:
    job_id = _job_id(call.argument)
    context.jobs.reap(context.settings.jobs.lease_seconds)
    record = context.jobs.get(job_id)
    output = None if record.status is JobStatus.SUCCEEDED else context.jobs.output(job_id, 15)
    return render.job_text(record, output)


@builtin(
    name="cancel",
    summary="Stop a queued or running job",
    usage="cancel <id>",
    permission="cancel",
    argument="id",
    argument_required=True,
)
def cancel(context: Context, call: BuiltinCall) -> str:
    job_id = _job_id(call.argument)
    context.jobs.reap(context.settings.jobs.lease_seconds)
    return context.jobs.cancel(job_id, context.user)
