"""Exactly one final message per job, also when the job ended where nobody could edit it."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.config.settings import load_settings
from bot.execution.records import JobStatus
from bot.frontends.slack.client import make_client
from bot.frontends.slack.reporter import JobReporter
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.slack.settle import settle_job_messages
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Bot
from bot.pipeline.request import ReplyTo, Request
from bot.platform.store import Store
from tests.conftest import ADMIN
from tests.slack import SlackEmulator
from tests.slack.model import DEFAULT_CHANNEL_ID as CHANNEL


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))


@pytest.fixture
def bot(env, r) -> Bot:
    return assemble(load_settings(env), Store(r, "test")).bot


def _queued(bot: Bot, text: str = "status web-01") -> int:
    reply = bot.handle(
        Request(text, ADMIN, "slack", queue="nobody", reply_to=ReplyTo(CHANNEL, ADMIN))
    )
    assert reply.job is not None
    return reply.job.id


def _job_messages(slack: SlackEmulator, job_id: int) -> list:
    return [
        m
        for m in slack.messages(CHANNEL)
        if m.thread_ts in (None, m.ts) and f"Job {job_id} " in (m.text or "")
    ]


def test_a_job_cancelled_before_it_started_gets_one_final_message(bot, r, slack, client):
    job_id = _queued(bot)
    bot.jobs.cancel(job_id, ADMIN)
    assert JobStatus.CANCELED == bot.jobs.get(job_id).status
    assert 1 == settle_job_messages(r, bot.jobs, client, grace=0)
    assert 0 == settle_job_messages(r, bot.jobs, client, grace=0)  # exactly once
    [message] = _job_messages(slack, job_id)
    assert "cancelled" in message.text
    assert f"<@{ADMIN}>" in message.text  # a new message: it tells the requester itself
    assert not any(b["type"] == "actions" for b in message.blocks or [])


def test_a_running_message_left_by_a_dead_worker_is_edited_not_repeated(bot, r, slack, client):
    """The job's message was posted by its horse, which died; the reaper failed the job.
    The message is edited to its final state: no second message, no Cancel button."""
    job_id = _queued(bot, "status web-01")
    bot.jobs.transition(job_id, JobStatus.QUEUED, status=JobStatus.RUNNING, started_at=1.0)
    JobReporter(client, bot.jobs, job_id).start()  # the horse's first post
    bot.jobs.finish(job_id, JobStatus.RUNNING, JobStatus.FAILED, "the worker died")
    assert 1 == settle_job_messages(r, bot.jobs, client, grace=0)
    [message] = _job_messages(slack, job_id)
    assert "failed" in message.text
    assert not any(b["type"] == "actions" for b in message.blocks or [])
    assert 0 == settle_job_messages(r, bot.jobs, client, grace=0)


def test_a_final_message_delivered_by_the_job_is_left_alone(bot, r, slack, client):
    job_id = _queued(bot)
    bot.jobs.transition(job_id, JobStatus.QUEUED, status=JobStatus.RUNNING, started_at=1.0)
    reporter = JobReporter(client, bot.jobs, job_id)
    reporter.start()
    bot.jobs.finish(job_id, JobStatus.RUNNING, JobStatus.SUCCEEDED, None)
    reporter.finish()
    calls = len(slack.calls)
    assert 0 == settle_job_messages(r, bot.jobs, client, grace=0)
    assert calls == len(slack.calls)


def test_a_post_slack_took_but_answered_late_is_found_not_repeated(bot, r, slack, client):
    """Slack applies the job's first post and answers after the client's timeout: the post
    is looked for (its metadata key), not made again."""
    job_id = _queued(bot)
    bot.jobs.transition(job_id, JobStatus.QUEUED, status=JobStatus.RUNNING, started_at=1.0)
    slack.fail("chat.postMessage", status=200, error="", delay=12)
    reporter = JobReporter(client, bot.jobs, job_id)
    reporter.start()
    assert reporter.ts is not None
    bot.jobs.finish(job_id, JobStatus.RUNNING, JobStatus.SUCCEEDED, None)
    reporter.finish()
    [message] = _job_messages(slack, job_id)
    assert "succeeded" in message.text
