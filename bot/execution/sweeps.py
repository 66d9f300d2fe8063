"""Background duties as registered sweeps, run by one thread per worker process.

Each package that owes periodic work offers a ``Sweep`` (reap dead workers' jobs,
expire approval requests, deliver what Slack did not take, ask "still working?",
trim the audit log); the start-up wiring chooses which run. A failing sweep is
logged and the others still run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.execution.jobs import Jobs, worker_identity
from bot.platform.audit import Audit
from bot.platform.unreachable import log_failure

log = logging.getLogger(__name__)
RETENTION_EVERY = 3600.0  # seconds between audit retention passes of a worker


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[], object]
    every: float  # seconds between two passes


class Sweeper(threading.Thread):
    """Runs each sweep when it is due, until ``stopped`` is set."""

    def __init__(self, sweeps: Sequence[Sweep]) -> None:
        super().__init__(name="toilbot-sweeper", daemon=True)
        self.sweeps = tuple(sweeps)
        self.tick = max(0.2, min((s.every for s in self.sweeps), default=1.0))
        self.stopped = threading.Event()
        self._due = {s.name: time.monotonic() for s in self.sweeps}  # all due at the first tick

    def run(self) -> None:
        while not self.stopped.wait(self.tick):
            self.run_due()

    def run_due(self, now: float | None = None) -> None:
        """One pass: every sweep whose time has come (a failing one is logged)."""
        now = time.monotonic() if now is None else now
        for sweep in self.sweeps:
            if now < self._due[sweep.name]:
                continue
            self._due[sweep.name] = now + sweep.every
            try:
                sweep.run()
            except Exception:
                log_failure(log, "sweep %r failed", sweep.name)


def reap_jobs(jobs: Jobs, lease_seconds: int) -> Sweep:
    """Running jobs whose worker stopped renewing the lease are marked failed."""

    def run() -> None:
        for job_id in jobs.reap(lease_seconds):
            log.warning("job %s: its worker died; marked failed", job_id)

    return Sweep("reap dead workers' jobs", run, max(1.0, lease_seconds / 2))


def audit_retention(audit: Audit, retention: int) -> Sweep:
    """Audit entries older than ``retention`` seconds are dropped, once an hour."""

    def run() -> None:
        removed = audit.trim(retention, user="toilbot", source=worker_identity())
        if removed:
            log.info("audit retention: removed %s entries", removed)

    return Sweep("audit retention", run, RETENTION_EVERY)
