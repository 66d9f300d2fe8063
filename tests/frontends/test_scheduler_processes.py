"""Real `toilbot scheduler` processes on one Redis: exactly once, takeover, Slack notices."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from bot.platform.store import Keys
from tests.conftest import (
    OPERATOR,
    start_toilbot,
    stop_toilbot,
    toilbot_cli,
    wait_for,
    write_config,
)
from tests.slack import SignedClient, block_actions_body
from tests.slack.model import DEFAULT_CHANNEL_ID
from tests.slack_fixtures import free_port, listening

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


def test_heads_up_in_the_channel_and_its_skip_button(slack_env, slack, r):
    """The heads-up is posted in #ops with a Skip button; the owner's click skips that run and
    the skip is announced; the run after it goes ahead."""
    added = toilbot_cli(
        slack_env,
        "exec",
        "--user",
        OPERATOR,
        'schedule add "status localhost" every 12s heads-up 8s name soon',
    )
    assert 0 == added.returncode, added.stderr
    port = free_port()
    app = start_toilbot(slack_env, "serve", "--host", "127.0.0.1", "--port", str(port))
    scheduler = start_toilbot(slack_env, "scheduler")
    try:
        heads_up = slack.wait_for(
            lambda: next(
                (m for m in slack.messages(DEFAULT_CHANNEL_ID) if "Scheduled run at" in m.text),
                None,
            ),
            30,
        )
        button = next(
            e
            for b in heads_up.blocks or []
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "toilbot_skip_run"
        )
        name, fire = button["value"].split()
        url = f"http://127.0.0.1:{port}/slack/events"
        wait_for(lambda: listening(port), 30, "toilbot serve")
        with SignedClient(url) as client:
            response_url = slack.new_response_url(kind="actions", user=OPERATOR)
            client.post(
                block_actions_body(
                    "toilbot_skip_run", button["value"], user_id=OPERATOR, response_url=response_url
                )
            )
        slack.wait_for(lambda: slack.responses, 10)
        assert "will be skipped (asked by <@U0OPER>)" in slack.responses[-1].body["text"]
        skipped = slack.wait_for(
            lambda: next(
                (m for m in slack.messages(DEFAULT_CHANNEL_ID) if "Skipped this run" in m.text),
                None,
            ),
            30,
        )
        assert "<@U0OPER> asked to skip it" in skipped.text
        wait_for(lambda: fire_times(r), 30, "the run after the skipped one")
    finally:
        print(stop_toilbot(scheduler))
        print(stop_toilbot(app))
    assert int(fire) not in fire_times(r)
    assert all(f > int(fire) for f in fire_times(r))
    outcomes = [fields[b"outcome"] for _id, fields in r.xrange(Keys.schedule_history(name))]
    assert [b"skipped", b"queued"] == outcomes[:2]
