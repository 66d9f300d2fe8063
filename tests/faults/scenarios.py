"""The faults: each injects one into a running stand while changes are under way.

Each scenario starts jobs on the four hosts through Slack, injects its fault at a
moment that hurts (a job running, its first post in flight), goes on submitting, and
returns once the fault is over; ``Stand.settle`` then counts what is left.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from tests.conftest import ADMIN, stop_toilbot, wait_for
from tests.faults.stand import HOSTS, Stand

Scenario = Callable[[Stand], int]  # returns how many faults it injected


def slack_rate_limited(stand: Stand) -> int:
    """The job's first post answered 429 with Retry-After 25 (issue 14's first finding)."""
    assert stand.slack is not None
    stand.slack.fail("chat.postMessage", status=429, retry_after=25)
    first = stand.change("web-01", seconds=stand.lease + 5)
    time.sleep(12)
    stand.change("web-01", seconds=2)  # refused: the host is taken
    assert first is not None
    return 1


def slack_errors(stand: Stand) -> int:
    """Slack answers 500 to the first three posts and edits."""
    assert stand.slack is not None
    stand.slack.fail("chat.postMessage", status=500, times=3)
    stand.slack.fail("chat.update", status=500, times=3)
    for host in HOSTS[:2]:
        stand.change(host, seconds=3)
    return 6


def slack_late(stand: Stand) -> int:
    """Slack applies the first post and the first edit but answers after the client's
    timeout: a retry must not post a second message."""
    assert stand.slack is not None
    stand.slack.fail("chat.postMessage", status=200, error="", delay=12)
    stand.slack.fail("chat.update", status=200, error="", delay=12)
    stand.change("web-02", seconds=3)
    return 2


def slack_down(stand: Stand) -> int:
    """Slack answers nothing but 503 for 20 seconds while jobs start and end."""
    assert stand.slack is not None
    with stand.slack.outage():
        for host in HOSTS[:2]:
            stand.change(host, seconds=3)
        time.sleep(20)
    return 1


def redis_restart(stand: Stand) -> int:
    """Redis SIGKILLed while a job runs, back after 4 seconds with its append-only file."""
    job = stand.change("web-01", seconds=10)
    assert job is not None
    stand.started(job)
    stand.redis.kill()
    time.sleep(4)
    stand.redis.start()
    time.sleep(2)
    stand.change("web-02", seconds=2)  # the stand goes on working
    return 1


def _kill_during(stand: Stand, which: str) -> int:
    job = stand.change("db-01", seconds=20)
    assert job is not None
    stand.started(job)
    horse = stand.running_horse(job)
    worker = stand.workers[0]
    if which in ("horse", "both"):
        os.kill(horse, signal.SIGKILL)
    if which in ("parent", "both"):
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        stand.retire(worker)
        stand.add_worker()  # what a supervisor would do
    return 1


def horse_killed(stand: Stand) -> int:
    """The work horse running a job SIGKILLed (as by the OOM killer)."""
    return _kill_during(stand, "horse")


def parent_killed(stand: Stand) -> int:
    """The worker process SIGKILLed while its horse runs a job."""
    return _kill_during(stand, "parent")


def both_killed(stand: Stand) -> int:
    """Worker and horse SIGKILLed together (the machine's process supervisor restarts it)."""
    return _kill_during(stand, "both")


def two_workers_one_host(stand: Stand) -> int:
    """Two workers, changes to one host sent back to back: one at a time, never two."""
    for _ in range(3):
        stand.change("web-01", seconds=3)
    return 0


def scheduler_leader_killed(stand: Stand) -> int:
    """Two `toilbot scheduler`s, a schedule every 5 s; the leader SIGKILLed mid-way: every
    fire time runs once (a second run of one fire time counts as a duplicate)."""
    assert stand.chat is not None
    command = 'schedule add "probe web-02 --seconds 1" every 5s name tick channel C0OPS'
    added = stand.chat.ops(command, as_=ADMIN)
    assert "tick" in added.text, added.text
    for _ in range(2):
        stand.add_scheduler()
    wait_for(lambda: len(stand.scheduled("tick")) >= 2, 90, "two scheduled runs")
    holder = stand.r.get("toilbot:scheduler:leader")
    assert holder is not None
    leader = int(holder.decode().rsplit("-", 2)[1])
    victim = next(p for p in stand.schedulers if p.pid == leader)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    stand.schedulers.remove(victim)
    stand.logs.append(stop_toilbot(victim))
    before = len(stand.scheduled("tick"))
    wait_for(lambda: len(stand.scheduled("tick")) >= before + 2, 90, "two runs after the kill")
    stand.chat.ops("schedule remove tick", as_=ADMIN)
    runs = stand.scheduled("tick")
    stand.acknowledged.update(runs)  # counted like jobs asked for in Slack
    stand.tally.duplicated += len(runs) - len(set(runs.values()))
    return 1


SCENARIOS: dict[str, tuple[Scenario, dict[str, int]]] = {
    "slack 429, Retry-After 25": (slack_rate_limited, {"lease": 30}),
    "slack 500": (slack_errors, {}),
    "slack answers late": (slack_late, {}),
    "slack down 20s": (slack_down, {}),
    "redis SIGKILL + restart": (redis_restart, {}),
    "horse SIGKILL": (horse_killed, {}),
    "parent SIGKILL": (parent_killed, {}),
    "horse + parent SIGKILL": (both_killed, {}),
    "two workers, one host": (two_workers_one_host, {"workers": 2}),
    "scheduler leader SIGKILL": (scheduler_leader_killed, {}),
}
#: The short form run by `make test`: one fault of each kind.
SHORT = ("slack 500", "horse SIGKILL", "two workers, one host")
