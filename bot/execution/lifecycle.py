"""A job's lifecycle as others see it: started, progressed, finished.

The execution layer knows nothing of Slack or of the toil ledger. Whoever cares
about a job's life implements ``JobObserver`` and is registered at start-up
(``bot.execution.run.Execution.observers``): the Slack job message and the toil
recorder are two such observers. An observer that fails is logged and never
changes how the job ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.execution.jobs import Jobs
from bot.execution.records import JobRecord

log = logging.getLogger(__name__)


class JobObserver(Protocol):
    def job_started(self, jobs: Jobs, record: JobRecord) -> None:
        """The job is running on a worker (its record says so)."""

    def job_progressed(self, jobs: Jobs, job_id: int) -> None:
        """A host's state changed; called often, so be cheap (coalesce)."""

    def job_finished(self, jobs: Jobs, record: JobRecord) -> None:
        """The job reached its final status (``record`` is the final record)."""


class Observers:
    """The registered observers, each called in order; a failing one is logged and skipped."""

    def __init__(self, observers: Sequence[JobObserver]) -> None:
        self._observers = tuple(observers)

    def started(self, jobs: Jobs, record: JobRecord) -> None:
        self._each(record.id, "at start", lambda o: o.job_started(jobs, record))

    def progressed(self, jobs: Jobs, job_id: int) -> None:
        self._each(job_id, "on progress", lambda o: o.job_progressed(jobs, job_id))

    def finished(self, jobs: Jobs, record: JobRecord) -> None:
        self._each(record.id, "at the end", lambda o: o.job_finished(jobs, record))

    def _each(self, job_id: int, when: str, call: Callable[[JobObserver], None]) -> None:
        for observer in self._observers:
            try:
                call(observer)
            except Exception:
                log.exception("job %s: %r failed %s", job_id, observer, when)
