"""Admitting a run: the confirmation it needs first, and its audited submission.

Both the pipeline's last steps and an approval that reaches its quorum queue a job
through ``submit_audited``, so a queued job always has its command.accepted entry.
"""

from __future__ import annotations

from typing import Any

from bot.execution.jobs import Jobs
from bot.execution.records import JobRecord
from bot.pipeline.parse import Invocation
from bot.pipeline.policy.rules import Decision
from bot.pipeline.request import ReplyTo
from bot.pipeline.specs import Confirm
from bot.platform.audit import AuditAction
from bot.schedule.model import Freeze

AUDIT_TEXT = 1000  # characters of a command or reply kept in its audit entry
_ORDER = (Confirm.NONE, Confirm.CONFIRM, Confirm.APPROVE)


def confirmation_level(
    invocation: Invocation, decision: Decision, freeze: Freeze | None = None
) -> Confirm:
    """THE one place that decides what a run needs before it is queued: nothing in check
    mode; else the strictest of the spec's level, the policy rule's, and approval for a
    change during a freeze (the override)."""
    if invocation.check_mode:
        return Confirm.NONE
    levels = [invocation.spec.confirm, decision.confirm or Confirm.NONE]
    if freeze is not None and invocation.changes_hosts:
        levels.append(Confirm.APPROVE)
    return max(levels, key=_ORDER.index)


def verdict(decision: Decision) -> str:
    return "allowed" if decision.allowed else "denied"


def submit_audited(
    jobs: Jobs,
    invocation: Invocation,
    decision: Decision,
    *,
    user: str,
    source: str,
    queue: str,
    reply_to: ReplyTo | None,
    scheduled: tuple[str, int] | None = None,
    detail: dict[str, Any],
) -> JobRecord:
    """Submit the job; its command.accepted entry is written before any worker sees it."""

    def audited(record: JobRecord) -> None:
        jobs.audit.record(
            AuditAction.COMMAND_ACCEPTED,
            user=user,
            source=source,
            channel=reply_to.channel if reply_to else None,
            command=record.command,
            decision=verdict(decision),
            rule=decision.rule,
            job=record.id,
            detail={"hosts": record.hosts, "check_mode": record.check_mode, **detail},
        )

    notify = reply_to.to_json() if reply_to else None
    return jobs.submit(
        invocation.order(), user, source, queue, notify, scheduled, before_queue=audited
    )
