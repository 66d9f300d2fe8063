"""The pipeline as a visible list of steps, on one frozen Request (real Redis, no Ansible: jobs
go on a queue nobody serves)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.config.settings import load_settings
from bot.pipeline import steps
from bot.pipeline.bot import Bot, Outcome
from bot.pipeline.reply import Reply
from bot.pipeline.request import Channel, ReplyTo, Request
from bot.platform.audit import Audit, AuditAction
from bot.platform.store import Store
from tests.conftest import ADMIN, OPERATOR, VIEWER, write_config

IDLE = "steps-test-nobody-serves-this"


@pytest.fixture
def bot(tmp_path: Path, r: redis.Redis) -> Bot:
    policy = {
        "rate_limit": "2/min",
        "roles": {
            "admin": {"permissions": ["*"], "members": [ADMIN]},
            "operator": {"permissions": ["status", "jobs", "restart"], "members": [OPERATOR]},
        },
    }
    settings = load_settings({"TOILBOT_CONFIG": str(write_config(tmp_path, policy=policy))})
    return Bot.load(settings, Store(r, "test Redis"))


def log(r: redis.Redis) -> list[dict[str, Any]]:
    return [e.data for e in Audit(r).entries()]


def test_the_steps_are_the_route_of_a_command():
    """STEPS names the route in order: rate limit, parse, authorize, builtin, freeze gate,
    confirm or approve, submit."""
    expected = [
        "rate_limit", "parse", "authorize", "builtin", "freeze_gate", "confirm_or_approve",
        "submit",
    ]  # fmt: skip
    assert expected == [step.__name__ for step in steps.STEPS]


def test_a_request_is_frozen():
    """A Request cannot change on its way: a confirmed run is a new Request."""
    request = Request("status web", OPERATOR, "test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.confirmed = True  # type: ignore[misc]
    assert dataclasses.replace(request, confirmed=True).confirmed


def test_a_refused_rate_limit_stops_before_parse(bot):
    """Past the limit the request is refused by rate_limit; the steps after it never run."""
    seen: list[str] = []

    def spy(bot: Bot, request: Request, state: steps.State) -> Reply | steps.State:
        seen.append(request.text)
        return Reply(Outcome.ANSWERED, "spied")

    route = (steps.rate_limit, spy)
    assert ["spied", "spied"] == [
        steps.run(bot, Request(f"jobs {n}", OPERATOR, "test"), route).text for n in (1, 2)
    ]
    refused = steps.run(bot, Request("jobs 3", OPERATOR, "test"), route)
    assert Outcome.REFUSED is refused.outcome
    assert refused.text.startswith("Slow down: you have sent more than 2/min commands")
    assert ["jobs 1", "jobs 2"] == seen


def test_a_rate_limited_typo_is_refused_for_the_rate_not_the_typo(bot, r):
    """Through Bot.handle: the third command, misspelt, is refused as too many, and audited as a
    refusal, not as a parse error."""
    assert bot.handle(Request("jobs", OPERATOR, "test")).ok
    assert bot.handle(Request("jobs", OPERATOR, "test")).ok
    refused = bot.handle(Request("statsu web", OPERATOR, "test"))
    assert refused.text.startswith("Slow down:")
    assert AuditAction.COMMAND_REFUSED.value == log(r)[-1]["action"]


def test_a_confirmation_is_not_counted_again(bot):
    """The requester's confirmation of a command already counted passes the rate limit."""
    for _ in range(2):
        assert bot.handle(Request("jobs", OPERATOR, "test")).ok
    request = Request("restart nginx on web-01", OPERATOR, "test", queue=IDLE)
    assert Outcome.REFUSED is bot.handle(request).outcome
    confirmed = bot.handle(dataclasses.replace(request, confirmed=True))
    assert Outcome.QUEUED is confirmed.outcome, confirmed.text


def test_a_builtin_answers_and_nothing_after_it_runs(bot):
    """A builtin call ends at the builtin step, with the decision that allowed it."""
    reply = steps.run(bot, Request("whoami", VIEWER, "test"), steps.STEPS[:4])
    assert Outcome.ANSWERED is reply.outcome
    assert reply.text.startswith(f"You are <@{VIEWER}>.")
    assert reply.decision is not None and reply.decision.allowed


def test_a_job_reports_where_the_request_said(bot, r):
    """reply_to travels with the request into the job record, as the `notify` keys it always
    had; the audit entry names its channel."""
    reply_to = ReplyTo("C0OPS", user=ADMIN, channel_name="ops", thread_ts="1.5")
    request = Request(
        "status web", ADMIN, "slack", queue=IDLE, reply_to=reply_to, channel=Channel("C0OPS", "ops")
    )
    reply = bot.handle(request)
    assert Outcome.QUEUED is reply.outcome, reply.text
    record = bot.jobs.get(reply.job.id)
    expected = {"channel": "C0OPS", "user": ADMIN, "channel_name": "ops", "thread_ts": "1.5"}
    assert expected == record.notify
    assert reply_to == ReplyTo.from_json(record.notify)
    accepted = log(r)[-1]
    assert (AuditAction.COMMAND_ACCEPTED.value, "C0OPS") == (
        accepted["action"],
        accepted["channel"],
    )


def test_reply_to_reads_the_notify_of_earlier_records():
    """Stored `notify` dicts of every shape written so far read back; no channel, no ReplyTo."""
    scheduled = {"user": ADMIN, "channel": "#ops"}
    confirmed = {"channel": "C0OPS", "user": ADMIN, "thread_ts": "1.5"}
    assert ReplyTo("#ops", ADMIN) == ReplyTo.from_json(scheduled)
    assert confirmed == ReplyTo.from_json(confirmed).to_json()  # type: ignore[union-attr]
    assert ReplyTo.from_json(None) is None
    assert ReplyTo.from_json({}) is None
    assert Channel("C0OPS", "ops") == ReplyTo("C0OPS", channel_name="ops").where()
    assert ReplyTo("").where() is None
