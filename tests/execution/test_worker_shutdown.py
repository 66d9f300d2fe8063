"""A redeploy's SIGTERM: the worker finishes the job it runs, takes no other, exits 0.

`docker compose stop` (and a redeploy) sends SIGTERM to the container's main process only,
then SIGKILL after `stop_grace_period`; RQ's warm shutdown lets the running job end.
"""

from __future__ import annotations

import os
import signal

from bot.execution.jobs import Jobs
from bot.execution.records import JobStatus
from bot.platform.errors import JobError
from tests.conftest import start_toilbot, stop_toilbot, submit, wait_for


def status(r, job_id: int) -> JobStatus | None:
    try:
        return Jobs(r).get(job_id).status
    except JobError:
        return None


def test_sigterm_finishes_the_running_job_and_takes_no_other(env, r, markers):
    """SIGTERM mid-job: the job succeeds, the next queued one stays queued, exit status 0."""
    worker = start_toilbot(env, "worker")
    first = submit(env, "slow localhost --seconds 8")
    second = None
    try:
        wait_for(lambda: (markers / "started").exists(), 60, "the first job to start")
        second = submit(env, "status localhost")
        wait_for(lambda: status(r, 2) is JobStatus.QUEUED, 30, "the second job to be queued")
        assert JobStatus.RUNNING is status(r, 1) and not (markers / "finished").exists()
        os.kill(worker.pid, signal.SIGTERM)  # the worker alone, as Docker signals it
        assert 0 == worker.wait(timeout=60)
        assert (markers / "finished").exists()
        assert JobStatus.SUCCEEDED is status(r, 1)
        out, _ = first.communicate(timeout=30)
        assert '"status": "succeeded"' in out
        assert JobStatus.QUEUED is status(r, 2)  # left for the next worker
    finally:
        print(stop_toilbot(worker, signal.SIGKILL))
        for waiter in (first, second):
            if waiter is not None and waiter.poll() is None:
                waiter.kill()
                waiter.wait()
