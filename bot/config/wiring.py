"""Start-up wiring: settings -> the Bot, the execution workers run, the sweeps beside them.

The ports are filled here: approval notices (``ApprovalNotifier``), the observers of
a job's life (``JobObserver``: the toil recorder always, plus what the caller
adds), the playbook runner, and the background sweeps. The front ends call
``assemble`` with what only they can give (the Slack notices, the Slack job
message, Slack's sweeps); nothing here imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.execution.ansible import run_playbook
from bot.execution.lifecycle import JobObserver
from bot.execution.measure import JobMetrics
from bot.execution.run import Execution, PlaybookRunner, install
from bot.execution.rundirs import runs_dir
from bot.execution.sweeps import Sweep, audit_retention, reap_jobs
from bot.pipeline.approvals import Approvals
from bot.pipeline.bot import Bot
from bot.pipeline.notices import ApprovalNotifier
from bot.pipeline.settings import Settings
from bot.platform.store import Store
from bot.toil.recorder import ToilRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assembly:
    bot: Bot
    execution: Execution
    sweeps: tuple[Sweep, ...]  # what a `toilbot worker` runs beside its jobs


def assemble(
    settings: Settings,
    store: Store,
    *,
    notifier: ApprovalNotifier | None = None,
    observers: Sequence[JobObserver] = (),
    sweeps: Sequence[Sweep] = (),
    runner: PlaybookRunner = run_playbook,
) -> Assembly:
    """Load and validate everything (a problem is a ConfigError) and install the execution
    this process's workers use."""
    bot = Bot.load(settings, store, notifier)
    execution = Execution(
        jobs=settings.jobs,
        playbooks_dir=settings.playbooks_dir,
        inventory=settings.inventory.sources,
        runs_dir=runs_dir(settings.data_dir),
        observers=(ToilRecorder(settings.toil, settings.timezone), JobMetrics(), *observers),
        runner=runner,
    )
    install(execution)
    lease = settings.jobs.lease_seconds
    core = [reap_jobs(bot.jobs, lease), expire_approvals(bot.approvals, max(1.0, lease / 2))]
    if settings.audit_retention is not None:
        core.append(audit_retention(bot.audit, settings.audit_retention))
    return Assembly(bot, execution, (*core, *sweeps))


def expire_approvals(approvals: Approvals, every: float) -> Sweep:
    """Approval requests past their time end as expired (recorded and announced)."""

    def run() -> None:
        for request in approvals.expire_due():
            log.info("approval request %s expired: %s", request.id, request.command)

    return Sweep("expire approval requests", run, every)
