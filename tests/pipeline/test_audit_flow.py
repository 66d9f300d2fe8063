"""What the pipeline writes to the audit log: denials, parse errors, queued jobs and their
outcome, confirmations, cancels and reaped jobs, through the real Bot, RQ, Ansible and Slack app.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import redis
from rq import Queue

from bot.execution.records import JobStatus
from bot.pipeline.bot import Outcome
from bot.pipeline.request import ReplyTo, Request
from bot.platform.audit import Audit
from bot.platform.store import LOCAL_QUEUE_PREFIX, Keys
from tests.conftest import ADMIN, NOBODY, OPERATOR
from tests.harness import Harness
from tests.slack import SignedClient, block_actions_body, slash_command_body
from tests.slack.model import DEFAULT_CHANNEL_ID

IDLE_QUEUE = "audit-test-nobody-serves-this"


def log(r: redis.Redis) -> list[dict[str, Any]]:
    """Every audit entry, oldest first, as written."""
    return [e.data for e in Audit(r).entries()]


def actions(r: redis.Redis) -> list[str]:
    return [e["action"] for e in log(r)]


def test_a_denial_names_the_user_the_source_and_the_rule(harness: Harness, r):
    """A refused command is one command.denied entry with who, from where, what and the rule."""
    reply = harness.bot.handle(Request("status localhost", NOBODY, "exec"))
    assert Outcome.REFUSED == reply.outcome
    [entry] = log(r)
    assert {
        "action": "command.denied",
        "user": NOBODY,
        "source": "exec",
        "command": "status localhost",
        "decision": "denied",
        "rule": f"no role of {NOBODY} grants status",
        "job": None,
    } == {k: entry[k] for k in ("action", "user", "source", "command", "decision", "rule", "job")}
    assert "needs the `status` permission" in entry["outcome"]


def test_a_parse_error_keeps_the_text_and_the_channel(harness: Harness, r):
    """A mistyped command is a command.parse_error entry with the text, channel and the answer."""
    reply_to = ReplyTo("C0OPS", ADMIN)
    harness.bot.handle(Request("statsu localhost", ADMIN, "slack", reply_to=reply_to))
    [entry] = log(r)
    assert ("command.parse_error", ADMIN, "slack", "C0OPS", "statsu localhost", None) == (
        entry["action"],
        entry["user"],
        entry["source"],
        entry["channel"],
        entry["command"],
        entry["decision"],
    )
    assert entry["outcome"].startswith("There is no command `statsu`. Did you mean `status`")


def test_a_job_is_recorded_when_queued_and_when_it_ends(harness: Harness, r):
    """A run writes command.accepted with the job id and rule, then job.finished with its status."""
    assert "Job 1 succeeded" in harness.say("status localhost")
    accepted, finished = log(r)
    assert ("command.accepted", ADMIN, "test", 1, "allowed", "role admin grants *") == (
        accepted["action"],
        accepted["user"],
        accepted["source"],
        accepted["job"],
        accepted["decision"],
        accepted["rule"],
    )
    assert {"hosts": ["localhost"], "check_mode": False, "confirmed": False} == accepted["detail"]
    assert ("job.finished", ADMIN, 1, "succeeded", "status localhost") == (
        finished["action"],
        finished["user"],
        finished["job"],
        finished["outcome"],
        finished["command"],
    )
    assert "test" == finished["detail"]["requested_from"]
    assert Audit(r).verify().ok


def test_a_declined_confirmation_is_recorded(harness: Harness, r):
    """A command that asks first leaves confirmation.asked and confirmation.declined; no job."""
    harness.say("restart cron on localhost", OPERATOR, confirm=False)
    assert ["confirmation.asked", "confirmation.declined"] == actions(r)
    assert [OPERATOR, OPERATOR] == [e["user"] for e in log(r)]
    assert 0 == r.zcard(Keys.jobs)


def test_a_cancel_is_recorded_with_the_job_outcome(harness: Harness, r):
    """Cancelling a queued job leaves job.finished (canceled), job.cancel and the command."""
    queued = harness.bot.handle(Request("status localhost", ADMIN, "exec", queue=IDLE_QUEUE))
    assert Outcome.QUEUED == queued.outcome
    harness.bot.handle(Request("cancel 1", OPERATOR, "exec"))
    assert ["command.accepted", "job.finished", "job.cancel", "command.answered"] == actions(r)
    _, finished, cancel, answered = log(r)
    assert ("canceled", 1) == (finished["outcome"], finished["job"])
    assert (OPERATOR, 1, "Job 1 was cancelled before it started.") == (
        cancel["user"],
        cancel["job"],
        cancel["outcome"],
    )
    assert ("cancel 1", "role operator grants cancel") == (answered["command"], answered["rule"])


def test_a_reaped_job_gets_its_outcome(harness: Harness, r):
    """A job whose console went away is reaped as failed, and job.finished says so."""
    dead = f"{LOCAL_QUEUE_PREFIX}{socket.gethostname()}-999999999"
    harness.bot.handle(Request("status localhost", ADMIN, "console", queue=dead))
    assert [1] == harness.bot.jobs.reap(3)
    finished = log(r)[-1]
    assert ("job.finished", 1, "failed") == (
        finished["action"],
        finished["job"],
        finished["outcome"],
    )
    assert "console" == finished["detail"]["requested_from"]


def test_a_job_that_cannot_be_audited_is_not_run(harness: Harness, r):
    """With the audit log unwritable, a job is refused and failed before it reaches the queue."""
    r.set(Keys.audit_head, "damaged")
    reply = harness.bot.handle(Request("status localhost", ADMIN, "exec", queue=IDLE_QUEUE))
    assert Outcome.REFUSED == reply.outcome
    assert reply.text.startswith("Not run: job 1 could not be written to the audit log")
    assert JobStatus.FAILED == harness.bot.jobs.get(1).status
    assert 0 == Queue(IDLE_QUEUE, connection=r).count
    denied = harness.bot.handle(Request("status localhost", NOBODY, "exec"))
    assert "needs the `status` permission" in denied.text
    assert "(Not written to the audit log: The audit log's head" in denied.text
    assert 0 == r.xlen(Keys.audit)


def test_slack_confirm_buttons_are_recorded(server, slack, r):
    """Slack's prompt, a stranger's click, the requester's Confirm and a late click are recorded."""
    with SignedClient(server) as client:
        asked = client.post(slash_command_body(text="restart cron on localhost", user_id=OPERATOR))
        token = next(
            e["value"]
            for b in json.loads(asked.text)["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "toilbot_confirm"
        )
        for user in (ADMIN, OPERATOR, OPERATOR):
            url = slack.new_response_url(kind="actions", user=user)
            count = len(slack.responses)
            client.post(
                block_actions_body("toilbot_confirm", token, user_id=user, response_url=url)
            )
            slack.wait_for(lambda n=count: len(slack.responses) > n, 10)
        declined = client.post(
            slash_command_body(text="restart ssh on localhost", user_id=OPERATOR)
        )
        token = next(
            e["value"]
            for b in json.loads(declined.text)["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "toilbot_decline"
        )
        count = len(slack.responses)
        url = slack.new_response_url(kind="actions", user=OPERATOR)
        client.post(
            block_actions_body("toilbot_decline", token, user_id=OPERATOR, response_url=url)
        )
        slack.wait_for(lambda: len(slack.responses) > count, 10)
    entries = log(r)
    assert [
        ("confirmation.asked", OPERATOR),
        ("confirmation.refused", ADMIN),
        ("confirmation.confirmed", OPERATOR),
        ("command.accepted", OPERATOR),
        ("confirmation.expired", OPERATOR),
        ("confirmation.asked", OPERATOR),
        ("confirmation.declined", OPERATOR),
    ] == [(e["action"], e["user"]) for e in entries]
    assert {"slack"} == {e["source"] for e in entries}
    assert DEFAULT_CHANNEL_ID == entries[3]["channel"]
    assert f"only the requester, {OPERATOR}, confirms" == entries[1]["rule"]
    assert 1 == entries[3]["job"]
    assert Audit(r).verify().ok
