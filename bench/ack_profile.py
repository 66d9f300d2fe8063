"""Where a slash command's time goes inside toilbot: the Bolt app of `toilbot serve`, in-process.

The app is built as each gunicorn worker builds it (``build_app`` over the
assembled Bot, a private Redis, the local Slack of the tests), wrapped in
Bolt's WSGI adapter, and called with WSGI environs holding the same signed
slash commands as bench/ack.py (help, refusal, enqueue; one thread, no
gunicorn, no HTTP); the baseline is bench/bare_bolt.py's app called the same
way. First timed without a profiler (CPU per request), then
under cProfile with a CPU clock (time waiting for Redis is not counted; the
round trips are counted instead); each part is printed as the share of the
request's profiled CPU spent inside it (cumulative, so the parts nest: the
Redis client runs inside our pipeline, which runs inside Bolt's dispatch).
cProfile inflates code that makes many small calls (the Redis client's
packing), so read the shares as a ranking; the gunicorn worker itself and
whatever WSGI wrapper server.py puts around Bolt's adapter are not in it
(py-spy on a loaded `toilbot serve` worker sees those).

    python bench/ack_profile.py [--requests 2000] [--dump /tmp/ack.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import redis
from ack import ADMIN, COMMANDS, NOBODY, PATH, REPO, Signer, write_config
from bare_bolt import build_bare_app
from scratch_redis import start_redis
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config.settings import load_settings
from bot.frontends.slack.app import build_app
from bot.frontends.slack.client import make_client
from bot.frontends.slack.settings import slack_settings
from bot.frontends.wiring import assemble
from bot.platform.store import Store
from tests.slack import SlackEmulator
from tests.slack.signing import DEFAULT_SIGNING_SECRET

# (label, file part, function name): cumulative time inside the first match of each.
PARTS: list[tuple[str, str, str]] = [
    ("WSGI adapter + Bolt dispatch (all)", "slack_bolt/adapter/wsgi/handler.py", "__call__"),
    ("  signature check (Bolt middleware)", "request_verification", "process"),
    ("  Bolt's other middleware + listener setup", "slack_bolt/app/app.py", "dispatch"),
    ("  our /ops listener (SlackHandlers.ops)", "bot/frontends/slack/app.py", "ops"),
    ("    Bot.handle (pipeline)", "bot/pipeline/bot.py", "handle"),
    ("      step rate_limit", "bot/pipeline/steps.py", "rate_limit"),
    ("      step parse", "bot/pipeline/steps.py", "parse"),
    ("      step authorize", "bot/pipeline/steps.py", "authorize"),
    ("      step builtin (help)", "bot/pipeline/steps.py", "builtin"),
    ("      step submit", "bot/pipeline/steps.py", "submit"),
    ("        Jobs.submit", "bot/execution/jobs.py", "submit"),
    ("        audit append", "bot/platform/audit.py", "append"),
    ("        rq enqueue_call", "rq/queue.py", "enqueue_call"),
    ("    reply blocks + escape", "bot/frontends/slack/blocks.py", "reply_blocks"),
    ("  Bolt ack -> response (json)", "slack_bolt/context/ack/ack.py", "__call__"),
    ("Redis round trips (execute_command)", "redis/client.py", "execute_command"),
    ("Redis pipelines (execute)", "redis/client.py", "execute"),
    ("Redis Lua scripts (Script.__call__)", "redis/commands/core.py", "__call__"),
    ("  socket reads (read_response)", "redis/connection.py", "read_response"),
    ("logging (Logger._log)", "logging/__init__.py", "_log"),
]


def environ(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "CONTENT_TYPE": headers["Content-Type"],
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    for name, value in headers.items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def call(handler: SlackRequestHandler, signer: Signer, kind: str) -> None:
    status: list[str] = []

    def start_response(s: str, _headers: Iterable[tuple[str, str]]) -> None:
        status.append(s)

    b"".join(handler(environ(*signer.request(kind)), start_response))
    if not status[0].startswith("200"):
        raise SystemExit(f"{kind}: {status[0]}")


def cumulative(stats: pstats.Stats, where: str, name: str) -> float:
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    found = [v[3] for k, v in raw.items() if where in k[0] and k[2] == name]
    return max(found, default=0.0)


def profile(run: Callable[[], None], requests: int, dump: str | None, kind: str) -> None:
    profiler = cProfile.Profile(time.process_time)  # CPU: waits for Redis do not count
    profiler.enable()
    for _ in range(requests):
        run()
    profiler.disable()
    if dump:
        profiler.dump_stats(f"{dump}.{kind}")
    stats = pstats.Stats(profiler)
    total = cumulative(stats, "slack_bolt/adapter/wsgi/handler.py", "__call__")
    trips = sum(
        v[1]
        for k, v in stats.stats.items()  # type: ignore[attr-defined]
        if k[2] in ("<method 'sendall' of '_socket.socket' objects>",)
    )
    print(f"  {trips / requests:.1f} Redis round trips a request (sendall calls)")
    print(f"  {'part (profiled CPU, cumulative)':<44} {'us/req':>7} {'share':>6}")
    for label, where, name in PARTS:
        spent = cumulative(stats, where, name)
        if spent:
            print(f"  {label:<44} {spent / requests * 1e6:>7.0f} {spent / total:>6.0%}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    print("  top own time:")
    for line in lines[lines.index(next(ln for ln in lines if "ncalls" in ln)) :][:13]:
        print("   ", line[:150])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per command")
    parser.add_argument("--dump", help="write each command's profile to DUMP.<command>")
    parser.add_argument("--commands", default=",".join(COMMANDS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as slack:
        directory = Path(tmp)
        for user in (ADMIN, NOBODY):
            slack.add_user(user)
        proc, sock = start_redis(directory)
        try:
            env = {
                **os.environ,
                "REDIS_URL": f"unix://{sock}",
                "TOILBOT_CONFIG": str(write_config(directory)),
                "TOILBOT_DATA_DIR": str(directory / "data"),
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url,
            }
            settings = load_settings(env)
            r = redis.Redis(unix_socket_path=str(sock))
            bot = assemble(settings, Store(r, "bench Redis")).bot
            settings_slack = slack_settings(env, mode="http")
            app = build_app(bot, settings_slack, make_client(settings_slack), socket_mode=False)
            handler = SlackRequestHandler(app, PATH)
            signer = Signer()
            os.environ.update({k: env[k] for k in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")})
            os.environ["SLACK_API_URL"] = env["SLACK_API_URL"]
            bare = SlackRequestHandler(build_bare_app(), PATH)
            for _ in range(50):
                call(bare, signer, "help")
            cpu = time.process_time()
            for _ in range(args.requests):
                call(bare, signer, "help")
            cpu = (time.process_time() - cpu) / args.requests
            print(
                f"baseline, bench/bare_bolt.py's app in-process: {cpu * 1e3:.2f} ms CPU a request"
            )
            for kind in args.commands.split(","):
                for _ in range(50):  # warm-up
                    call(handler, signer, kind)
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(args.requests):
                    call(handler, signer, kind)
                cpu = (time.process_time() - cpu) / args.requests
                wall = (time.perf_counter() - wall) / args.requests
                print(
                    f"{kind}: {cpu * 1e3:.2f} ms CPU, {wall * 1e3:.2f} ms wall per request "
                    f"(in-process, one thread, no profiler; Redis server CPU not counted)"
                )
                profile(lambda k=kind: call(handler, signer, k), args.requests, args.dump, kind)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
