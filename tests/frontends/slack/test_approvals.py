"""Approvals in Slack end to end: `toilbot serve` and `toilbot worker` against the local Slack,
typed and clicked through the `workspace` helper (every click a signed block_actions request)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.execution.jobs import Jobs
from bot.pipeline.approvals import Approvals, ApprovalState
from tests.conftest import ADMIN, OPERATOR, start_toilbot, stop_toilbot
from tests.pipeline.approval_setup import LEAD1, LEAD2, approval_config
from tests.slack import SlackEmulator
from tests.slack.chat import SlackChat
from tests.slack.model import DEFAULT_CHANNEL_ID as CHANNEL
from tests.slack.mrkdwn import controls


@pytest.fixture
def approvals_config() -> dict[str, Any]:
    return {}


@pytest.fixture
def config_path(tmp_path: Path, approvals_config: dict[str, Any]) -> Path:
    return approval_config(tmp_path, approvals_config)


@pytest.fixture
def slack_users() -> tuple[str, ...]:
    return (ADMIN, OPERATOR, LEAD1, LEAD2)


@pytest.fixture
def worker(slack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = start_toilbot(slack_env, "worker")
    yield proc
    print(stop_toilbot(proc))


def succeeded(slack: SlackEmulator) -> bool:
    return any("succeeded" in m.text for m in slack.messages(CHANNEL))


def test_an_approvers_click_runs_exactly_the_approved_command(
    workspace: SlackChat, slack, worker, r
):
    """Requester's click refused in private; an approver's click runs the stored command,
    announced in the request's thread, with the job's message as usual."""
    asked = workspace.ops("guarded web --level high", as_=OPERATOR)
    request = asked.message("*Approval request 1*")
    assert {"toilbot_approve": "1", "toilbot_deny": "1"} == request.actions()
    assert "<@U0OPER> asks to run `guarded web --level high` on 2 hosts" in request.text
    # The expiry as Slack's date token: each reader sees it in their own timezone.
    expires = Approvals(r).get(1).expires_at
    token = f"<!date^{int(expires)}^{{date_short_pretty}} {{time}}|"
    assert f"before {token}" in request.text, request.text
    assert f"is waiting until {token}" in asked.text, asked.text
    assert [("user", OPERATOR)] == [
        (c.kind, c.target) for c in controls(request.text) if c.kind != "date"
    ]
    own = request.click("Approve", as_=OPERATOR)
    assert "You cannot approve your own command" in own.text
    assert 0 == r.zcard("toilbot:jobs")
    approved = request.click("Approve", as_=LEAD1)
    assert "Job 1 queued: `guarded web --level high` on 2 hosts." in approved.text
    request.wait_in_thread("Approved by <@U0LEAD1> (1 of 1)")
    request.wait_in_thread("Running as job 1, exactly the approved command.")
    request.wait_until_it_says("*Approved* by <@U0LEAD1>; running as job 1.")
    assert {} == request.actions()
    slack.wait_for(lambda: succeeded(slack), 60)
    record = Jobs(r).get(1)
    values = {"targets": "web", "level": "high", "check": False}
    assert (OPERATOR, ["web-01", "web-02"], values) == (record.user, record.hosts, record.values)


@pytest.mark.parametrize("approvals_config", [{"expiry": 2}])
def test_expiry_is_announced_and_a_late_click_does_nothing(workspace: SlackChat, worker, r):
    """The worker's sweeper announces the expiry in the thread; a later Approve runs nothing."""
    request = workspace.ops("guarded web-01", as_=OPERATOR).message("*Approval request 1*")
    request.wait_in_thread("Expired: not approved in time. Nothing was run")
    late = request.click("Approve", as_=LEAD1)
    assert "Approval request 1 expired at <!date^" in late.text and "nothing was run" in late.text
    assert 0 == r.zcard("toilbot:jobs")
    assert ApprovalState.EXPIRED == Approvals(r).get(1).state
    assert {} == request.actions()


def test_quorum_and_deny_in_slack(workspace: SlackChat, r: redis.Redis):
    """Two distinct approvers are needed for a quorum of 2; a deny ends a request."""
    first = workspace.ops("guarded-pair web-01", as_=OPERATOR)
    assert "1 more approver needed" in first.click("Approve", as_=LEAD1).text
    assert "already approved" in first.click("Approve", as_=LEAD1).text
    assert 0 == r.zcard("toilbot:jobs")
    assert "Job 1 queued" in first.click("Approve", as_=LEAD2).text
    request = first.message("*Approval request 1*")
    request.wait_in_thread("Approved by <@U0LEAD1> (1 of 2); waiting for more.")
    request.wait_in_thread("Approved by <@U0LEAD2> (2 of 2)")

    second = workspace.ops("guarded-pair web-02", as_=OPERATOR)
    assert "is denied" in second.click("Deny", as_=LEAD2).text
    second.message("*Approval request 2*").wait_in_thread("Denied by <@U0LEAD2>. Nothing was run.")
    assert "already denied" in second.click("Approve", as_=LEAD1).text
    assert 1 == r.zcard("toilbot:jobs")
    assert ["web-01"] == json.loads(r.hget("toilbot:job:1", "hosts"))
