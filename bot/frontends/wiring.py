"""The front ends' part of the start-up wiring: Slack's notices, job messages and sweeps.

Every process (console, exec, worker, Slack app, scheduler) starts through
``assemble``: approval events always go to the Slack outbox (any process may
change a request; a process that reaches Slack delivers them), and where Slack
is configured a job asked for from Slack gets its live message and the worker
delivers what is owed and asks "still working?".
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from bot.config.wiring import Assembly
from bot.config.wiring import assemble as assemble_core
from bot.execution.ansible import run_playbook
from bot.execution.jobs import Jobs
from bot.execution.run import PlaybookRunner
from bot.execution.sweeps import Sweep
from bot.frontends.slack.approval_notices import SlackApprovalNotices
from bot.frontends.slack.settings import slack_configured
from bot.pipeline.settings import Settings
from bot.platform.store import Store

if TYPE_CHECKING:
    from bot.execution.lifecycle import JobObserver


def assemble(settings: Settings, store: Store, runner: PlaybookRunner = run_playbook) -> Assembly:
    observers: list[JobObserver] = []
    sweeps: list[Sweep] = []
    if slack_configured():
        # slack_sdk only where Slack is configured: a local console or `exec` starts without it.
        from bot.frontends.slack import outbox
        from bot.frontends.slack.client import make_client
        from bot.frontends.slack.reporter import SlackJobMessages
        from bot.frontends.slack.settings import slack_settings
        from bot.frontends.slack.settle import settle_job_messages
        from bot.frontends.slack.still_working import ask_still_working

        client = functools.cache(lambda: make_client(slack_settings(mode="client")))
        notify = settings.slack_notify_on_finish
        tz = settings.timezone
        observers.append(SlackJobMessages(client, notify_on_finish=notify, timezone=tz))
        r, every = store.redis, max(1.0, settings.jobs.lease_seconds / 2)
        jobs = Jobs(r)  # read-only here: the final state of jobs that ended elsewhere
        sweeps += [
            Sweep(
                "deliver what Slack did not take", lambda: outbox.deliver_due(r, client()), every
            ),
            Sweep(
                "settle job messages of jobs that ended elsewhere",
                lambda: settle_job_messages(r, jobs, client(), notify, timezone=tz),
                max(5.0, every),
            ),
            Sweep(
                "ask about long-running toil timers",
                lambda: ask_still_working(r, settings, client()),
                every,
            ),
        ]
    return assemble_core(
        settings,
        store,
        notifier=SlackApprovalNotices(store.redis),
        observers=observers,
        sweeps=sweeps,
        runner=runner,
    )
