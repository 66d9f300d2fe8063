"""Host locks, the blast-radius cap and local queues, through the real pipeline."""

from __future__ import annotations

import socket

import pytest

from bot.config.settings import load_settings
from bot.execution.records import JobStatus
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Outcome
from bot.pipeline.request import Request
from bot.platform.store import QUEUE, Keys, Store
from tests.conftest import ADMIN, OPERATOR, submit, toilbot_cli, wait_for, write_config
from tests.harness import Harness


def test_a_locked_host_refuses_a_second_change(env, r, worker, markers, harness: Harness):
    """While a job changes web-01, another change to it is refused naming the job and person."""
    waiter = submit({**env}, "slow web-01 --seconds 60")
    wait_for(lambda: (markers / "started").exists(), 60, "the first job to run")
    assert b"1" == r.get(Keys.host_lock("web-01"))
    assert 0 < r.ttl(Keys.host_lock("web-01")) <= 3  # the worker's short lease, renewed
    reply = harness.bot.handle(Request("restart cron on web", OPERATOR, "test", confirmed=True))
    assert Outcome.REFUSED == reply.outcome
    assert (
        "web-01 is locked by job 1 (`slow web-01 --seconds 60`, running, started by U0ADMIN)"
        in reply.text
    )
    assert "cancel 1" in reply.text
    assert 1 == r.zcard(Keys.jobs)  # nothing queued for the refused command
    assert r.get(Keys.host_lock("web-02")) is None  # all or nothing
    read_only = harness.bot.handle(Request("status web-01", OPERATOR, "test", queue="elsewhere"))
    assert Outcome.QUEUED == read_only.outcome  # reading needs no lock
    dry_run = harness.bot.handle(
        Request("restart cron on web-01 --check", OPERATOR, "test", queue="elsewhere")
    )
    assert Outcome.QUEUED == dry_run.outcome  # check mode changes nothing: no lock
    assert "Cancelling job 1" in toilbot_cli(env, "exec", "cancel 1").stdout
    waiter.communicate(timeout=30)
    assert r.get(Keys.host_lock("web-01")) is None
    again = harness.bot.handle(
        Request("restart cron on web", OPERATOR, "test", confirmed=True, queue="elsewhere")
    )
    assert Outcome.QUEUED == again.outcome


@pytest.mark.parametrize("text", ["slow web-01 --seconds 1", "sleepy web-01"])
def test_locks_are_released_when_a_job_ends(harness: Harness, r, text):
    """Success and timeout both release the job's host locks."""
    harness.say(text)
    assert harness.bot.jobs.get(1).status.terminal
    assert r.get(Keys.host_lock("web-01")) is None


def test_cancel_before_start_releases_locks(harness: Harness, r):
    """A queued job holds its hosts; cancelling it frees them."""
    reply = harness.bot.handle(Request("slow web", ADMIN, "test", queue="nobody-serves-this"))
    assert Outcome.QUEUED == reply.outcome
    assert r.get(Keys.host_lock("web-02")) == b"1"
    harness.say("cancel 1")
    assert r.get(Keys.host_lock("web-01")) is None and r.get(Keys.host_lock("web-02")) is None


def test_blast_radius_cap(env, r, tmp_path):
    """A role's max_hosts caps how many hosts one command may touch, and the refusal says so."""
    policy = {
        "roles": {
            "operator": {"permissions": ["slow", "status"], "members": [OPERATOR], "max_hosts": 1},
            "admin": {"permissions": ["*"], "members": [ADMIN]},
        }
    }
    (tmp_path / "capped").mkdir()
    path = write_config(tmp_path / "capped", policy=policy)
    bot = assemble(load_settings({**env, "TOILBOT_CONFIG": str(path)}), Store(r, "test")).bot
    reply = bot.handle(Request("slow web", OPERATOR, "test", queue="nobody"))
    assert Outcome.REFUSED == reply.outcome
    assert (
        "`slow` would touch 2 hosts; role operator allows at most 1 hosts per command" in reply.text
    )
    assert 0 == r.zcard(Keys.jobs)
    assert (
        Outcome.QUEUED
        == bot.handle(Request("slow web-01", OPERATOR, "test", queue="nobody")).outcome
    )
    assert Outcome.QUEUED == bot.handle(Request("slow db", ADMIN, "test", queue="nobody")).outcome


def test_console_and_exec_run_only_their_own_jobs(harness: Harness, r):
    """A job waiting on the shared queue is left to `toilbot worker`, not run by a console."""
    shared = harness.bot.handle(Request("status db-01", ADMIN, "test", queue=QUEUE))
    assert shared.job is not None
    assert "Job 2 succeeded" in harness.say("status localhost")
    assert JobStatus.QUEUED == harness.bot.jobs.get(1).status


def test_a_job_whose_console_exited_is_failed(harness: Harness, r, settings):
    """A job queued on the local queue of a process that is gone fails with the reason."""
    dead = f"toilbot-local-{socket.gethostname()}-999999999"
    harness.bot.handle(Request("slow web-01", ADMIN, "test", queue=dead))
    assert [1] == harness.bot.jobs.reap(settings.jobs.lease_seconds)
    record = harness.bot.jobs.get(1)
    assert (
        JobStatus.FAILED,
        "the console or exec that queued this job exited before running it",
    ) == (record.status, record.reason)
    assert r.get(Keys.host_lock("web-01")) is None
