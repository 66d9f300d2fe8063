"""RQ workers: the production worker (forks a horse per job) and the in-process one.

Both reap jobs whose worker died: a running job whose lease expired is marked
failed with a reason and its orphaned ansible-playbook is stopped. The
production worker's reaper also expires approval requests past their time.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from rq import Queue, SimpleWorker, Worker
from rq.job import Job

from bot import messages
from bot.execution.jobs import Jobs, JobStatus, kill_orphan, worker_identity
from bot.execution.run import use_settings
from bot.frontends.slack import outbox
from bot.frontends.slack.client import make_client
from bot.frontends.slack.settings import slack_configured, slack_settings
from bot.frontends.slack.still_working import ask_still_working
from bot.pipeline.approvals import Approvals
from bot.pipeline.settings import Settings
from bot.platform.store import QUEUE, Keys, Store

log = logging.getLogger(__name__)
RETENTION_EVERY = 3600  # seconds between audit retention passes of a worker


def _job_number(rq_job: Job) -> int | None:
    job_id = rq_job.id or ""
    return int(job_id.removeprefix("toilbot-")) if job_id.startswith("toilbot-") else None


def _horse_killed(jobs: Jobs) -> Any:
    """RQ calls this when a job's work horse died (OOM killer, kill -9)."""

    def handler(rq_job: Job, pid: int, status: int, rusage: Any) -> None:
        job_id = _job_number(rq_job)
        if job_id is None:
            return
        with contextlib.suppress(Exception):
            kill_orphan(jobs.get(job_id))
        jobs.finish(job_id, JobStatus.RUNNING, JobStatus.FAILED, messages.horse_died(status))

    return handler


class Reaper(threading.Thread):
    """Every few seconds: fail the jobs of dead workers, expire approval requests past their
    time, deliver Slack results and announcements still owed, and ask people whose timer ran
    past its limit whether they are still working."""

    def __init__(
        self,
        jobs: Jobs,
        lease_seconds: int,
        settings: Settings | None = None,
        retention: int | None = None,
    ) -> None:
        super().__init__(name="toilbot-reaper", daemon=True)
        self.jobs = jobs
        self.approvals = Approvals(jobs.r, jobs.audit)
        self.lease_seconds = lease_seconds
        self.settings = settings
        self.retention = retention  # audit retention in seconds; None: keep every entry
        self.trimmed_at = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        client = make_client(slack_settings(mode="client")) if slack_configured() else None
        while not self.stopped.wait(max(1.0, self.lease_seconds / 2)):
            try:
                for job_id in self.jobs.reap(self.lease_seconds):
                    log.warning("job %s: its worker died; marked failed", job_id)
                for request in self.approvals.expire_due():
                    log.info("approval request %s expired: %s", request.id, request.command)
                if client is not None:
                    outbox.deliver_due(self.jobs.r, client)
                    if self.settings is not None:
                        ask_still_working(self.jobs.r, self.settings, client)
                self._apply_retention()
            except Exception:
                log.exception("reaper pass failed")

    def _apply_retention(self) -> None:
        """At most once an hour: drop audit entries older than the configured retention."""
        if self.retention is None or time.time() - self.trimmed_at < RETENTION_EVERY:
            return
        self.trimmed_at = time.time()
        removed = self.jobs.audit.trim(self.retention, user="toilbot", source=worker_identity())
        if removed:
            log.info("audit retention: removed %s entries", removed)


def run_worker(settings: Settings, store: Store, burst: bool = False) -> None:
    """`toilbot worker`: the production worker, one job at a time, a fresh horse per job."""
    use_settings(settings)
    jobs = Jobs(store.redis, settings.jobs.keep, settings.jobs.output_lines)
    jobs.reap(settings.jobs.lease_seconds)
    reaper = Reaper(jobs, settings.jobs.lease_seconds, settings, settings.audit_retention)
    reaper.start()
    worker = Worker(
        [Queue(QUEUE, connection=store.redis)],
        connection=store.redis,
        work_horse_killed_handler=_horse_killed(jobs),
    )
    try:
        worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
    finally:
        reaper.stopped.set()


class LocalWorker(SimpleWorker):
    """Runs queued jobs in this process (console, exec). Ctrl-C cancels the running job."""

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._cancel_current)

    def subscribe(self) -> None:
        """No RQ command channel: toilbot cancels through its own key, and RQ joins the
        channel's listener thread with a one-second timeout at every burst's end."""

    def _cancel_current(self, signum: int, frame: FrameType | None) -> None:
        rq_job = self.get_current_job()
        job_id = _job_number(rq_job) if rq_job else None
        if job_id is not None:
            print(messages.console_cancelling(job_id), flush=True)
            self.connection.set(Keys.job_cancel(job_id), "Ctrl-C in the console", ex=3600)


def work_in_process(settings: Settings, store: Store, queue: str) -> None:
    """Run the jobs on this process's own queue here, then return."""
    use_settings(settings)
    worker = LocalWorker([Queue(queue, connection=store.redis)], connection=store.redis)
    previous = signal.getsignal(signal.SIGINT)
    try:
        worker.work(burst=True, logging_level="WARNING")
    finally:
        signal.signal(signal.SIGINT, previous)
