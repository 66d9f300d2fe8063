"""Block Kit views stay within Slack's limits, and Slack settings are checked at start-up."""

from __future__ import annotations

import dataclasses
import time

import pytest

from bot.execution.records import HostResult, HostStatus, JobRecord, JobStatus
from bot.frontends.slack.blocks import (
    MAX_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION,
    TEXT_BUDGET,
    job_blocks,
    reply_blocks,
    text_blocks,
    text_length,
)
from bot.frontends.slack.settings import slack_settings
from bot.platform.errors import ConfigError


def record(hosts: int, status: JobStatus = JobStatus.RUNNING) -> JobRecord:
    names = [f"web-{i:04d}.example.internal" for i in range(hosts)]
    return JobRecord(
        id=7,
        user="U0ADMIN",
        source="slack",
        command="patch web",
        spec="patch",
        playbook="patch.yml",
        values={},
        hosts=names,
        check_mode=False,
        timeout=60,
        status=status,
        created_at=time.time(),
        started_at=time.time(),
        results={
            h: HostResult(h, HostStatus.FAILED, failed_task="Apply", message="x" * 200)
            for h in names
        },
    )


def section_texts(blocks):
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_long_text_is_split_not_cut():
    """Text over 3000 characters (within the message total) becomes sections holding all of it."""
    text = "\n".join(f"line {i} " + "y" * 90 for i in range(80))
    blocks = text_blocks(text)
    assert all(len(t) <= MAX_SECTION for t in section_texts(blocks))
    assert text.replace("\n", "") == "".join(section_texts(blocks)).replace("\n", "")


@pytest.mark.parametrize("job", [None, 12])
def test_text_over_the_message_total_is_cut_with_a_note(job):
    """Text over Slack's total for one message is cut at a line end, saying what is missing."""
    text = "\n".join(f"line {i} " + "y" * 90 for i in range(400))
    blocks = reply_blocks("Head:\n" + text, job=job)
    assert text_length(blocks) <= TEXT_BUDGET < MAX_MESSAGE_TEXT
    note = section_texts(blocks)[-1]
    shown = sum(t.count("line ") for t in section_texts(blocks))
    assert f"{400 - shown} more lines not shown" in note
    assert ("job 12" in note) == (job == 12)


def test_one_huge_line_is_cut_too():
    """A text without line ends is still kept under the total."""
    blocks = text_blocks("z" * 50_000)
    assert text_length(blocks) <= TEXT_BUDGET
    assert "more lines not shown" in section_texts(blocks)[-1]


def test_job_message_size_is_measured_not_counted_in_blocks():
    """10 blocks of 2,500 characters is a summary: outcome first, failed hosts first, bounded."""
    done = record(0, JobStatus.FAILED)
    names = [f"host-{i}" for i in range(12)]
    packages = [f"package-{n}-1.2.3-4.el9.x86_64" for n in range(118)]
    results = {h: HostResult(h, HostStatus.OK, report={"pending": packages}) for h in names}
    results["host-9"] = HostResult("host-9", HostStatus.FAILED, failed_task="Check", message="no")
    big = dataclasses.replace(done, hosts=names, results=results)
    view = job_blocks(big)
    assert not view.complete
    assert text_length(view.blocks) <= TEXT_BUDGET
    texts = section_texts(view.blocks)
    assert texts[0].startswith("*❌ Job 7 failed on host-9 at 'Check' after ")
    assert texts[0].split("\n")[0].endswith(" — 1 failed, 11 ok*")
    table = texts[1]
    assert table.index("host-9") < table.index("host-0")
    assert "… and 2 more hosts" in table
    assert "package-117" in view.text  # the file has all of it


def test_a_running_job_has_a_cancel_button_and_a_finished_one_not():
    """The Cancel button is there while the job runs."""
    running = job_blocks(record(3))
    assert "toilbot_cancel_job" == running.blocks[-1]["elements"][0]["action_id"]
    done = job_blocks(record(3, JobStatus.FAILED))
    assert all(b["type"] != "actions" for b in done.blocks)
    assert done.complete


@pytest.mark.parametrize("hosts", [1, 40, 400])
def test_job_messages_fit_or_say_where_the_rest_is(hosts):
    """Any number of hosts: at most 50 blocks of at most 3000 characters, else a summary + file."""
    view = job_blocks(record(hosts))
    assert len(view.blocks) <= MAX_BLOCKS
    assert all(len(t) <= MAX_SECTION for t in section_texts(view.blocks))
    if not view.complete:
        assert any("in the thread, as a file" in t for t in section_texts(view.blocks))
    assert all(f"web-{i:04d}" in view.text for i in range(hosts))  # the full text is kept


def test_huge_jobs_go_to_a_file():
    """A table too large for one message is marked incomplete, for a file in the thread."""
    assert not job_blocks(record(2000)).complete


def test_tables_are_monospace_in_replies():
    """The per-host table of a reply is a code block; prose stays prose."""
    blocks = reply_blocks("Recent jobs:\n      1  succeeded  `status web`")
    assert "Recent jobs:" == blocks[0]["text"]["text"]
    assert blocks[1]["text"]["text"].startswith("```")


@pytest.mark.parametrize(
    ("env", "mode", "fragment"),
    [
        ({}, "http", "SLACK_BOT_TOKEN: is not set"),
        ({"SLACK_BOT_TOKEN": "xapp-1"}, "http", "should start with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "http", "SLACK_SIGNING_SECRET: is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "socket", "SLACK_APP_TOKEN: is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "socket", "start with xapp-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_API_URL": "slack.local"}, "client", "is not a URL"),
    ],
)
def test_slack_settings_errors(env, mode, fragment):
    """Each missing or malformed Slack setting is named, with where to find the right value."""
    with pytest.raises(ConfigError) as caught:
        slack_settings(env, mode=mode)
    assert fragment in str(caught.value)


def test_slack_settings_defaults():
    """Without SLACK_API_URL, Slack's own API is used."""
    settings = slack_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, mode="http"
    )
    assert "https://slack.com/api/" == settings.api_url
