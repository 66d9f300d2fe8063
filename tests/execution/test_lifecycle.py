"""A job's observers are called at start, on progress and at the end; a failing one changes
nothing about the job, and the ones after it still run."""

from __future__ import annotations

import time

import redis

from bot.config.wiring import assemble
from bot.execution.jobs import Jobs
from bot.execution.records import JobRecord, JobStatus
from bot.execution.worker import work_in_process
from bot.pipeline.request import Request
from bot.pipeline.settings import Settings
from bot.platform.store import QUEUE, Store
from bot.toil.ledger import Ledger


class Recording:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.events: list[str] = []

    def job_started(self, jobs: Jobs, record: JobRecord) -> None:
        self.events.append(f"started {record.id} {record.status.value}")
        if self.fail:
            raise RuntimeError("Slack is down")

    def job_progressed(self, jobs: Jobs, job_id: int) -> None:
        self.events.append(f"progressed {job_id}")

    def job_finished(self, jobs: Jobs, record: JobRecord) -> None:
        self.events.append(f"finished {record.id} {record.status.value}")
        if self.fail:
            raise RuntimeError("Slack is down")


def test_observers_see_the_life_of_a_job_and_a_failing_one_is_contained(
    settings: Settings, r: redis.Redis
):
    """A broken observer is logged; the job still succeeds and the toil recorder still writes."""
    broken, watching = Recording(fail=True), Recording()
    bot = assemble(settings, Store(r, "test Redis"), observers=[broken, watching]).bot
    reply = bot.handle(Request("status localhost", "U0ADMIN", "test", queue=QUEUE))
    assert reply.job is not None
    work_in_process(Store(r, "test Redis"), QUEUE)
    job = reply.job.id
    assert JobStatus.SUCCEEDED == bot.jobs.get(job).status
    assert f"started {job} running" == watching.events[0]
    assert f"progressed {job}" in watching.events
    assert f"finished {job} succeeded" == watching.events[-1]
    assert broken.events[0] == watching.events[0]
    assert broken.events[-1] == watching.events[-1]
    saved = Ledger(r).saved_between(time.time() - 600, time.time() + 60)
    assert [job] == [int(s["job"]) for s in saved]
