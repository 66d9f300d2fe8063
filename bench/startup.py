"""How long toilbot takes to start: `toilbot exec --json help` and `import bot.frontends.cli`.

Each figure is a fresh process, timed ``--repeat`` times (runs interleaved,
median and minimum printed) next to its baseline measured in the same run:

* ``import bot.frontends.cli`` against ``python -c "import redis"``: redis-py
  is the one heavy import every command needs (~190 ms on 2 cores, most of it
  ``redis.asyncio``, which redis-py's package ``__init__`` imports; importing
  ``redis.client`` alone runs that ``__init__`` too, so it is no cheaper);
* ``toilbot exec --json help`` against ``python -c pass``: interpreter start,
  imports, config, specs, policy and inventory, the Redis round trips of one
  request, exit. Once with the embedded Redis already running (a console or a
  worker holds it, as in daily use), once with the command starting it and
  shutting it down at exit (nothing else running).

A private data directory (its own embedded Redis) and the repository's
toilbot.yaml. Bytecode goes to a private ``PYTHONPYCACHEPREFIX`` filled by one
untimed warm-up of each command (``PYTHONDONTWRITEBYTECODE`` is dropped), so
the figures are those of an installed toilbot, not of compiling its sources.
Timings are printed, never asserted. ``--imports`` adds the heaviest packages
of one ``python -X importtime -c "import bot.frontends.cli"``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.platform.store import connect

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
TOILBOT = str(Path(PYTHON).parent / "toilbot")
# A new user id each run: one user's 30 commands a minute (policy.rate_limit) would refuse it.
HELP = [TOILBOT, "exec", "--user", "{user}", "--json", "help"]
_runs = itertools.count(1)


@dataclass
class Figure:
    """One command timed repeatedly."""

    label: str
    argv: list[str]
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def timed(argv: list[str], env: dict[str, str]) -> float:
    user = f"U0START{next(_runs):05d}"
    argv = [arg.format(user=user) for arg in argv]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode()}")
    return seconds


def measure(figures: list[Figure], env: dict[str, str], repeat: int) -> None:
    """One untimed warm-up each (fills the bytecode cache), then interleaved timed runs."""
    for figure in figures:
        timed(figure.argv, env)
    for round_ in range(repeat):
        for figure in figures if round_ % 2 == 0 else reversed(figures):
            figure.times.append(timed(figure.argv, env))


def cell(figure: Figure) -> str:
    return f"{figure.median * 1000:.0f} ms (min {min(figure.times) * 1000:.0f})"


def report(pairs: list[tuple[Figure, Figure]], repeat: int) -> str:
    rows = [["figure", "toilbot", "baseline", "", "ratio"]]
    for figure, baseline in pairs:
        ratio = f"{figure.median / baseline.median:.2f}x"
        rows.append([figure.label, cell(figure), cell(baseline), baseline.label, ratio])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"toilbot start-up (median of {repeat} fresh processes, and minimum)"]
    for row in rows:
        left = (True, False, False, True, False)  # names left-aligned, figures right-aligned
        cells = [
            c.ljust(w) if is_left else c.rjust(w)
            for c, w, is_left in zip(row, widths, left, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def heaviest_imports(env: dict[str, str], top: int = 6) -> str:
    """The libraries `import bot.frontends.cli` loads, by cumulative import time (one run)."""
    argv = [PYTHON, "-X", "importtime", "-c", "import bot.frontends.cli"]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    costs: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        root = parts[2].strip().split(".")[0]
        if root != "bot" and root not in sys.stdlib_module_names:
            costs[root] = max(costs.get(root, 0), int(parts[1]))  # its outermost import
    heaviest = sorted(costs.items(), key=lambda item: -item[1])[:top]
    cells = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in heaviest)
    return f"libraries imported by bot.frontends.cli (cumulative, one run): {cells}"


def environment() -> str:
    return (
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=10, metavar="N", help="timed runs each")
    parser.add_argument("--imports", action="store_true", help="add the heaviest imports")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="toilbot-startup-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
        env.pop("REDIS_URL", None)
        env |= {"TOILBOT_DATA_DIR": str(Path(tmp) / "data"), "PYTHONPYCACHEPREFIX": tmp}
        bare = Figure("python -c pass", [PYTHON, "-c", "pass"])
        redis_only = Figure("python -c 'import redis'", [PYTHON, "-c", "import redis"])
        cli = Figure("import bot.frontends.cli", [PYTHON, "-c", "import bot.frontends.cli"])
        cold = Figure("exec --json help (starts Redis)", HELP)
        measure([bare, redis_only, cli, cold], env, args.repeat)
        os.environ["TOILBOT_DATA_DIR"] = env["TOILBOT_DATA_DIR"]
        held = connect(None, Path(env["TOILBOT_DATA_DIR"]))  # a client: Redis stays up
        try:
            warm = Figure("exec --json help (Redis running)", HELP)
            warm_bare = Figure(bare.label, bare.argv)
            measure([warm_bare, warm], env, args.repeat)
        finally:
            held.redis.shutdown(save=False)  # before its data directory goes
        pairs = [(cli, redis_only), (warm, warm_bare), (cold, bare)]
        print(report(pairs, args.repeat))
        if args.imports:
            print(heaviest_imports(env))
        print(environment())
    return 0


if __name__ == "__main__":
    sys.exit(main())
