"""The job function RQ workers run: one toilbot job, from queued to a final status.

What a worker needs is installed once at start-up (``install``): the job settings,
where playbooks and the inventory are, the observers of a job's life (the Slack
message, the toil ledger) and the playbook runner (``run_playbook``; the fast tests
give a fake with the same signature). A forked work horse inherits it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bot.execution import text as execution_text
from bot.execution.ansible import (
    Progress,
    RunnerStatus,
    RunOutcome,
    RunRequest,
    Throttle,
    run_playbook,
)
from bot.execution.heartbeat import Heartbeat
from bot.execution.jobs import Jobs, worker_identity
from bot.execution.lifecycle import Dispatcher, JobObserver
from bot.execution.proctree import kill, run_mark
from bot.execution.records import HostStatus, JobRecord, JobStatus
from bot.execution.settings import JobSettings
from bot.platform import logs
from bot.platform.errors import JobError
from bot.platform.store import Keys, text

log = logging.getLogger(__name__)

#: How long a finished job waits for its observers (its final Slack message) before its
#: process may end; what is still undelivered then is kept by the Slack outbox.
OBSERVERS_GRACE = 30.0


class LeaseLost(JobError):
    """The job no longer holds its lease: it must not start (or go on with) Ansible."""


#: ``run_playbook``'s signature: (request, on_progress, should_cancel) -> outcome.
PlaybookRunner = Callable[[RunRequest, Callable[[Progress], None], Callable[[], bool]], RunOutcome]


@dataclass(frozen=True)
class Execution:
    """Everything a worker process needs to run jobs, chosen at start-up."""

    jobs: JobSettings
    playbooks_dir: Path
    inventory: tuple[Path, ...]  # the inventory sources of toilbot.yaml
    runs_dir: Path  # private run folders (bot.execution.rundirs), under the data directory
    observers: Sequence[JobObserver] = ()
    runner: PlaybookRunner = field(default=run_playbook)


_installed: Execution | None = None


def install(execution: Execution) -> None:
    """Workers (and processes that run jobs in-process) call this once at start-up."""
    global _installed
    _installed = execution


def installed() -> Execution:
    if _installed is None:
        raise RuntimeError(
            "no toilbot execution installed in this process: run jobs with `toilbot worker`"
        )
    return _installed


def run_job(job_id: int) -> str:
    """RQ entry point: run toilbot job ``job_id`` and return its final status."""
    from rq import get_current_job  # only inside an RQ worker: rq is not needed to enqueue

    execution = installed()
    rq_job = get_current_job()
    if rq_job is None:  # pragma: no cover - only ever called by an RQ worker
        raise RuntimeError("run_job must run inside an RQ worker")
    jobs = Jobs(rq_job.connection, execution.jobs.keep, execution.jobs.output_lines)
    with logs.bound(job_id=job_id):  # every log line of the job carries its id (JSON logs)
        return JobExecution(jobs, execution, job_id).run().value


@dataclass
class JobExecution:
    jobs: Jobs
    execution: Execution
    job_id: int

    def run(self) -> JobStatus:
        lease = self.execution.jobs.lease_seconds
        r = self.jobs.r
        holder = worker_identity()
        r.set(Keys.job_lease(self.job_id), holder, ex=lease)
        if not self.jobs.transition(
            self.job_id,
            JobStatus.QUEUED,
            status=JobStatus.RUNNING,
            started_at=time.time(),
            worker=holder,
        ):
            r.delete(Keys.job_lease(self.job_id))
            return self.jobs.get(self.job_id).status  # cancelled while queued
        record = self.jobs.get(self.job_id)
        logs.bind(user=record.user, command=record.command)
        log.info("job %s started: %s on %s", self.job_id, record.command, ", ".join(record.hosts))
        mark = run_mark(self.job_id, holder)
        heartbeat = Heartbeat(r, self.job_id, holder, record.locks, lease, lambda _: _fence(mark))
        observers = Dispatcher(self.execution.observers, self.job_id)
        self.jobs.publish(self.job_id, "start", {"command": record.command, "hosts": record.hosts})
        observers.started(self.jobs, record)
        reason: str | None
        try:
            # Fencing: Ansible starts only while this job provably holds its record and locks.
            if not heartbeat.start().renew():
                raise LeaseLost(heartbeat.lost or "")
            outcome = self._run(
                record, r, heartbeat, mark, lambda: observers.progressed(self.jobs, record.id)
            )
        except LeaseLost:
            status, reason = JobStatus.FAILED, execution_text.lease_lost(heartbeat.lost or "")
        except Exception as exc:
            log.exception("job %s crashed", self.job_id)
            status, reason = JobStatus.FAILED, execution_text.job_crashed(str(exc))
        else:
            status, reason = self._verdict(record, outcome, r)
            if heartbeat.lost:
                status, reason = JobStatus.FAILED, execution_text.lease_lost(heartbeat.lost)
            elif outcome.survivors:
                status = JobStatus.FAILED
                reason = execution_text.processes_survived(len(outcome.survivors))
        finally:
            heartbeat.stop()
        by = r.get(Keys.job_cancel(self.job_id)) if status is JobStatus.CANCELED else None
        self.jobs.finish(
            self.job_id, JobStatus.RUNNING, status, reason, stopped_by=text(by) if by else None
        )
        log.info("job %s ended: %s", self.job_id, status.value)
        observers.finished(self.jobs, self.jobs.get(self.job_id))
        observers.close(OBSERVERS_GRACE)
        return status

    def _run(
        self,
        record: JobRecord,
        r: redis.Redis,
        heartbeat: Heartbeat,
        mark: str,
        changed: Callable[[], None],
    ) -> RunOutcome:
        check = Throttle(0.2)
        cancelled = False
        pid_saved = False

        def should_cancel() -> bool:
            nonlocal cancelled
            if heartbeat.lost:
                return True  # fenced: the heartbeat has already killed the run's processes
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
            playbook=self.execution.playbooks_dir / record.playbook,
            inventory=self.execution.inventory,
            hosts=record.hosts,
            values=record.values,
            check_mode=record.check_mode,
            timeout=record.timeout,
            forks=self.execution.jobs.forks,
            runs_dir=self.execution.runs_dir,
            mark=mark,
        )
        return self.execution.runner(request, on_progress, should_cancel)

    def _verdict(
        self, record: JobRecord, outcome: RunOutcome, r: redis.Redis
    ) -> tuple[JobStatus, str | None]:
        if outcome.status == RunnerStatus.CANCELED:
            by = r.get(Keys.job_cancel(self.job_id))
            return JobStatus.CANCELED, execution_text.job_cancelled_by(
                text(by) if by else "someone"
            )
        if outcome.status == RunnerStatus.TIMEOUT:
            return JobStatus.TIMED_OUT, execution_text.job_timed_out(record.timeout)
        bad = [h for h in outcome.results.values() if not h.status.succeeded]
        if outcome.status == RunnerStatus.SUCCESSFUL and not bad:
            return JobStatus.SUCCEEDED, None
        failed = [h for h in bad if h.status in (HostStatus.FAILED, HostStatus.UNREACHABLE)]
        if failed:
            return JobStatus.FAILED, execution_text.hosts_failed(len(failed))
        return JobStatus.FAILED, execution_text.ansible_failed(
            outcome.rc if outcome.rc is not None else -1
        )


def _fence(mark: str) -> None:
    """Kill every process of the run at once: its lease is lost, another job may take over."""
    kill(mark)
