"""A job's lifecycle as others see it: started, progressed, finished.

The execution layer knows nothing of Slack or of the toil ledger. Whoever cares
about a job's life implements ``JobObserver`` and is registered at start-up
(``bot.execution.run.Execution.observers``): the Slack job message and the toil
recorder are two such observers. An observer that fails is logged and never
changes how the job ends. A running job calls its observers through
``Dispatcher``, on a thread of their own: a job never waits for Slack to run
Ansible, and a slow observer cannot hold up its lease or its playbook.
"""

from __future__ import annotations

import logging
import queue
import threading
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


class Dispatcher:
    """``Observers`` called in order on a thread of their own, so the job never waits for them.

    Progress calls are coalesced (at most one waiting at a time); ``close`` waits, up to
    a bound, for the calls made so far, so a job's final message is out before its
    process ends.
    """

    def __init__(self, observers: Sequence[JobObserver], job_id: int) -> None:
        self._observers = Observers(observers)
        self._calls: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._progress_waiting = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"observers-{job_id}", daemon=True)
        self._thread.start()

    def started(self, jobs: Jobs, record: JobRecord) -> None:
        self._calls.put(lambda: self._observers.started(jobs, record))

    def progressed(self, jobs: Jobs, job_id: int) -> None:
        if self._progress_waiting.is_set():
            return
        self._progress_waiting.set()

        def call() -> None:
            self._progress_waiting.clear()
            self._observers.progressed(jobs, job_id)

        self._calls.put(call)

    def finished(self, jobs: Jobs, record: JobRecord) -> None:
        self._calls.put(lambda: self._observers.finished(jobs, record))

    def close(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every call so far; False if some are still out."""
        self._calls.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("job observers still busy after %.0fs; the process goes on", timeout)
            return False
        return True

    def _loop(self) -> None:
        while (call := self._calls.get()) is not None:
            call()  # Observers logs and swallows an observer's failure
