"""Job records and progress as text a person reads (console, exec, chat replies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.execution.records import HostResult, HostStatus, JobRecord, JobStatus
from bot.platform.formatting import seconds_text

_MARK = {
    HostStatus.OK: "ok",
    HostStatus.CHANGED: "changed",
    HostStatus.FAILED: "FAILED",
    HostStatus.UNREACHABLE: "UNREACHABLE",
    HostStatus.NOT_RUN: "not run",
    HostStatus.PENDING: "pending",
    HostStatus.RUNNING: "running",
}
_STATUS = {
    JobStatus.QUEUED: "is queued",
    JobStatus.RUNNING: "is running",
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "was cancelled",
    JobStatus.TIMED_OUT: "timed out",
}


def report_text(report: dict[str, Any]) -> str:
    parts = []
    for key, value in report.items():
        label = key.replace("_", " ")
        if isinstance(value, bool):
            parts.append(f"{label}: {'yes' if value else 'no'}")
        elif isinstance(value, list):
            if len(value) <= 3:  # longer lists are shown by host_details, one item a line
                parts.append(f"{label}: {', '.join(map(str, value)) or 'none'}")
        else:
            parts.append(f"{label}: {value}")
    return " · ".join(parts)


def host_line(result: HostResult, width: int) -> str:
    line = f"  {result.host.ljust(width)}  {_MARK[result.status]:<11}"
    if result.status in (HostStatus.FAILED, HostStatus.UNREACHABLE):
        line += f" at task '{result.failed_task}': {result.message or 'no message'}"
    elif result.report:
        line += " " + report_text(result.report)
    return line.rstrip()


def host_details(result: HostResult) -> list[str]:
    """Long lists from a host's report (pending packages), one per line."""
    lines = []
    for key, value in result.report.items():
        if isinstance(value, list) and len(value) > 3:
            lines.append(f"    {key.replace('_', ' ')}:")
            lines += [f"      {item}" for item in value]
    return lines


def summary_line(record: JobRecord) -> str:
    counts: dict[str, int] = {}
    for result in record.results.values():
        counts[_MARK[result.status].lower()] = counts.get(_MARK[result.status].lower(), 0) + 1
    tally = ", ".join(f"{n} {k}" for k, n in counts.items())
    took = f" in {seconds_text(record.duration)}" if record.duration is not None else ""
    text = f"Job {record.id} {_STATUS[record.status]}{took}"
    if record.status.terminal and tally:
        text += f": {tally}"
    if record.reason:
        text += f" ({record.reason})"
    return text + "."


def job_text(record: JobRecord, output: list[str] | None = None) -> str:
    mode = " [check mode]" if record.check_mode else ""
    when = dt.datetime.fromtimestamp(record.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    by = f"schedule `{record.schedule}` of {record.user}" if record.schedule else record.user
    lines = [f"Job {record.id} · `{record.command}`{mode} · by {by} · {when}"]
    width = max((len(h) for h in record.hosts), default=4)
    for host in record.hosts:
        result = record.results.get(host, HostResult(host))
        lines.append(host_line(result, width))
        lines += host_details(result)
    lines.append(summary_line(record))
    if output:
        lines.append("Last lines of output:")
        lines += [f"  | {line}" for line in output]
    return "\n".join(lines)


def jobs_table(records: list[JobRecord]) -> str:
    lines = ["Recent jobs:"]
    for record in records:
        when = dt.datetime.fromtimestamp(record.created_at, dt.UTC).strftime("%m-%d %H:%M")
        lines.append(
            f"  {record.id:>5}  {record.status.value:<9}  {when}  "
            f"{record.user:<10}  `{record.command}`"
            + (f"  (schedule {record.schedule})" if record.schedule else "")
        )
    return "\n".join(lines)


def progress_line(task: str | None, outcome: str | None, result: dict[str, Any]) -> str:
    """One line per host event while a job runs; empty for bookkeeping events."""
    if outcome is None:
        return ""
    text = f"  {result['host']}: {outcome}"
    if task:
        text += f" · {task}"
    if outcome in ("failed", "unreachable") and result.get("message"):
        text += f": {result['message']}"
    return text
