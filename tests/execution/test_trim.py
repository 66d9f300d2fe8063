"""Trimming job records: the newest ``keep`` stay, queued and running ones always stay, and a
submit costs the same Redis commands whatever the backlog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from bot.execution.jobs import Jobs
from bot.execution.records import JobOrder, JobStatus
from bot.platform.store import Keys, texts

USER = "U0TRIM"
NOBODY = "test-trim-no-worker"  # a queue no worker serves: jobs stay queued
ORDER = JobOrder(
    command="status h1",
    spec="status",
    playbook="status.yml",
    values={"targets": "h1"},
    hosts=("h1",),
    check_mode=False,
    timeout=60,
    lock=False,
)


def counting(redis_url: str) -> tuple[redis.Redis, Callable[[], int]]:
    """A client on the test Redis, and how many requests (commands or pipelines) it sent."""
    client = redis.Redis.from_url(redis_url)
    pool = client.connection_pool
    sent = [0]

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        base.send_packed_command(self, command, check_health)

    base = pool.connection_class
    pool.connection_class = type("Counting", (base,), {"send_packed_command": send_packed_command})
    return client, lambda: sent[0]


def commands_run(r: redis.Redis) -> int:
    """Commands the server ran so far, those inside Lua scripts included (INFO not counted)."""
    stats = r.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def submit(jobs: Jobs) -> int:
    return jobs.submit(ORDER, USER, "test", queue=NOBODY).id


def listed(jobs: Jobs) -> list[int]:
    return [record.id for record in jobs.recent(100)]


def test_trim_removes_the_oldest_finished_beyond_keep_and_never_a_queued_or_running_job(r):
    """Past ``keep``, the oldest finished records go; older queued and running jobs stay."""
    jobs = Jobs(r, keep=3)
    ids = [submit(jobs) for _ in range(6)]
    assert jobs.transition(ids[1], JobStatus.QUEUED, status=JobStatus.RUNNING)
    for job_id in (ids[0], ids[3], ids[4]):
        assert jobs.finish(job_id, JobStatus.QUEUED, JobStatus.SUCCEEDED, None)
    assert jobs.finish(ids[2], JobStatus.QUEUED, JobStatus.CANCELED, "no")

    newest = submit(jobs)

    assert [newest, ids[5], ids[4], ids[1]] == listed(jobs)
    for gone in (ids[0], ids[2], ids[3]):
        assert 0 == r.exists(Keys.job(gone), Keys.job_hosts(gone))
    assert JobStatus.RUNNING == jobs.get(ids[1]).status
    assert [str(ids[4])] == texts(r.zrange(Keys.finished, 0, -1))


def test_a_submit_costs_the_same_redis_commands_with_a_backlog(redis_url, r):
    """Round trips and server-side commands per submit do not grow with the jobs queued."""
    client, sent = counting(redis_url)
    jobs = Jobs(client, keep=10)

    def cost() -> tuple[int, int]:
        trips, commands = sent(), commands_run(r)
        submit(jobs)
        return sent() - trips, commands_run(r) - commands - 1  # minus the INFO itself

    for _ in range(20):
        submit(jobs)
    few = cost()
    for _ in range(300):
        submit(jobs)
    many = cost()

    assert few == many
    assert 322 == r.zcard(Keys.jobs)  # all still queued: none trimmed


def test_records_finished_by_the_previous_version_are_swept_into_the_trim(r):
    """Finished records without a finished set (the previous version) are trimmed all the same."""
    jobs = Jobs(r, keep=2)
    ids = [submit(jobs) for _ in range(5)]
    for job_id in ids[:4]:
        assert jobs.finish(job_id, JobStatus.QUEUED, JobStatus.FAILED, "old")
    r.delete(Keys.finished, Keys.finished_sweep)  # as the previous version left them

    newest = submit(jobs)

    assert [newest, ids[4]] == listed(jobs)
    assert 2 == r.zcard(Keys.jobs)
    assert 0 == r.exists(*(Keys.job(job_id) for job_id in ids[:4]))
