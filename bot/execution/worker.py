"""RQ workers: the production worker (forks a horse per job) and the in-process one.

A work horse that dies (OOM killer, kill -9) has its job marked failed with a
reason and its orphaned ansible-playbook stopped and its private run folder removed (as are
those left before the worker started). The production worker runs the
registered sweeps (``bot.execution.sweeps``) beside it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from rq import Queue, SimpleWorker, Worker
from rq.job import Job

from bot.execution import text
from bot.execution.jobs import Jobs, kill_orphan
from bot.execution.measure import record_end
from bot.execution.records import JobStatus
from bot.execution.run import installed
from bot.execution.rundirs import remove_leftovers
from bot.execution.sweeps import Sweep, Sweeper
from bot.platform import logs
from bot.platform.health import Heartbeat
from bot.platform.store import QUEUE, Keys, Store

log = logging.getLogger(__name__)


def _job_number(rq_job: Job) -> int | None:
    job_id = rq_job.id or ""
    return int(job_id.removeprefix("toilbot-")) if job_id.startswith("toilbot-") else None


def _horse_killed(jobs: Jobs, runs: Path) -> Any:
    """RQ calls this when a job's work horse died (OOM killer, kill -9)."""

    def handler(rq_job: Job, pid: int, status: int, rusage: Any) -> None:
        job_id = _job_number(rq_job)
        if job_id is None:
            return
        with contextlib.suppress(Exception):
            kill_orphan(jobs.get(job_id))
        with contextlib.suppress(OSError):
            remove_leftovers(runs)  # the dead horse's private run folder
        jobs.finish(job_id, JobStatus.RUNNING, JobStatus.FAILED, text.horse_died(status))
        with contextlib.suppress(Exception):
            record_end(jobs.get(job_id))

    return handler


def run_worker(
    store: Store, jobs: Jobs, sweeps: Sequence[Sweep], lease_seconds: int, burst: bool = False
) -> None:
    """`toilbot worker`: the production worker, one job at a time, a fresh horse per job.

    The execution (``bot.execution.run.install``) is installed by the start-up wiring; the
    ``sweeps`` run beside it in one thread.
    """
    execution = installed()  # fail now, not at the first job, if the wiring forgot it
    jobs.reap(lease_seconds)
    remove_leftovers(execution.runs_dir)  # run folders of horses killed before this start
    sweeper = Sweeper(sweeps)
    sweeper.start()
    heartbeat = Heartbeat(store.redis)  # /readyz: a worker is there
    worker = Worker(
        [Queue(QUEUE, connection=store.redis)],
        connection=store.redis,
        work_horse_killed_handler=_horse_killed(jobs, execution.runs_dir),
    )
    try:
        heartbeat.start()
        worker.work(burst=burst, logging_level=logs.level_name("INFO"), with_scheduler=False)
    finally:
        heartbeat.stop()
        sweeper.stopped.set()


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
            print(text.console_cancelling(job_id), flush=True)
            self.connection.set(Keys.job_cancel(job_id), "Ctrl-C in the console", ex=3600)


def work_in_process(store: Store, queue: str) -> None:
    """Run the jobs on this process's own queue here, then return."""
    installed()
    # Its own connections, closed when the burst ends: RQ names a connection after the
    # worker, and the embedded Redis stops only when no client but this process's is left.
    connection = store.another()
    worker = LocalWorker([Queue(queue, connection=connection)], connection=connection)
    previous = signal.getsignal(signal.SIGINT)
    try:
        worker.work(burst=True, logging_level="WARNING")
    finally:
        signal.signal(signal.SIGINT, previous)
        connection.connection_pool.disconnect()
