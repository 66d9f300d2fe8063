"""Job messages a person can act on (issue 11, items 2, 4 and 6), through the local Slack with
real Ansible: the outcome in the first line, failed hosts first, a reply in the thread that
tells the requester, hosts `running` on their task until their play ends, `not finished`
after a cancel, people as mentions and times as Slack dates, and no markup from text the
bot did not write.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.config.settings import load_settings
from bot.execution.records import HostResult, HostStatus, JobStatus
from bot.frontends.slack.client import make_client
from bot.frontends.slack.mrkdwn import escape
from bot.frontends.slack.reporter import JobReporter
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.wiring import assemble
from bot.pipeline.request import ReplyTo, Request
from bot.platform.errors import ConfigError
from bot.platform.store import Store
from tests.conftest import ADMIN, start_toilbot, stop_toilbot, wait_for, write_config
from tests.slack import SlackEmulator
from tests.slack.chat import SlackChat
from tests.slack.model import DEFAULT_CHANNEL_ID as CHANNEL
from tests.slack.model import Message
from tests.slack.mrkdwn import Control, controls, mrkdwn_texts, shown

HOSTILE = "<!channel> wake up <https://evil.example|click here> <@U0EVIL> & <#C0OTHER>"


@pytest.fixture
def notify_on_finish() -> bool:
    return True


@pytest.fixture
def config_path(tmp_path: Path, notify_on_finish: bool) -> Path:
    """The test config; web-02 cannot write its marker, so `slow web` fails there at 'Started';
    group `pair` is web-01 and localhost, which work."""
    path = write_config(tmp_path)
    if not notify_on_finish:
        config = yaml.safe_load(path.read_text())
        config["slack"] = {"notify_on_finish": False}
        path.write_text(yaml.safe_dump(config))
    hosts = tmp_path / "hosts.yml"
    inventory = yaml.safe_load(hosts.read_text())
    web = inventory["all"]["children"]["web"]["hosts"]
    web["web-02"] = {**web["web-02"], "marker_dir": str(tmp_path / "no-such-dir")}
    inventory["all"]["children"]["pair"] = {"hosts": {"web-01": None, "localhost": None}}
    hosts.write_text(yaml.safe_dump(inventory))
    return path


@pytest.fixture
def worker(slack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = start_toilbot(slack_env, "worker")
    yield proc
    print(stop_toilbot(proc))


def job_message(slack: SlackEmulator, job: int, starts: str, timeout: float = 90) -> Message:
    """Job ``job``'s own message once its notification text starts with ``starts``."""
    prefix = f"{starts} Job {job} "
    return slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages(CHANNEL)
                if m.thread_ts in (None, m.ts) and m.text.startswith(prefix)
            ),
            None,
        ),
        timeout,
    )


def first_line(message: Message) -> str:
    return str(message.blocks[0]["text"]["text"]).split("\n")[0] if message.blocks else ""


def table(message: Message) -> str:
    """The per-host table: the code block of the message."""
    return "\n".join(t for t in mrkdwn_texts(message.blocks) if t.startswith("```"))


def replies(slack: SlackEmulator, message: Message) -> list[str]:
    return [m.text for m in slack.thread(CHANNEL, message.ts) if m.ts != message.ts]


def test_a_job_that_succeeds_says_so_first_and_tells_the_requester(
    workspace: SlackChat, slack: SlackEmulator, worker
):
    """✅ first, in the blocks and the notification text; a thread reply mentions the requester."""
    assert "Job 1 queued" in workspace.ops("slow pair --seconds 1", as_=ADMIN).text
    message = job_message(slack, 1, "✅")
    assert re.fullmatch(r"✅ Job 1 succeeded on 2 hosts in [0-9dhms]+ — 2 changed", message.text)
    assert f"*{message.text}*" == first_line(message)
    about = str(message.blocks[0]["text"]["text"]).split("\n")[1]
    assert about.startswith(f"`slow pair --seconds 1` · by <@{ADMIN}> · <!date^")
    assert "Full output: `job 1`" in json.dumps(message.blocks)
    [told] = slack.wait_for(lambda: replies(slack, message) or None, 30)
    assert told.startswith(f"<@{ADMIN}> ✅ Job 1 succeeded on 2 hosts")
    [mention] = [c for c in controls(told) if c.kind == "user"]
    assert ADMIN == mention.target


def test_a_failed_job_names_the_host_and_task_first_and_lists_it_first(
    workspace: SlackChat, slack: SlackEmulator, worker
):
    """❌ on web-02 at 'Started', the counts; web-02 heads the table though web-01 is first."""
    assert "Job 1 queued" in workspace.ops("slow web --seconds 1", as_=ADMIN).text
    message = job_message(slack, 1, "❌")
    assert re.fullmatch(
        r"❌ Job 1 failed on web-02 at 'Started' after [0-9dhms]+ — 1 failed, 1 changed",
        message.text,
    ), message.text
    lines = [line.strip() for line in table(message).splitlines() if "web-0" in line]
    assert lines[0].startswith("web-02  FAILED      at task 'Started'"), lines
    assert lines[1].startswith("web-01  changed"), lines
    told = slack.wait_for(lambda: replies(slack, message) or None, 30)
    assert told[0].startswith(f"<@{ADMIN}> ❌ Job 1 failed on web-02 at 'Started'")


def test_a_running_host_is_running_on_its_task_and_a_cancel_leaves_it_not_finished(
    workspace: SlackChat, slack: SlackEmulator, worker, r
):
    """After its first ok task a host is `running` on 'Wait', not `ok`; cancelled, it is
    `not finished`, never ok; the canceller is a mention; the duration reads "for"."""
    assert "Job 1 queued" in workspace.ops("slow pair --seconds 60", as_=ADMIN).text
    job = workspace.message("⏳ Job 1 is running", timeout=60)

    def on_wait() -> Message | None:  # both hosts past their ok 'Started', on 'Wait'
        now = job.message
        rows = table(now)
        hosts = ("web-01", "localhost")
        return now if all(re.search(rf"{h} +running +task 'Wait'", rows) for h in hosts) else None

    running = slack.wait_for(on_wait, 60)
    assert re.fullmatch(
        r"⏳ Job 1 is running on 2 hosts for [0-9dhms]+, now at 'Wait' — 2 running", running.text
    ), running.text
    assert "Cancelling job 1" in job.click("Cancel job", as_=ADMIN).text
    wait_for(lambda: r.hget("toilbot:job:1", "status") == b"canceled", 60, "the cancel")
    final = job_message(slack, 1, "⏹️")
    assert re.fullmatch(
        rf"⏹️ Job 1 was cancelled by <@{ADMIN}> on 2 hosts after [0-9dhms]+ — 2 not finished",
        final.text,
    ), final.text
    rows = table(final)
    assert re.search(r"web-01 +not finished", rows) and re.search(r"localhost +not finished", rows)
    assert not re.search(r"\bok\b", rows), rows
    # Every version of the message while it ran: never "ok" for a host still in its play.
    for version in slack.updates(CHANNEL, final.ts):
        assert not re.search(r"(web-01|localhost) +ok\b", table(version)), table(version)
        if "is running" in version.text:
            assert re.search(r"is running on 2 hosts for [0-9dhms]+", version.text), version.text


def test_a_timed_out_job_says_so_first(workspace: SlackChat, slack: SlackEmulator, worker):
    """⌛ timed out, after how long, under which limit; the hosts are not finished."""
    assert "Job 1 queued" in workspace.ops("sleepy localhost", as_=ADMIN).text
    message = job_message(slack, 1, "⌛")
    assert re.fullmatch(
        r"⌛ Job 1 timed out on 1 host after [0-9dhms]+ \(limit 3s\) — 1 not finished", message.text
    ), message.text
    assert slack.wait_for(lambda: replies(slack, message) or None, 30)


@pytest.mark.parametrize("notify_on_finish", [False])
def test_the_reply_to_the_requester_can_be_turned_off(
    workspace: SlackChat, slack: SlackEmulator, worker, notify_on_finish
):
    """slack.notify_on_finish: false: the job message, and no reply in its thread."""
    assert "Job 1 queued" in workspace.ops("slow web-01 --seconds 1", as_=ADMIN).text
    message = job_message(slack, 1, "✅")
    time.sleep(3)  # the reply would follow the final edit at once
    assert [] == replies(slack, message)
    assert [message.ts] == [m.ts for m in slack.messages(CHANNEL)]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_notify_on_finish_must_be_true_or_false(env, config_path: Path, value: Any):
    """A wrong value stops start-up with one clear line naming the key."""
    config = yaml.safe_load(config_path.read_text())
    config["slack"] = {"notify_on_finish": value}
    config_path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert "slack.notify_on_finish" in str(caught.value)
    assert "true or false" in str(caught.value)


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))


def test_hostile_text_in_a_job_message_is_only_words(env, r, slack, client):
    """A requester name, command, schedule name, task and Ansible message carrying markup:
    the job message and the reply act on nothing but the requester's mention (and dates)."""
    bot = assemble(load_settings(env), Store(r, "test")).bot
    reply = bot.handle(
        Request("slow web", ADMIN, "slack", queue="nobody", reply_to=ReplyTo(CHANNEL, ADMIN))
    )
    assert reply.job is not None
    job_id = reply.job.id
    bot.jobs.transition(job_id, JobStatus.QUEUED, status=JobStatus.RUNNING, started_at=time.time())
    bot.jobs.set_fields(job_id, user=HOSTILE, command=f"slow {HOSTILE}", schedule=HOSTILE)
    bot.jobs.record_progress(
        job_id,
        [
            HostResult("web-01", HostStatus.RUNNING, task=f"Wait {HOSTILE}"),
            HostResult("web-02", HostStatus.FAILED, failed_task=HOSTILE, message=HOSTILE),
        ],
        [f"fatal: {HOSTILE}"],
        None,
    )
    reporter = JobReporter(client, bot.jobs, job_id)
    reporter.start()
    bot.jobs.finish(job_id, JobStatus.RUNNING, JobStatus.FAILED, HOSTILE)
    reporter.finish()
    posted = slack.messages(CHANNEL)
    assert 2 == len(posted)  # the job message and the reply in its thread
    seen: list[Control] = [c for m in posted for c in controls(m.text, m.blocks)]
    assert [] == [c for c in seen if c.kind not in ("user", "date")], seen
    assert {ADMIN} == {c.target for c in seen if c.kind == "user"}
    assert any(c.kind == "user" for c in controls(posted[1].text))  # the reply mentions
    listing = bot.handle(Request("jobs", ADMIN, "slack")).text  # `jobs` shows them as words
    assert [] == controls(escape(listing)), listing
    read = "\n".join(shown(t) for m in posted for t in [m.text, *mrkdwn_texts(m.blocks)])
    assert "‹!channel> wake up ‹https://evil.example|click here> ‹@U0EVIL> & ‹#C0OTHER>" in read
