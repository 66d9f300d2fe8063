"""The job function RQ workers run: one toilbot job, from queued to a final status."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from rq import get_current_job

from bot import messages
from bot.config.settings import load_settings
from bot.execution.ansible import (
    Progress,
    RunnerStatus,
    RunOutcome,
    RunRequest,
    Throttle,
    run_playbook,
)
from bot.execution.jobs import HostStatus, JobRecord, Jobs, JobStatus, worker_identity
from bot.frontends.slack.client import make_client
from bot.frontends.slack.reporter import JobReporter
from bot.frontends.slack.settings import slack_configured, slack_settings
from bot.pipeline.settings import Settings
from bot.platform.store import Keys, text
from bot.toil.ledger import Ledger

log = logging.getLogger(__name__)

_settings: Settings | None = None


def use_settings(settings: Settings) -> None:
    """Workers call this once at start-up; the job function then needs no config load."""
    global _settings
    _settings = settings


def slack_reporter(jobs: Jobs, record: JobRecord) -> JobReporter | None:
    """A reporter for jobs asked for from Slack, when this worker can reach Slack."""
    if not record.notify or not slack_configured():
        return None
    return JobReporter(make_client(slack_settings(mode="client")), jobs, record.id)


def run_job(job_id: int) -> str:
    """RQ entry point: run toilbot job ``job_id`` and return its final status."""
    settings = _settings or load_settings()
    rq_job = get_current_job()
    if rq_job is None:  # pragma: no cover - only ever called by an RQ worker
        raise RuntimeError("run_job must run inside an RQ worker")
    jobs = Jobs(rq_job.connection, settings.jobs.keep, settings.jobs.output_lines)
    return JobExecution(jobs, settings, job_id).run().value


@dataclass
class JobExecution:
    jobs: Jobs
    settings: Settings
    job_id: int

    def run(self) -> JobStatus:
        lease = self.settings.jobs.lease_seconds
        r = self.jobs.r
        r.set(Keys.job_lease(self.job_id), worker_identity(), ex=lease)
        if not self.jobs.transition(
            self.job_id,
            JobStatus.QUEUED,
            status=JobStatus.RUNNING,
            started_at=time.time(),
            worker=worker_identity(),
        ):
            r.delete(Keys.job_lease(self.job_id))
            return self.jobs.get(self.job_id).status  # cancelled while queued
        record = self.jobs.get(self.job_id)
        self.jobs.publish(self.job_id, "start", {"command": record.command, "hosts": record.hosts})
        reporter = slack_reporter(self.jobs, record)
        if reporter:
            reporter.start()
        reason: str | None
        try:
            outcome = self._run(record, r, lease, reporter.touch if reporter else lambda: None)
        except Exception as exc:
            log.exception("job %s crashed", self.job_id)
            status, reason = JobStatus.FAILED, messages.job_crashed(str(exc))
        else:
            status, reason = self._verdict(record, outcome, r)
        self.jobs.finish(self.job_id, JobStatus.RUNNING, status, reason)
        self._record_toil(record)
        if reporter:
            reporter.finish()
        return status

    def _record_toil(self, record: JobRecord) -> None:
        """The requester's hands-on time goes in the ledger; the time the job saved apart."""
        spec = record.spec
        toil = self.settings.toil
        try:
            Ledger(self.jobs.r).record_job(
                record.user,
                record.id,
                spec,
                spec if spec in toil.categories else "general",
                time.time(),
                toil.hands_on,
                (record.manual_minutes or 0) * 60,
                self.settings.timezone,
            )
        except Exception:  # the job's own result matters more than its ledger line
            log.exception("job %s: could not record its toil", record.id)

    def _run(
        self, record: JobRecord, r: redis.Redis, lease: int, changed: Callable[[], None]
    ) -> RunOutcome:
        renew = Throttle(max(1.0, lease / 3))
        check = Throttle(0.2)
        cancelled = False
        pid_saved = False

        def should_cancel() -> bool:
            nonlocal cancelled
            if renew():
                r.set(Keys.job_lease(self.job_id), worker_identity(), ex=lease)
                self.jobs.locks.renew(self.job_id, record.locks, lease)
            if not cancelled and check():
                cancelled = bool(r.exists(Keys.job_cancel(self.job_id)))
            return cancelled

        def on_progress(progress: Progress) -> None:
            nonlocal pid_saved
            if progress.pid and not pid_saved:
                self.jobs.transition(self.job_id, JobStatus.RUNNING, ansible_pid=progress.pid)
                pid_saved = True
            event = None
            if progress.hosts:
                event = {
                    "kind": "hosts",
                    "data": {
                        "task": progress.task,
                        "outcome": progress.outcome,
                        "hosts": [h.to_json() for h in progress.hosts],
                    },
                }
            self.jobs.record_progress(self.job_id, progress.hosts, progress.output, event)
            if progress.hosts:
                changed()

        request = RunRequest(
            playbook=self.settings.playbooks_dir / record.playbook,
            inventory=self.settings.inventory_path,
            hosts=record.hosts,
            values=record.values,
            check_mode=record.check_mode,
            timeout=record.timeout,
            forks=self.settings.jobs.forks,
        )
        return run_playbook(request, on_progress, should_cancel)

    def _verdict(
        self, record: JobRecord, outcome: RunOutcome, r: redis.Redis
    ) -> tuple[JobStatus, str | None]:
        if outcome.status == RunnerStatus.CANCELED:
            by = r.get(Keys.job_cancel(self.job_id))
            return JobStatus.CANCELED, messages.job_cancelled_by(text(by) if by else "someone")
        if outcome.status == RunnerStatus.TIMEOUT:
            return JobStatus.TIMED_OUT, messages.job_timed_out(record.timeout)
        bad = [h for h in outcome.results.values() if not h.status.succeeded]
        if outcome.status == RunnerStatus.SUCCESSFUL and not bad:
            return JobStatus.SUCCEEDED, None
        failed = [h for h in bad if h.status in (HostStatus.FAILED, HostStatus.UNREACHABLE)]
        if failed:
            return JobStatus.FAILED, messages.hosts_failed(len(failed))
        return JobStatus.FAILED, messages.ansible_failed(
            outcome.rc if outcome.rc is not None else -1
        )
