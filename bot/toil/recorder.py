"""The toil ledger as an observer of jobs: a finished job's hands-on time and the time it saved.

Registered at start-up (``bot.execution.lifecycle.JobObserver``); a failure to
write the ledger line is logged by the execution layer and never changes the job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.execution.jobs import Jobs
from bot.execution.records import JobRecord, JobStatus
from bot.toil.ledger import Ledger
from bot.toil.settings import ToilSettings


@dataclass(frozen=True)
class ToilRecorder:
    toil: ToilSettings
    timezone: str  # the team's, for the day a job's minutes count on

    def job_started(self, jobs: Jobs, record: JobRecord) -> None:
        """Nothing to record until the job ends."""

    def job_progressed(self, jobs: Jobs, job_id: int) -> None:
        """Nothing to record until the job ends."""

    def job_finished(self, jobs: Jobs, record: JobRecord) -> None:
        """The requester's hands-on time goes in the ledger; the time the job saved apart,
        only for a job that did the work: succeeded, and not a ``--check`` run (a failed,
        cancelled or timed-out job, or a dry run, saved nobody the manual task)."""
        spec = record.spec
        did_the_work = record.status is JobStatus.SUCCEEDED and not record.check_mode
        Ledger(jobs.r).record_job(
            record.user,
            record.id,
            spec,
            spec if spec in self.toil.categories else "general",
            time.time(),
            self.toil.hands_on,
            (record.manual_minutes or 0) * 60 if did_the_work else 0.0,
            self.timezone,
        )
