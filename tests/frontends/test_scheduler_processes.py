"""Real `toilbot scheduler` processes on one Redis (exactly once, takeover), and a heads-up's
Skip button through the real `toilbot serve` and the local Slack."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from bot.frontends.scheduler import Scheduler
from bot.frontends.slack.client import make_client
from bot.frontends.slack.schedule_notices import Announcer
from bot.frontends.slack.settings import SlackSettings
from bot.platform.store import Keys
from tests.conftest import (
    OPERATOR,
    start_toilbot,
    stop_toilbot,
    toilbot_cli,
    wait_for,
    write_config,
)
from tests.frontends.test_scheduler import Clock
from tests.slack import SignedClient, block_actions_body
from tests.slack.model import DEFAULT_CHANNEL_ID

LEASE = 2


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A short scheduler lease, so a takeover happens within the test."""
    return write_config(tmp_path, scheduler={"lease_seconds": LEASE}, channels={"ops": "#ops"})


def fire_times(r: redis.Redis) -> list[int]:
    found = []
    for key in r.scan_iter("toilbot:job:*"):
        name = key.decode()
        if name.count(":") == 2 and name.split(":")[2].isdigit():
            value = r.hget(name, "fire_time")
            if value:
                found.append(int(value))
    return sorted(found)


def leader_pid(r: redis.Redis) -> int | None:
    holder = r.get(Keys.scheduler_leader)
    return None if holder is None else int(holder.decode().rsplit("-", 2)[1])


def test_three_schedulers_fire_every_second_exactly_once_through_a_sigkill(env, r):
    """Every fire time from the first run to the last produced exactly one job; the leader
    killed with SIGKILL is replaced within the lease, and no fire time is lost meanwhile."""
    added = toilbot_cli(env, "exec", 'schedule add "status localhost" every 1s window 1m name tick')
    assert 0 == added.returncode, added.stderr
    procs = [start_toilbot(env, "scheduler") for _ in range(3)]
    outputs = []
    try:
        wait_for(lambda: len(fire_times(r)) >= 6, 60, "six scheduled jobs")
        pid = leader_pid(r)
        victim = next(p for p in procs if p.pid == pid)
        os.killpg(victim.pid, signal.SIGKILL)
        killed = time.monotonic()
        victim.wait()
        wait_for(lambda: leader_pid(r) not in (None, pid), LEASE + 5, "a new leader")
        takeover = time.monotonic() - killed
        before = len(fire_times(r))
        wait_for(lambda: len(fire_times(r)) >= before + 6, 30, "six more jobs after the kill")
    finally:
        for proc in procs:
            outputs.append(stop_toilbot(proc))
    fires = fire_times(r)
    print("\n".join(outputs))
    assert takeover <= LEASE + 1.5, takeover
    assert len(fires) == len(set(fires)), "a fire time ran twice"
    assert list(range(fires[0], fires[-1] + 1)) == fires, "a fire time was missed"
    time.sleep(2)
    assert fires == fire_times(r), "a stopped scheduler went on firing"


def test_heads_up_in_the_channel_and_its_skip_button(server, slack, harness, r, monkeypatch):
    """The heads-up is posted in #ops with a Skip button; the owner's click (a signed request to
    `toilbot serve`) skips that run and the skip is announced; the run after it goes ahead.

    The scheduler is the one `toilbot scheduler` builds (the real Slack announcer), stepped
    with its clock in the test's hand: first inside the heads-up only, then at the fire time,
    then at the next one. Nothing here depends on how fast processes start or answer.
    """
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)  # slack_sdk would send the local Slack there
    added = harness.say('schedule add "status localhost" every 1h heads-up 10m name soon', OPERATOR)
    assert "Schedule `soon` added" in added, added
    fire = (int(time.time()) // 3600 + 2) * 3600  # a run one to two hours ahead: skippable
    r.hset(Keys.schedule_state("soon"), "cursor", fire - 3600)  # the run before it was decided
    client = make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))
    announcer = Announcer(r, client, harness.bot.settings.timezone)
    clock = Clock(fire - 5 * 60)  # inside the heads-up, nothing due
    scheduler = Scheduler(harness.bot, harness.bot.schedules, announcer, clock=clock)
    scheduler.step()
    assert [] == fire_times(r)
    heads_up = next(m for m in slack.messages(DEFAULT_CHANNEL_ID) if "Scheduled run at" in m.text)
    # The run's time as Slack's date token (each reader's timezone), the owner as a mention.
    assert f"Scheduled run at <!date^{fire}^{{date_short_pretty}} {{time}}|" in heads_up.text
    assert "(schedule `soon`, owner <@U0OPER>)" in heads_up.text
    button = next(
        e
        for b in heads_up.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "toilbot_skip_run"
    )
    assert f"soon {fire}" == button["value"]
    with SignedClient(server) as signed:
        response_url = slack.new_response_url(kind="actions", user=OPERATOR)
        signed.post(
            block_actions_body(
                "toilbot_skip_run", button["value"], user_id=OPERATOR, response_url=response_url
            )
        )
    slack.wait_for(lambda: slack.responses, 10)
    assert "will be skipped (asked by <@U0OPER>)" in slack.responses[-1].body["text"]
    clock.now = fire
    scheduler.step()
    skipped = next(m for m in slack.messages(DEFAULT_CHANNEL_ID) if "Skipped this run" in m.text)
    assert "<@U0OPER> asked to skip it" in skipped.text
    assert [] == fire_times(r)
    clock.now = fire + 3600
    scheduler.step()
    assert [fire + 3600] == fire_times(r)
    outcomes = [fields[b"outcome"] for _id, fields in r.xrange(Keys.schedule_history("soon"))]
    assert [b"skipped", b"queued"] == outcomes
