"""A job's lease is kept by a thread of its own, and a job that loses it stops itself.

Real Redis servers throughout; the "slow Redis" is a real redis-server frozen with SIGSTOP.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.config.settings import load_settings
from bot.config.wiring import assemble
from bot.execution.heartbeat import Heartbeat
from bot.execution.records import JobStatus
from bot.execution.run import JobExecution
from bot.pipeline.request import Request
from bot.platform.store import Keys, Store
from tests.conftest import ADMIN, wait_for

LEASE = 3


def _running_job(r: redis.Redis, job_id: int, hosts: list[str]) -> None:
    r.hset(Keys.job(job_id), mapping={"status": JobStatus.RUNNING.value})
    for host in hosts:
        r.set(Keys.host_lock(host), job_id, ex=LEASE)


def _heartbeat(r: redis.Redis, job_id: int, hosts: list[str], lost: list[str]) -> Heartbeat:
    beat = Heartbeat(r, job_id, "test:1", hosts, LEASE, lost.append).start()
    beat.renew()  # as the job does before it starts Ansible
    return beat


def test_a_busy_job_thread_does_not_stop_the_lease(r):
    """The job's own thread is blocked (as in a Slack call sleeping on Retry-After) for three
    leases: the lease and the locks stay alive all along."""
    _running_job(r, 5, ["web-01", "web-02"])
    lost: list[str] = []
    beat = _heartbeat(r, 5, ["web-01", "web-02"], lost)
    try:
        deadline = time.monotonic() + 3 * LEASE
        while time.monotonic() < deadline:
            assert r.exists(Keys.job_lease(5))
            assert ["5", "5"] == [r.get(Keys.host_lock(h)).decode() for h in ("web-01", "web-02")]
            time.sleep(0.2)
    finally:
        beat.stop()
    assert [] == lost


def test_a_job_reaped_elsewhere_fences_itself(r):
    _running_job(r, 6, ["web-01"])
    lost: list[str] = []
    beat = _heartbeat(r, 6, ["web-01"], lost)
    try:
        r.hset(Keys.job(6), "status", JobStatus.FAILED.value)  # the reaper's verdict
        wait_for(lambda: bool(lost), LEASE, "the job to fence itself")
    finally:
        beat.stop()
    assert "no longer running" in lost[0]
    assert beat.lost == lost[0]


def test_a_lock_taken_by_another_job_fences_at_once(r):
    _running_job(r, 7, ["web-01", "web-02"])
    lost: list[str] = []
    beat = _heartbeat(r, 7, ["web-01", "web-02"], lost)
    try:
        r.set(Keys.host_lock("web-02"), 8, ex=60)
        wait_for(lambda: bool(lost), LEASE, "the job to fence itself")
    finally:
        beat.stop()
    assert "1 of its host locks" in lost[0]


@pytest.fixture
def frozen_redis(tmp_path: Path) -> Iterator[tuple[redis.Redis, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, to be frozen (SIGSTOP) like a Redis that hangs."""
    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(sock.exists, 10, "redis-server to listen")
        yield redis.Redis(unix_socket_path=str(sock)), proc
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait()


def test_a_hanging_redis_fences_the_job_before_its_lease_runs_out(frozen_redis):
    """A renewal stuck inside a Redis call (no timeout) cannot delay the decision: the job
    stops itself within two thirds of the lease, while its lease would still be valid."""
    r, server = frozen_redis
    _running_job(r, 9, ["web-01"])
    lost: list[str] = []
    beat = _heartbeat(r, 9, ["web-01"], lost)
    try:
        time.sleep(0.5)
        os.kill(server.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for(lambda: bool(lost), LEASE, "the job to fence itself")
        assert time.monotonic() - frozen < LEASE  # before anyone else may take the hosts
    finally:
        beat.stop()
    assert "could not be renewed" in lost[0]


def test_a_job_that_no_longer_holds_its_hosts_never_starts_ansible(env, r):
    """Fencing before the start: the job's host lock passed to another job while it was
    queued; the job fails with the reason and the playbook runner is never called."""
    calls: list[object] = []

    def runner(request, on_progress, should_cancel):  # pragma: no cover - must not run
        calls.append(request)
        raise AssertionError("Ansible started without the job's locks")

    assembly = assemble(load_settings(env), Store(r, "test"))
    reply = assembly.bot.handle(
        Request("slow web-01 --seconds 1", ADMIN, "console", queue="nobody")
    )
    assert reply.job is not None
    r.set(Keys.host_lock("web-01"), 99, ex=60)  # as if its lock had lapsed and been retaken
    execution = dataclasses.replace(assembly.execution, runner=runner)
    status = JobExecution(assembly.bot.jobs, execution, reply.job.id).run()
    assert JobStatus.FAILED == status
    assert [] == calls
    record = assembly.bot.jobs.get(reply.job.id)
    assert "lost its lease" in (record.reason or "")
    assert b"99" == r.get(Keys.host_lock("web-01"))  # the other job's lock is left alone
