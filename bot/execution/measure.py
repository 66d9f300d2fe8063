"""A job's life in Prometheus figures (``bot.platform.metrics``): a JobObserver.

Queue wait is recorded when the job starts, its duration and outcome when it
ends; the command label is the spec's name (``status``, ``patch``), never the
text typed, so the label stays a short list.
"""

from __future__ import annotations

from bot.execution.jobs import Jobs
from bot.execution.records import JobRecord
from bot.platform.metrics import metrics


class JobMetrics:
    """Registered at start-up beside the Slack message and the toil recorder."""

    def job_started(self, jobs: Jobs, record: JobRecord) -> None:
        if record.started_at is not None:
            wait = max(0.0, record.started_at - record.created_at)
            metrics().queue_wait_seconds.labels(record.spec).observe(wait)

    def job_progressed(self, jobs: Jobs, job_id: int) -> None:
        """Nothing: only starts and ends are counted."""

    def job_finished(self, jobs: Jobs, record: JobRecord) -> None:
        record_end(record)

    def __repr__(self) -> str:
        return "JobMetrics()"


def record_end(record: JobRecord) -> None:
    """A job reached its final status (also called for a work horse that was killed)."""
    m = metrics()
    m.jobs.labels(record.spec, record.status.value).inc()
    if record.started_at is not None and record.finished_at is not None:
        m.job_seconds.labels(record.spec).observe(max(0.0, record.finished_at - record.started_at))
