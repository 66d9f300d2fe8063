"""A job's Slack message on its own: coalesced edits, the file for huge tables, the outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
import yaml
from slack_sdk import WebClient

from bot.config.settings import load_settings
from bot.execution.records import HostResult, HostStatus, JobStatus
from bot.frontends.slack import outbox
from bot.frontends.slack.client import make_client
from bot.frontends.slack.reporter import JobReporter
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Bot
from bot.pipeline.request import ReplyTo, Request
from bot.platform.store import Store
from tests.conftest import ADMIN
from tests.slack import SlackEmulator
from tests.slack.model import DEFAULT_CHANNEL_ID as CHANNEL


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))


def big_bot(env: dict[str, str], r: redis.Redis, tmp_path, hosts: int) -> Bot:
    """A bot whose inventory has ``hosts`` hosts in group `fleet`."""
    settings = load_settings(env)
    inventory = {
        "all": {
            "children": {
                "fleet": {
                    "hosts": {
                        f"node-{i:04d}": {"ansible_connection": "local"} for i in range(hosts)
                    }
                }
            }
        }
    }
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(inventory))
    config = yaml.safe_load(settings.config_path.read_text())
    config["inventory"] = str(path)
    settings.config_path.write_text(yaml.safe_dump(config))
    return assemble(load_settings(env), Store(r, "test")).bot


def running_job(bot: Bot, target: str) -> int:
    reply = bot.handle(
        Request(
            f"status {target}", ADMIN, "slack", queue="nobody", reply_to=ReplyTo(CHANNEL, ADMIN)
        ),
    )
    assert reply.job is not None
    bot.jobs.transition(
        reply.job.id, JobStatus.QUEUED, status=JobStatus.RUNNING, started_at=time.time()
    )
    return reply.job.id


def test_edits_are_coalesced(env, r, tmp_path, slack, client):
    """Two hundred changes in two seconds make a handful of edits, not two hundred."""
    bot = big_bot(env, r, tmp_path, 3)
    job_id = running_job(bot, "fleet")
    reporter = JobReporter(client, bot.jobs, job_id, interval=1.0)
    reporter.start()
    started = time.monotonic()
    for _ in range(200):
        reporter.touch()
        time.sleep(0.01)
    elapsed = time.monotonic() - started  # two seconds, or more on a loaded machine
    reporter.finish()
    assert 1 == len(slack.calls_to("chat.postMessage"))
    # At most one edit per interval while changing, plus the final one.
    assert 2 <= len(slack.calls_to("chat.update")) <= int(elapsed / 1.0) + 2


def test_a_huge_table_goes_to_a_file_in_the_thread(env, r, tmp_path, slack, client):
    """When the per-host table cannot fit in a message, all of it is posted as a file."""
    bot = big_bot(env, r, tmp_path, 1500)
    job_id = running_job(bot, "fleet")
    record = bot.jobs.get(job_id)
    bot.jobs.record_progress(
        job_id,
        [
            HostResult(h, HostStatus.FAILED, failed_task="Gathering Facts", message="x" * 150)
            for h in record.hosts
        ],
        [],
        None,
    )
    reporter = JobReporter(client, bot.jobs, job_id)
    reporter.start()
    bot.jobs.finish(job_id, JobStatus.RUNNING, JobStatus.FAILED, "1500 hosts did not succeed")
    reporter.finish()
    [message] = [m for m in slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]
    assert "in the thread, as a file" in str(message.blocks)
    [upload] = slack.files
    assert message.ts == upload.thread_ts
    content = upload.content.decode()
    assert all(f"node-{i:04d}" in content for i in range(1500))


def test_the_final_result_waits_out_an_outage(env, r, tmp_path, slack, client):
    """Slack down at the end: the result sits in the outbox and goes out once Slack is back."""
    bot = big_bot(env, r, tmp_path, 2)
    job_id = running_job(bot, "fleet")
    reporter = JobReporter(client, bot.jobs, job_id)
    reporter.start()
    bot.jobs.finish(job_id, JobStatus.RUNNING, JobStatus.SUCCEEDED, None)
    with slack.outage():
        reporter.finish()
        assert 2 == outbox.pending(r)  # the result, and the reply telling the requester
        assert 0 == outbox.deliver_due(r, client)  # still down: kept, tried again later
    assert 2 == outbox.pending(r)
    r.zadd("toilbot:slack:outbox", {m: 0 for m in r.zrange("toilbot:slack:outbox", 0, -1)})
    assert 2 == outbox.deliver_due(r, client)
    assert 0 == outbox.pending(r)
    [message, told] = slack.messages(CHANNEL)
    assert message.text.startswith(f"✅ Job {job_id} succeeded on 2 hosts")
    assert told.text.startswith(f"<@{ADMIN}> ✅ Job {job_id} succeeded")


def test_not_in_channel_falls_back_to_a_dm(env, r, tmp_path, slack, client):
    """If the bot is not in the channel, the requester gets the job message directly."""
    slack.add_user(ADMIN)
    slack.add_channel("C0PRIVATE", name="private-ops", is_member=False)
    bot = big_bot(env, r, tmp_path, 1)
    reply = bot.handle(
        Request(
            "status fleet", ADMIN, "slack", queue="nobody", reply_to=ReplyTo("C0PRIVATE", ADMIN)
        ),
    )
    assert reply.job is not None
    reporter = JobReporter(client, bot.jobs, reply.job.id)
    reporter.start()
    reporter.finish()
    dm = slack.dm_channel(ADMIN)
    assert dm is not None and slack.messages(dm)


@pytest.mark.parametrize("error", ["msg_blocks_too_long", "invalid_blocks"])
def test_refused_blocks_become_a_short_text_message(env, r, tmp_path, slack, client, error):
    """Slack refusing the final blocks: the result goes as outcome-first text, with the file."""
    bot = big_bot(env, r, tmp_path, 2)
    job_id = running_job(bot, "fleet")
    reporter = JobReporter(client, bot.jobs, job_id)
    reporter.start()
    bot.jobs.finish(job_id, JobStatus.RUNNING, JobStatus.SUCCEEDED, None)
    slack.fail("chat.update", 200, error=error)
    reporter.finish()
    [message] = [m for m in slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]
    assert message.text.startswith(f"✅ Job {job_id} succeeded on 2 hosts in ")
    assert not message.blocks  # no Cancel button left behind
    [upload] = slack.files
    assert message.ts == upload.thread_ts
    assert 0 == outbox.pending(r)


def test_a_kept_delivery_with_refused_blocks_goes_as_text(r, slack, client):
    """A delivery from the outbox whose blocks Slack refuses is sent as its text, not dropped."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}] * 5
    outbox.put(
        r, "chat.postMessage", {"channel": CHANNEL, "text": "Job 3 failed.", "blocks": blocks}
    )
    assert 0 == outbox.deliver_due(r, client)  # refused: kept again, as text only
    assert 1 == outbox.deliver_due(r, client)
    [message] = slack.messages(CHANNEL)
    assert "Job 3 failed." == message.text and not message.blocks
