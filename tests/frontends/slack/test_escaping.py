"""What the bot posts in Slack is read by Slack as the bot meant it: typed words and `<targets>`
shown as written, never as a mention, link or broadcast; our own mentions stay live.
Each check reads the messages as Slack would (tests/slack/mrkdwn.py)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, OPERATOR, start_toilbot, stop_toilbot
from tests.pipeline.approval_setup import LEAD1, LEAD2, approval_config
from tests.slack import SlackEmulator
from tests.slack.chat import SlackChat
from tests.slack.model import DEFAULT_CHANNEL_ID as CHANNEL
from tests.slack.mrkdwn import Control, controls, mrkdwn_texts, shown

HOSTILE = "<!channel> wake up <https://evil.example|click here> <!here> & <#C0OTHER>"
FORGED_DATE = "<!date^1^{date_short_pretty} {time}^https://evil.example|today>"
OUR_DATE = re.compile(r"date\^\d+\^\{date_short_pretty\} \{time\}")  # formatting.when


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return approval_config(tmp_path, {})


@pytest.fixture
def slack_users() -> tuple[str, ...]:
    return (ADMIN, OPERATOR, LEAD1, LEAD2)


@pytest.fixture
def worker(slack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """The worker delivers the approval thread's announcements (the outbox)."""
    proc = start_toilbot(slack_env, "worker")
    yield proc
    print(stop_toilbot(proc))


def acted_on(text: str, blocks: list[dict[str, Any]] | None) -> list[Control]:
    """What Slack would act on in a message, other than mentions of people and the bot's
    own times (each checked to be one: a date with no link in it)."""
    found = [c for c in controls(text, blocks) if c.kind != "user"]
    return [c for c in found if not (c.kind == "date" and OUR_DATE.fullmatch(c.target))]


def everything_posted(slack: SlackEmulator) -> list[tuple[str, list[dict[str, Any]] | None]]:
    return [(m.text, m.blocks) for m in slack.messages(CHANNEL)]


def test_help_and_usage_show_placeholders_as_written(workspace: SlackChat):
    """`help` and a usage line show `<targets>` and `<nginx|cron|ssh|demo>` literally."""
    help_ = workspace.ops("help", as_=ADMIN)
    usage = workspace.ops("restart", as_=OPERATOR)
    for seen in (help_, usage):
        assert [] == acted_on(seen.text, seen.blocks)
    read = "\n".join(shown(t) for t in mrkdwn_texts(help_.blocks))
    assert "<targets>" in read
    assert "restart <nginx|cron|ssh|demo> on <targets>" in "\n".join(
        shown(t) for t in [usage.text, *mrkdwn_texts(usage.blocks)]
    )


def test_a_hostile_deny_reason_is_quoted_not_acted_on(workspace: SlackChat, slack, worker):
    """A deny reason with a broadcast, a disguised link and a mention reaches the public thread
    as words; the mentions the bot builds (requester, approver) stay live."""
    request = workspace.ops("guarded web-01", as_=OPERATOR).message("*Approval request 1*")
    denied = workspace.ops(f"deny 1 {HOSTILE} <@{LEAD1}> {FORGED_DATE}", as_=LEAD2)
    assert "is denied" in denied.text, denied.text
    line = request.wait_in_thread("wake up")
    assert [] == acted_on(denied.text, denied.blocks)
    for text, blocks in everything_posted(slack):
        assert [] == acted_on(text, blocks), text
    people = {
        c.target for t, b in everything_posted(slack) for c in controls(t, b) if c.kind == "user"
    }
    assert {OPERATOR, LEAD2} == people  # ours; the reason's <@U0LEAD1> is only words
    assert "Denied by @U0LEAD2: ‹!channel› wake up ‹https://evil.example|click here›" in shown(line)
    assert "‹!date^1^{date_short_pretty} {time}^https://evil.example|today›" in shown(line)
    # The one live date is the bot's own: the request's expiry, with no link in it.
    dates = {
        c.target for t, b in everything_posted(slack) for c in controls(t, b) if c.kind == "date"
    }
    assert 1 == len(dates) and all(OUR_DATE.fullmatch(d) for d in dates), dates


def test_hostile_toil_notes_and_schedules_are_only_words(workspace: SlackChat, slack):
    """Toil notes, schedule commands and schedule names with markup are answered without any."""
    seen = [
        workspace.toil(f"log 30m operating interrupts {HOSTILE}", as_=OPERATOR),
        workspace.ops(f'schedule add "{HOSTILE}" cron "0 3 * * *"', as_=ADMIN),
        workspace.ops(f'schedule add "status web-01" cron "0 3 * * *" name {HOSTILE}', as_=ADMIN),
        workspace.ops(f"status {HOSTILE}", as_=ADMIN),
    ]
    for answer in seen:
        assert answer.text
        assert [] == acted_on(answer.text, answer.blocks), answer.text
    for text, blocks in everything_posted(slack):
        assert [] == acted_on(text, blocks), text


def test_a_second_confirm_click_says_what_the_first_one_did(workspace: SlackChat, r):
    """Confirm twice: one job, and the second click names it; Don't run it afterwards too."""
    asked = workspace.ops("restart cron on localhost", as_=ADMIN)
    assert "Job 1 queued" in asked.click("Confirm", as_=ADMIN).text
    again = asked.click("Confirm", as_=ADMIN)
    assert again.text.startswith("Already confirmed: job 1 was queued by the first click and is ")
    assert "nothing was run" not in again.text
    late_no = asked.click("Don't run it", as_=ADMIN)
    assert late_no.text.startswith("Already confirmed: job 1 was queued")
    assert "ephemeral" == late_no.response_type
    assert 1 == r.zcard("toilbot:jobs")


def test_confirm_after_dont_run_it_runs_nothing_and_says_so(workspace: SlackChat, r):
    """Don't run it, then Confirm on the same prompt: nothing is queued, and the answer says why."""
    asked = workspace.ops("restart cron on localhost", as_=ADMIN)
    asked.click("Don't run it", as_=ADMIN)
    late = asked.click("Confirm", as_=ADMIN)
    assert late.text.startswith("Already answered with Don't run it: nothing was run.")
    assert 0 == r.zcard("toilbot:jobs")
