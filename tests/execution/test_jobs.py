"""Jobs that end badly: cancelled mid-run, timed out, and a worker killed mid-job."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import redis
from rq.job import Job as RQJob

from bot.execution.jobs import Jobs
from bot.execution.records import JobRecord, JobStatus
from bot.execution.rundirs import runs_dir
from bot.execution.worker import work_in_process
from bot.pipeline.request import Request
from bot.platform.errors import JobError
from bot.platform.store import QUEUE, Keys
from tests.conftest import pid_alive, submit, toilbot_cli, wait_for


def record(r: redis.Redis, job_id: int = 1) -> JobRecord:
    return Jobs(r).get(job_id)


def ansible_started(r: redis.Redis, job_id: int = 1) -> bool:
    """True once the job exists and its ansible-playbook process is known."""
    try:
        return record(r, job_id).ansible_pid is not None
    except JobError:
        return False


def test_cancel_stops_the_ansible_process(env, r, worker, markers):
    """`cancel` kills ansible-playbook mid-run: the playbook never reaches its last task."""
    waiter = submit(env, "slow localhost --seconds 60")
    wait_for(lambda: (markers / "started").exists(), 60, "the playbook to start")
    wait_for(lambda: ansible_started(r), 10, "the ansible pid")
    pid = record(r).ansible_pid
    assert pid is not None and pid_alive(pid)
    proc = toilbot_cli(env, "exec", "cancel 1")
    assert "Cancelling job 1" in proc.stdout
    wait_for(lambda: record(r).status.terminal, 15, "the job to end")
    final = record(r)
    assert (JobStatus.CANCELED, "cancelled by U0ADMIN") == (final.status, final.reason)
    wait_for(lambda: not pid_alive(pid), 5, "ansible-playbook to exit")
    time.sleep(1)
    assert not (markers / "finished").exists()
    out, _ = waiter.communicate(timeout=30)
    assert 1 == waiter.returncode
    assert '"status": "canceled"' in out
    assert "already ended (canceled)" in toilbot_cli(env, "exec", "cancel 1").stdout


def test_cancel_before_start(harness, r, markers, settings):
    """A queued job cancelled before any worker takes it never runs."""
    reply = harness.bot.handle(Request("slow localhost", "U0ADMIN", "test"))
    assert reply.job is not None and JobStatus.QUEUED == reply.job.status
    assert "Job 1 was cancelled before it started." == harness.say("cancel 1").strip()
    work_in_process(harness.store, QUEUE)  # the worker finds the record cancelled
    assert JobStatus.CANCELED == record(r).status
    assert not (markers / "started").exists()


def test_timeout_from_the_spec_stops_the_run(harness, r, markers):
    """A job running past its spec's timeout is stopped and marked timed out."""
    text = harness.say("sleepy localhost")
    assert "timed out" in text
    final = record(r)
    assert JobStatus.TIMED_OUT == final.status
    assert "timeout of 3s" in (final.reason or "")
    assert not (markers / "finished").exists()


def test_killed_worker_leaves_the_job_failed_not_running(env, r, worker, markers):
    """Worker and horse killed by SIGKILL: the job fails with a reason; its Ansible is stopped."""
    waiter = submit(env, "slow localhost --seconds 30")
    wait_for(lambda: (markers / "started").exists(), 60, "the playbook to start")
    wait_for(lambda: ansible_started(r), 10, "the ansible pid")
    running = record(r)
    horse = int((running.worker or "").rsplit(":", 1)[1])
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its group
    os.kill(horse, signal.SIGKILL)  # the horse has a process group of its own
    worker.wait(timeout=10)
    assert JobStatus.RUNNING == record(r).status  # nobody has noticed yet
    wait_for(lambda: not r.exists(Keys.job_lease(1)), 10, "the lease to expire")
    proc = toilbot_cli(env, "exec", "job 1")  # any reader reaps dead workers' jobs
    assert "Job 1 failed" in proc.stdout
    assert "stopped answering" in proc.stdout
    final = record(r)
    assert JobStatus.FAILED == final.status
    assert final.ansible_pid is not None
    wait_for(lambda: not pid_alive(final.ansible_pid or 0), 5, "the orphaned ansible to die")
    out, _ = waiter.communicate(timeout=30)
    assert '"status": "failed"' in out
    assert not (markers / "finished").exists()
    assert r.get(Keys.host_lock("localhost")) is None


def test_killed_horse_is_reported_by_the_surviving_worker(env, r, worker, markers):
    """Only the horse killed (as by the OOM killer): the worker marks the job failed at once
    and removes the dead horse's private run folder."""
    waiter = submit(env, "slow localhost --seconds 30")
    wait_for(lambda: ansible_started(r), 60, "the ansible pid")
    runs = runs_dir(Path(env["TOILBOT_DATA_DIR"]))
    assert 1 == len(list(runs.iterdir()))
    horse = int((record(r).worker or "").rsplit(":", 1)[1])
    os.kill(horse, signal.SIGKILL)
    wait_for(lambda: record(r).status.terminal, 10, "the worker to notice")
    final = record(r)
    assert JobStatus.FAILED == final.status
    assert "the worker process running this job died" in (final.reason or "")
    wait_for(lambda: not pid_alive(final.ansible_pid or 0), 5, "the orphaned ansible to die")
    wait_for(lambda: not any(runs.iterdir()), 10, "the dead horse's run folder to go")
    waiter.communicate(timeout=30)
    assert worker.poll() is None  # the worker survives and takes the next job


def test_exec_without_a_worker_says_what_it_waits_for(env, r):
    """`exec --no-worker` with no worker running says so, and ends when the job is cancelled."""
    waiter = submit(env, "status localhost")
    wait_for(lambda: r.exists(Keys.job(1)) == 1, 30, "the job to be queued")
    assert waiter.stderr is not None
    hint = ""
    deadline = time.monotonic() + 30
    while "waiting for a worker" not in hint and time.monotonic() < deadline:
        hint += waiter.stderr.readline()
    assert "Job 1 is waiting for a worker. Start one with `toilbot worker`" in hint
    assert "cancelled before it started" in toilbot_cli(env, "exec", "cancel 1").stdout
    out, _ = waiter.communicate(timeout=30)
    assert 1 == waiter.returncode
    assert '"status": "canceled"' in out


def test_a_job_queued_by_the_previous_version_still_runs(harness, r, settings):
    """RQ stores the job function's dotted path: one queued as `bot.execute.run_job` (0.1) runs."""
    reply = harness.bot.handle(Request("status localhost", "U0ADMIN", "test", queue=QUEUE))
    assert reply.job is not None
    rq_job = RQJob.fetch(f"toilbot-{reply.job.id}", connection=r)
    assert "bot.execution.run.run_job" == rq_job.func_name
    rq_job.func_name = "bot.execute.run_job"  # as the previous version stored it
    rq_job.save()
    assert "bot.execute.run_job" == RQJob.fetch(rq_job.id, connection=r).func_name
    work_in_process(harness.store, QUEUE)
    assert JobStatus.SUCCEEDED == record(r, reply.job.id).status
