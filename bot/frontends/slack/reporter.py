"""A job's own Slack message, posted when it starts and edited in place as hosts progress.

Edits are coalesced: at most one per ``interval`` seconds, whatever the event
rate. Progress edits are best effort; the final result is kept in the outbox
if Slack does not take it at once, so an outage never loses it. An edit
notifies nobody, so when the job ends a reply in the message's thread
mentions its requester (``slack.notify_on_finish``), through the outbox too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.execution.jobs import Jobs, worker_identity
from bot.execution.records import JobRecord, JobStatus
from bot.frontends.slack import outbox
from bot.frontends.slack import text as slack_text
from bot.frontends.slack.blocks import job_blocks
from bot.frontends.slack.mrkdwn import escape
from bot.frontends.terminal import Terminal
from bot.platform.store import Keys

log = logging.getLogger(__name__)


RETRY_START = 10.0  # seconds between tries of a job message Slack did not take


def message_key(record: JobRecord) -> str:
    """What makes a job's message one of a kind in Slack (ids restart with a new Redis)."""
    return f"job-{record.id}-{int(record.created_at * 1000)}"


# Claim the delivery of a job's final message (its record exists, no one has yet): 1 or 0.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local by = redis.call('HGET', KEYS[1], 'message_final')
if by and by ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'message_final', ARGV[1])
return 1
"""


def claim_final(r: redis.Redis, job_id: int, by: str) -> bool:
    """True for the one caller that delivers job ``job_id``'s final message."""
    return bool(r.eval(_CLAIM, 1, Keys.job(job_id), by))


class JobReporter:
    def __init__(
        self,
        client: WebClient,
        jobs: Jobs,
        job_id: int,
        interval: float = 1.0,
        notify_on_finish: bool = True,
        timezone: str | None = None,
    ) -> None:
        self.client = client
        self.jobs = jobs
        self.job_id = job_id
        self.interval = interval
        self.notify_on_finish = notify_on_finish  # a reply in the thread tells the requester
        self.timezone = timezone  # the team's: times in the per-host results file
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"slack-job-{job_id}", daemon=True)
        self.channel: str | None = None
        self.ts: str | None = None
        self._posting = threading.Lock()
        self._next_post = 0.0  # when to try the start message again if it was not posted

    def start(self) -> None:
        self._post_start(self.jobs.get(self.job_id))
        self._thread.start()

    def adopt(self, record: JobRecord) -> None:
        """Take over the message another process posted for this job (if any)."""
        self.ts = record.message_ts
        self.channel = record.message_channel or (record.notify or {}).get("channel")

    def _post_start(self, record: JobRecord) -> None:
        """The job's message, posted once (keyed: a lost answer is not a second message);
        while it is not posted, tried again at most every ``RETRY_START`` seconds."""
        with self._posting:
            if self.ts or time.monotonic() < self._next_post:
                return
            self._next_post = time.monotonic() + RETRY_START
            notify = record.notify or {}
            args: dict[str, Any] = {"channel": notify["channel"], **job_blocks(record).message()}
            if notify.get("thread_ts"):
                args["thread_ts"] = notify["thread_ts"]
            try:
                self._post(args, notify.get("user"), message_key(record))
            except Exception as exc:  # Slack down: tried again, and the end goes by the outbox
                log.warning("job %s: could not post its Slack message (%s)", self.job_id, exc)

    def _post(self, args: dict[str, Any], user: str | None, key: str) -> None:
        try:
            answer = outbox.post_once(self.client, args, key)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("not_in_channel", "channel_not_found") or not user:
                raise
            # The bot is not in that channel: tell the requester directly.
            dm = self.client.conversations_open(users=user)
            args = {**args, "channel": dm["channel"]["id"]}
            args.pop("thread_ts", None)
            answer = outbox.post_once(self.client, args, key)
        self.channel = str(answer["channel"])
        self.ts = str(answer["ts"])
        self.jobs.set_fields(self.job_id, message_ts=self.ts, message_channel=self.channel)

    def touch(self) -> None:
        """Something changed; the message is edited within ``interval`` seconds."""
        self._dirty.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self._dirty.is_set():
                self._dirty.clear()
                self._update(final=False)

    def finish(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._update(final=True)

    def deliver_final(self) -> None:
        """The final state, by a process that did not run the job (already claimed)."""
        self._update(final=True, claimed=True)

    def _update(self, *, final: bool, claimed: bool = False) -> None:
        record = self.jobs.get(self.job_id)
        if not final and not self.ts:
            self._post_start(record)  # never a progress post of its own: one message per job
            return
        output = None
        if final and record.status is not JobStatus.SUCCEEDED:
            output = self.jobs.output(self.job_id, 15)
        view = job_blocks(record, output)
        body = view.message()
        notify = record.notify or {}
        if self.ts and self.channel:
            method, args = "chat.update", {"channel": self.channel, "ts": self.ts, **body}
        else:
            method, args = "chat.postMessage", {"channel": notify.get("channel", ""), **body}
            if notify.get("thread_ts"):
                args["thread_ts"] = notify["thread_ts"]
        if not final:  # best effort: the next edit, or the result, catches up
            try:
                self.client.api_call(method, json=args)
            except Exception as exc:
                log.info("job %s: progress edit skipped (%s)", self.job_id, exc)
            return
        if not claimed:  # the job's own process: first come, first delivers
            claimed = claim_final(self.jobs.r, self.job_id, worker_identity())
        fresh = method == "chat.postMessage"
        if fresh and not claimed:
            return  # another process has delivered (or kept) this job's final message
        if fresh and self.notify_on_finish and record.status.terminal:
            # A new message notifies whom it mentions: it says who asked, no reply needed.
            user = notify.get("user") or record.user
            args["text"] = slack_text.job_finished(user, str(args.get("text") or ""))
        sent = outbox.deliver(
            self.jobs.r,
            self.client,
            method,
            args,
            about=f"job {self.job_id}",
            fallback=escape(slack_text.job_text_only(view.outcome, self.job_id)),
            key=message_key(record),
        )
        if sent.sent and fresh:  # the start was not posted: this is it
            self.channel, self.ts = sent.answer.get("channel"), sent.answer.get("ts")
            self.jobs.set_fields(self.job_id, message_ts=self.ts, message_channel=self.channel)
        if sent.sent and (not view.complete or sent.text_only):
            try:
                self._attach(view.text)
            except Exception as exc:  # the message says the table is in the thread; it is not
                log.warning("job %s: per-host file not attached (%s)", self.job_id, exc)
        if self.notify_on_finish and record.status.terminal and not fresh:
            self._tell_requester(record, view.outcome)

    def _tell_requester(self, record: JobRecord, outcome: str) -> None:
        """A reply in the job message's thread mentioning the requester: an edit notifies
        nobody, this does. Kept in the outbox if Slack does not take it now."""
        notify = record.notify or {}
        user = notify.get("user") or record.user
        args: dict[str, Any] = {"text": escape(slack_text.job_finished(user, outcome))}
        if self.ts and self.channel:  # the job's thread (the one it was asked in, if any)
            asked_in = notify.get("thread_ts") if self.channel == notify.get("channel") else None
            args.update(channel=self.channel, thread_ts=asked_in or self.ts)
        else:  # the job message is not posted yet (kept in the outbox): where it will be
            args["channel"] = notify.get("channel", "")
            if notify.get("thread_ts"):
                args["thread_ts"] = notify["thread_ts"]
        outbox.deliver(
            self.jobs.r, self.client, "chat.postMessage", args, about=f"job {self.job_id}: ended"
        )

    def _attach(self, full: str) -> None:
        """The whole per-host table, as a file in the job message's thread."""
        self.client.files_upload_v2(
            channel=self.channel,
            thread_ts=self.ts,
            content=Terminal(timezone=self.timezone).render(full),  # plain text, team time
            filename=f"toilbot-job-{self.job_id}.txt",
            title=f"Job {self.job_id}: per-host results",
        )


class SlackJobMessages:
    """JobObserver: a job asked for from Slack gets its own message, edited as it runs."""

    def __init__(
        self,
        client: Callable[[], WebClient],
        interval: float = 1.0,
        notify_on_finish: bool = True,
        timezone: str | None = None,
    ) -> None:
        self._client = client  # made lazily: the worker's work horse, not its parent
        self.interval = interval
        self.notify_on_finish = notify_on_finish
        self.timezone = timezone
        self._reporters: dict[int, JobReporter] = {}

    def job_started(self, jobs: Jobs, record: JobRecord) -> None:
        if not record.notify:
            return
        reporter = JobReporter(
            self._client(), jobs, record.id, self.interval, self.notify_on_finish, self.timezone
        )
        self._reporters[record.id] = reporter
        reporter.start()

    def job_progressed(self, jobs: Jobs, job_id: int) -> None:
        reporter = self._reporters.get(job_id)
        if reporter is not None:
            reporter.touch()

    def job_finished(self, jobs: Jobs, record: JobRecord) -> None:
        reporter = self._reporters.pop(record.id, None)
        if reporter is not None:
            reporter.finish()
