"""Slash-command ack throughput of `toilbot serve` against a bare Bolt app on the same server.

Both are served by the same gunicorn setup (gthread, 4 threads a worker, the
same worker count: ``--workers``, default 2) on free loopback ports; the
baseline is bench/bare_bolt.py, a Bolt app that only acks. Slash commands are
built and signed as Slack builds and signs them (tests/slack/signing.py) and
sent over keep-alive HTTP connections by ``c`` client threads (1, 8, 32), each
row for ``--seconds`` (default 3) after a short warm-up. Three commands:

* ``help``: answered at once;
* a refusal: ``status one`` from a member no policy role names;
* an enqueue: ``status one`` from an admin; no worker serves the queue, so
  every job stays queued.

One user sends all of them, so the policy's rate limit is set out of reach
(999999/s): it is still checked on every command, as in production.

Two situations: an empty queue (the database flushed before each enqueue
row) and a backlog (10,000 jobs queued first through ``Bot.handle``, as
every front end queues them; the rows add theirs on top, the ``queued``
column shows how many were waiting when the row began).

Per row: requests/s, p50 and p99 of the client-side latency, and CPU per
request (utime+stime of the gunicorn master and workers from /proc/<pid>/stat,
delta over the row, divided by the requests), then the bare Bolt figures
measured in the same run at the same concurrency and the ratios (toilbot's
throughput / bare, CPU / bare). The client threads share the 2 cores with the
servers, so the throughput figures are the whole machine's.

Nothing leaves loopback: a private redis-server on a Unix socket
(bench/scratch_redis.py), the local Slack of the tests (tests/slack, started
in this process: ``auth.test`` at start-up is all either server asks it).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
import yaml
from scratch_redis import start_redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.slack: the local Slack and the signing of requests

from bot.config.settings import load_settings  # noqa: E402
from bot.frontends.wiring import assemble  # noqa: E402
from bot.pipeline.request import Request  # noqa: E402
from bot.platform.store import QUEUE, Store  # noqa: E402
from tests.slack import SlackEmulator  # noqa: E402
from tests.slack.signing import (  # noqa: E402
    DEFAULT_SIGNING_SECRET,
    USER_AGENT,
    signed_headers,
    slash_command_body,
)

ADMIN = "U0BENCH"
NOBODY = "U0NOBODY"  # a member of the workspace with no role: refused
PATH = "/slack/events"
COMMANDS = {  # row name: (user, text)
    "help": (ADMIN, "help"),
    "refusal": (NOBODY, "status one"),
    "enqueue": (ADMIN, "status one"),
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
_TRIGGER = "TRIGGER-ID-PLACEHOLDER"


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
        "local_user": ADMIN,
        "policy": {
            "roles": {"admin": {"permissions": ["*"], "members": [ADMIN]}},
            # Checked on every command as always, but never reached: one user sends them all.
            "rate_limit": "999999/s",
        },
    }
    path = directory / "toilbot.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """One gunicorn master (and its workers) started from ``argv``, output to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*argv, "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while not listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)

    def pids(self) -> list[int]:
        master = self.proc.pid
        children: list[int] = []
        for task in Path(f"/proc/{master}/task").iterdir():
            children += [int(p) for p in (task / "children").read_text().split()]
        return [master, *children]

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / CLK_TCK

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


class Signer:
    """Signed request bytes per command. Each request gets its own ``trigger_id``, as
    Slack gives every invocation one (toilbot answers a repeated one as a redelivery)."""

    def __init__(self) -> None:
        self._templates: dict[str, tuple[str, dict[str, str]]] = {}
        self._serial = itertools.count(1)
        self._run = secrets.token_hex(8)

    def request(self, kind: str) -> tuple[bytes, dict[str, str]]:
        if kind not in self._templates:
            user, text = COMMANDS[kind]
            body = slash_command_body(text=text, user_id=user, trigger_id=_TRIGGER)
            headers = {"Content-Type": body.content_type, "User-Agent": USER_AGENT}
            self._templates[kind] = (body.raw, headers)
        raw, headers = self._templates[kind]
        trigger = f"{next(self._serial)}.{self._run}.{kind}"
        raw = raw.replace(_TRIGGER, trigger)
        return raw.encode(), {**headers, **signed_headers(DEFAULT_SIGNING_SECRET, raw)}


@dataclass
class Row:
    requests: int
    seconds: float
    latencies: list[float]
    cpu: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / max(1, self.requests)


def load(server: Server, signer: Signer, kind: str, concurrency: int, seconds: float) -> Row:
    """``concurrency`` threads sending ``kind`` back to back for ``seconds``."""
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    go = threading.Barrier(concurrency + 1)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        mine = latencies[n]
        go.wait()
        while not stop.is_set():
            body, headers = signer.request(kind)
            started = time.perf_counter()
            try:
                conn.request("POST", PATH, body, headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                errors[n] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    cpu_before = server.cpu_seconds()
    go.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done = [x for lst in latencies for x in lst]
    return Row(len(done), elapsed, done, server.cpu_seconds() - cpu_before, sum(errors))


def check_answers(server: Server, signer: Signer, r: redis.Redis, *, queues: bool) -> None:
    """One request of each kind: 200, and only the enqueue queued a job (else the rows lie)."""
    for kind in COMMANDS:
        before = r.llen(f"rq:queue:{QUEUE}")
        body, headers = signer.request(kind)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", PATH, body, headers)
        response = conn.getresponse()
        answer = response.read().decode()
        conn.close()
        if response.status != 200:
            raise SystemExit(f"{server.name} answered {kind} with {response.status}: {answer}")
        queued = r.llen(f"rq:queue:{QUEUE}") - before
        if (queues and kind == "enqueue") != (queued == 1):
            raise SystemExit(f"{kind} queued {queued} jobs: {answer}")


def fill(bot_handle: Callable[[Request], object], r: redis.Redis, jobs: int) -> float:
    """Queue ``jobs`` jobs through Bot.handle, as the Slack front end queues them."""
    started = time.perf_counter()
    while r.llen(f"rq:queue:{QUEUE}") < jobs:
        for _ in range(500):
            bot_handle(Request("status one", ADMIN, "bench", confirmed=True, queue=QUEUE))
    return time.perf_counter() - started


def fmt(row: Row) -> str:
    return (
        f"{row.rate:>7.0f} {row.pct(0.5) * 1000:>6.1f} {row.pct(0.99) * 1000:>6.1f} "
        f"{row.cpu_per_request * 1000:>6.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each row")
    parser.add_argument("--concurrency", default="1,8,32", help="client threads per row")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, both servers")
    parser.add_argument("--backlog", type=int, default=10000, help="jobs queued in situation 2")
    parser.add_argument("--commands", default=",".join(COMMANDS), help="rows to run")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    kinds = args.commands.split(",")
    signer = Signer()
    with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as slack:
        directory = Path(tmp)
        for user in (ADMIN, NOBODY):
            slack.add_user(user)
        proc, sock = start_redis(directory)
        servers: list[Server] = []
        try:
            r = redis.Redis(unix_socket_path=str(sock))
            env = {
                k: v
                for k, v in os.environ.items()
                if k.lower() not in ("http_proxy", "https_proxy")
            }
            env.update(
                REDIS_URL=f"unix://{sock}",
                TOILBOT_CONFIG=str(write_config(directory)),
                TOILBOT_DATA_DIR=str(directory / "data"),
                SLACK_BOT_TOKEN=slack.bot_token,
                SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET,
                SLACK_API_URL=slack.base_url,
            )
            env.pop("SLACK_APP_TOKEN", None)
            workers = ["--workers", str(args.workers)]
            toilbot = Server(
                "toilbot serve",
                [sys.executable, "-m", "bot", "serve", *workers],
                env,
                directory / "toilbot.log",
            )
            servers.append(toilbot)
            bare = Server(
                "bare Bolt",
                [sys.executable, str(REPO / "bench" / "bare_bolt.py"), *workers],
                env,
                directory / "bare.log",
            )
            servers.append(bare)
            bot = assemble(load_settings(env), Store(r, "bench Redis")).bot
            check_answers(toilbot, signer, r, queues=True)
            check_answers(bare, signer, r, queues=False)
            for server in servers:  # warm-up: imports, scripts, connections in every worker
                load(server, signer, "help", max(levels), 1.0)
            print(
                f"{args.workers} gunicorn workers x 4 threads each; {args.seconds:g} s a row; "
                f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start"
            )
            print(
                f"{'command':<8} {'queued':>6} {'c':>3} | {'toilbot':^7} {'p50':>6} {'p99':>6} "
                f"{'cpu':>6} | {'bare':^7} {'p50':>6} {'p99':>6} {'cpu':>6} | "
                f"{'rate':>5} {'cpu':>5}"
            )
            print(
                f"{'':<8} {'':>6} {'':>3} | {'req/s':>7} {'ms':>6} {'ms':>6} {'ms/rq':>6} | "
                f"{'req/s':>7} {'ms':>6} {'ms':>6} {'ms/rq':>6} | {'ratio':>5} {'ratio':>5}"
            )
            for backlog in (0, args.backlog):
                if backlog:
                    r.flushdb()
                    took = fill(bot.handle, r, backlog)
                    print(f"({r.llen(f'rq:queue:{QUEUE}')} jobs queued in {took:.1f} s)")
                for kind in kinds:
                    for c in levels:
                        if kind == "enqueue" and not backlog:
                            r.flushdb()
                        queued = r.llen(f"rq:queue:{QUEUE}")
                        ours = load(toilbot, signer, kind, c, args.seconds)
                        base = load(bare, signer, kind, c, args.seconds)
                        errors = f"  ({ours.errors} errors)" if ours.errors else ""
                        added = r.llen(f"rq:queue:{QUEUE}") - queued
                        if (kind == "enqueue") != (added >= ours.requests):
                            errors += f"  ({added} jobs queued by {ours.requests} requests)"
                        print(
                            f"{kind:<8} {queued:>6} {c:>3} | {fmt(ours)} | {fmt(base)} | "
                            f"{ours.rate / base.rate:>5.2f} "
                            f"{ours.cpu_per_request / base.cpu_per_request:>5.2f}{errors}",
                            flush=True,
                        )
            print(f"load average {os.getloadavg()[0]:.2f} at the end")
        finally:
            for server in servers:
                server.stop()
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
