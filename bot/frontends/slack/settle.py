"""Job messages whose job ended where nobody could edit them get their final state.

A job's own process edits its Slack message when it ends. Some endings happen
elsewhere: the work horse or the whole worker killed (the worker's handler or the
reaper fails the job), a job cancelled before it started (by the process that
answered the cancel), a process that died while delivering. This sweep, run by
every process with a Slack client, finds jobs that ended a while ago (``GRACE``:
longer than a job's own process waits for its final message) with no final message
delivered, and delivers it, exactly once: the record's ``message_final`` field is
claimed (HSETNX) by whoever delivers, the job's own reporter included.
"""

from __future__ import annotations

import logging
import time

import redis
from slack_sdk import WebClient

from bot.execution.jobs import Jobs
from bot.execution.records import JobStatus
from bot.frontends.slack.reporter import JobReporter, claim_final
from bot.platform.store import Keys, text, texts

log = logging.getLogger(__name__)

GRACE = 45.0  # seconds after a job ends before its message is settled by someone else
SCAN = 200  # the newest finished jobs looked at in one pass


def settle_job_messages(
    r: redis.Redis,
    jobs: Jobs,
    client: WebClient,
    notify_on_finish: bool = True,
    grace: float = GRACE,
    timezone: str | None = None,
) -> int:
    """One pass; returns how many job messages it settled."""
    ids = [int(i) for i in texts(r.zrevrange(Keys.finished, 0, SCAN - 1))]
    if not ids:
        return 0
    pipe = r.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(Keys.job(job_id), "status", "notify", "message_final", "finished_at")
    now, settled = time.time(), 0
    for job_id, (status, notify, final, finished_at) in zip(ids, pipe.execute(), strict=True):
        if (final and text(final)) or not notify or text(notify) in ("", "null"):
            continue
        if status is None or not JobStatus(text(status)).terminal:
            continue
        if not finished_at or now - float(text(finished_at)) < grace:
            continue
        if not claim_final(r, job_id, "settled"):
            continue
        reporter = JobReporter(
            client, jobs, job_id, notify_on_finish=notify_on_finish, timezone=timezone
        )
        reporter.adopt(jobs.get(job_id))
        reporter.deliver_final()
        log.info("job %s: its Slack message settled after it ended elsewhere", job_id)
        settled += 1
    return settled
