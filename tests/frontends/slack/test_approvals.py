"""Approvals in Slack end to end: `toilbot serve` and `toilbot worker` against the local Slack,
with every click a signed block_actions request."""

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
from tests.slack import SignedClient, SlackEmulator, block_actions_body, slash_command_body
from tests.slack.model import DEFAULT_CHANNEL_ID as CHANNEL
from tests.slack.model import Message


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


def request_message(slack: SlackEmulator, request_id: int) -> Message:
    return slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages(CHANNEL)
                if m.text.startswith(f"*Approval request {request_id}*")
            ),
            None,
        ),
        10,
    )


def buttons(message: Message) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def click(
    client: SignedClient, slack: SlackEmulator, action: str, message: Message, user: str
) -> str:
    """Press a button of ``message`` as ``user``; returns the private answer."""
    count = len(slack.responses)
    url = slack.new_response_url(kind="actions", user=user)
    client.post(
        block_actions_body(
            action,
            buttons(message)[action],
            user_id=user,
            message_ts=message.ts,
            response_url=url,
        )
    )
    slack.wait_for(lambda: len(slack.responses) > count, 10)
    return str(slack.responses[-1].body["text"])


def thread_texts(slack: SlackEmulator, message: Message) -> list[str]:
    return [m.text for m in slack.thread(CHANNEL, message.ts)]


def wait_thread(slack: SlackEmulator, message: Message, fragment: str) -> None:
    slack.wait_for(lambda: any(fragment in t for t in thread_texts(slack, message)), 15)


def test_an_approvers_click_runs_exactly_the_approved_command(server, slack, worker, r):
    """Requester's click refused in private; an approver's click runs the stored command,
    announced in the request's thread, with the job's message as usual."""
    with SignedClient(server) as client:
        client.post(slash_command_body(text="guarded web --level high", user_id=OPERATOR))
        message = request_message(slack, 1)
        assert {"toilbot_approve": "1", "toilbot_deny": "1"} == buttons(message)
        assert "<@U0OPER> asks to run `guarded web --level high` on 2 hosts" in message.text
        own = click(client, slack, "toilbot_approve", message, OPERATOR)
        assert "You cannot approve your own command" in own
        assert 0 == r.zcard("toilbot:jobs")
        assert "Job 1 queued: `guarded web --level high` on 2 hosts." in click(
            client, slack, "toilbot_approve", message, LEAD1
        )
    wait_thread(slack, message, "Approved by <@U0LEAD1> (1 of 1)")
    wait_thread(slack, message, "Running as job 1, exactly the approved command.")
    final = "*Approved* by <@U0LEAD1>; running as job 1."
    updated = slack.wait_for(lambda: (m := request_message(slack, 1)) and final in m.text and m, 10)
    assert {} == buttons(updated)
    slack.wait_for(lambda: any("succeeded" in m.text for m in slack.messages(CHANNEL)), 60)
    record = Jobs(r).get(1)
    values = {"targets": "web", "level": "high", "check": False}
    assert (OPERATOR, ["web-01", "web-02"], values) == (record.user, record.hosts, record.values)


@pytest.mark.parametrize("approvals_config", [{"expiry": 2}])
def test_expiry_is_announced_and_a_late_click_does_nothing(server, slack, worker, r):
    """The worker's sweeper announces the expiry in the thread; a later Approve runs nothing."""
    with SignedClient(server) as client:
        client.post(slash_command_body(text="guarded web-01", user_id=OPERATOR))
        message = request_message(slack, 1)
        wait_thread(slack, message, "Expired: not approved in time. Nothing was run")
        late = click(client, slack, "toilbot_approve", message, LEAD1)
    assert "Approval request 1 expired at" in late and "nothing was run" in late
    assert 0 == r.zcard("toilbot:jobs")
    assert ApprovalState.EXPIRED == Approvals(r).get(1).state
    assert not buttons(request_message(slack, 1))


def test_quorum_and_deny_in_slack(server, slack, r: redis.Redis):
    """Two distinct approvers are needed for a quorum of 2; a deny ends a request."""
    with SignedClient(server) as client:
        client.post(slash_command_body(text="guarded-pair web-01", user_id=OPERATOR))
        first = request_message(slack, 1)
        assert "1 more approver needed" in click(client, slack, "toilbot_approve", first, LEAD1)
        assert "already approved" in click(client, slack, "toilbot_approve", first, LEAD1)
        assert 0 == r.zcard("toilbot:jobs")
        assert "Job 1 queued" in click(client, slack, "toilbot_approve", first, LEAD2)
        wait_thread(slack, first, "Approved by <@U0LEAD1> (1 of 2); waiting for more.")
        wait_thread(slack, first, "Approved by <@U0LEAD2> (2 of 2)")

        client.post(slash_command_body(text="guarded-pair web-02", user_id=OPERATOR))
        second = request_message(slack, 2)
        assert "is denied" in click(client, slack, "toilbot_deny", second, LEAD2)
        wait_thread(slack, second, "Denied by <@U0LEAD2>. Nothing was run.")
        assert "already denied" in click(client, slack, "toilbot_approve", second, LEAD1)
    assert 1 == r.zcard("toilbot:jobs")
    assert ["web-01"] == json.loads(r.hget("toilbot:job:1", "hosts"))
