"""Job records and progress as text a person reads (console, exec, chat replies).

A job's text starts with its outcome (:func:`headline`): a mark, what happened, on how
many hosts, how long, the counts. Failed hosts come first in its table. A running host is
``running`` on its current task until its play ends. How people, times and free text
(commands, task names, messages) appear is the front end's choice (:class:`Style`); the
default is mrkdwn, the text every front end receives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.execution.records import HostResult, HostStatus, JobRecord, JobStatus
from bot.platform.formatting import seconds_text, when

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _same(text: str) -> str:
    return text


def _inert(text: str) -> str:
    """Text the bot did not write (a command, a task, Ansible's output), with no <...> markup:
    without a ``<`` nothing opens a mention, a link or a broadcast, and ``=>`` still reads."""
    return text.replace("<", "‹")


def _mention(user: str) -> str:
    return f"<@{user}>" if _USER_ID.fullmatch(user) else _inert(user)


@dataclass(frozen=True)
class Style:
    """How a text shows a person, a moment, and free text it did not write itself."""

    person: Callable[[str], str]
    moment: Callable[[float], str]
    words: Callable[[str], str]


# Replies are mrkdwn (Slack shows it; the console's terminal renders it): people as
# mentions, times in each reader's timezone, typed and playbook text without <...> markup.
MRKDWN = Style(person=_mention, moment=when, words=_inert)
# Plain text as it is stored (a file of per-host results): ids, UTC, words as they came.
PLAIN = Style(person=_same, moment=_utc, words=_same)

_MARK = {
    HostStatus.OK: "ok",
    HostStatus.CHANGED: "changed",
    HostStatus.FAILED: "FAILED",
    HostStatus.UNREACHABLE: "UNREACHABLE",
    HostStatus.NOT_RUN: "not run",
    HostStatus.UNFINISHED: "not finished",
    HostStatus.PENDING: "pending",
    HostStatus.RUNNING: "running",
}
# Worst first: the order of a job's table and of its counts.
_ORDER = (
    HostStatus.FAILED,
    HostStatus.UNREACHABLE,
    HostStatus.UNFINISHED,
    HostStatus.NOT_RUN,
    HostStatus.RUNNING,
    HostStatus.PENDING,
    HostStatus.CHANGED,
    HostStatus.OK,
)
_BAD = (HostStatus.FAILED, HostStatus.UNREACHABLE)
_STATUS = {
    JobStatus.QUEUED: "is queued",
    JobStatus.RUNNING: "is running",
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "was cancelled",
    JobStatus.TIMED_OUT: "timed out",
}
_SIGN = {
    JobStatus.QUEUED: "🕓",
    JobStatus.RUNNING: "⏳",
    JobStatus.SUCCEEDED: "✅",
    JobStatus.FAILED: "❌",
    JobStatus.CANCELED: "⏹️",
    JobStatus.TIMED_OUT: "⌛",
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


def host_line(result: HostResult, width: int, style: Style = MRKDWN) -> str:
    line = f"  {result.host.ljust(width)}  {_MARK[result.status]:<11}"
    if result.status in _BAD:
        task = style.words(result.failed_task or "?")
        line += f" at task '{task}': {style.words(result.message or 'no message')}"
    elif result.status is HostStatus.RUNNING and result.task:
        line += f" task '{style.words(result.task)}'"
    elif result.report:
        line += " " + style.words(report_text(result.report))
    return line.rstrip()


def results(record: JobRecord) -> list[HostResult]:
    """Each host's result as it stands; once the job ended, no host is pending or running."""
    found = [record.results.get(h, HostResult(h)) for h in record.hosts]
    if not record.status.terminal:
        return found
    ended = {HostStatus.PENDING: HostStatus.NOT_RUN, HostStatus.RUNNING: HostStatus.UNFINISHED}
    return [
        replace(r, status=ended[r.status], task=None) if r.status in ended else r for r in found
    ]


def ordered(record: JobRecord) -> list[HostResult]:
    """The job's hosts, failed first, then unfinished, running, and ok last (stable)."""
    return sorted(results(record), key=lambda result: _ORDER.index(result.status))


def host_details(result: HostResult) -> list[str]:
    """Long lists from a host's report (pending packages), one per line."""
    lines = []
    for key, value in result.report.items():
        if isinstance(value, list) and len(value) > 3:
            lines.append(f"    {key.replace('_', ' ')}:")
            lines += [f"      {item}" for item in value]
    return lines


def counts(record: JobRecord) -> str:
    """How many hosts ended how, worst first: '1 failed, 3 ok'."""
    tally = Counter(result.status for result in results(record))
    return ", ".join(
        f"{tally[status]} {_MARK[status].lower()}" for status in _ORDER if tally[status]
    )


def _took(record: JobRecord) -> str:
    if record.duration is None:
        return ""
    word = "for" if record.status is JobStatus.RUNNING else "in"
    if record.status in (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.TIMED_OUT):
        word = "after"
    return f" {word} {seconds_text(record.duration)}"


def _hosts(count: int) -> str:
    return f"{count} host{'' if count == 1 else 's'}"


def _names(names: list[str], style: Style) -> str:
    shown = ", ".join(style.words(n) for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def headline(record: JobRecord, style: Style = MRKDWN) -> str:
    """The outcome in one line, first in every job message.

    ✅ Job 12 succeeded on 4 hosts in 38s
    ❌ Job 13 failed on web-02 at 'Restart nginx' after 40s — 3 ok, 1 failed
    """
    status = record.status
    text = f"{_SIGN[status]} Job {record.id} {_STATUS[status]}"
    found = results(record)
    failed = [r for r in found if r.status in _BAD]
    if status is JobStatus.FAILED and failed:
        text += " on " + _names([r.host for r in failed], style)
        tasks = {r.failed_task for r in failed}
        if len(tasks) == 1 and None not in tasks:
            text += f" at '{style.words(str(failed[0].failed_task))}'"
    elif status is JobStatus.CANCELED and record.stopped_by:
        text += f" by {style.person(record.stopped_by)}"
    if not (status is JobStatus.FAILED and failed):
        text += f" on {_hosts(len(record.hosts))}"
    text += _took(record)
    running = Counter(r.task for r in found if r.status is HostStatus.RUNNING and r.task)
    if running:
        text += f", now at '{style.words(running.most_common(1)[0][0])}'"
    if status is JobStatus.TIMED_OUT:
        text += f" (limit {seconds_text(record.timeout)})"
    tally = counts(record)
    plain = status is JobStatus.SUCCEEDED and not any(r.changed for r in found)
    if status is not JobStatus.QUEUED and tally and not plain:
        text += f" — {tally}"
    if status is JobStatus.FAILED and not failed and record.reason:
        text += f": {style.words(record.reason)}"
    return text


def summary_line(record: JobRecord) -> str:
    tally = counts(record)
    text = f"Job {record.id} {_STATUS[record.status]}{_took(record)}"
    if record.status.terminal and tally:
        text += f": {tally}"
    if record.reason:
        text += f" ({record.reason})"
    return text + "."


def about_line(record: JobRecord, style: Style = MRKDWN) -> str:
    """What ran, for whom, when: `status web` [check mode] · by U0ALICE · 2026-12-01 14:50 UTC."""
    mode = " [check mode]" if record.check_mode else ""
    user = style.person(record.user)
    by = f"schedule `{style.words(record.schedule)}` of {user}" if record.schedule else user
    return f"`{style.words(record.command)}`{mode} · by {by} · {style.moment(record.created_at)}"


def host_table(record: JobRecord, style: Style = MRKDWN) -> list[str]:
    """A line a host, failed first, with its long report lists under it."""
    width = max((len(h) for h in record.hosts), default=4)
    lines = []
    for result in ordered(record):
        lines.append(host_line(result, width, style))
        lines += [style.words(line) for line in host_details(result)]
    return lines


def job_text(record: JobRecord, output: list[str] | None = None, style: Style = MRKDWN) -> str:
    lines = [headline(record, style), about_line(record, style), *host_table(record, style)]
    return "\n".join(lines + output_lines(output, style))


def output_lines(output: list[str] | None, style: Style = MRKDWN) -> list[str]:
    """The last lines of Ansible's output, under a title; nothing without output."""
    if not output:
        return []
    return ["Last lines of output:", *(f"  | {style.words(line)}" for line in output)]


def jobs_table(records: list[JobRecord]) -> str:
    lines = ["Recent jobs:"]
    for record in records:
        at = dt.datetime.fromtimestamp(record.created_at, dt.UTC).strftime("%m-%d %H:%M")
        lines.append(
            f"  {record.id:>5}  {record.status.value:<9}  {at}  "
            f"{_inert(record.user):<10}  `{_inert(record.command)}`"
            + (f"  (schedule {_inert(record.schedule)})" if record.schedule else "")
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
