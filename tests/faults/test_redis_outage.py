"""Every long-running process survives Redis going away and coming back (issue 14, item 4).

worker, serve, socket and scheduler run against a redis-server of the test's own; it is
SIGKILLed, stays away longer than one command's retries, and comes back with its
append-only file. Every process is still there, answers or works again, and printed a
log line about it, not a traceback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import REPO, start_toilbot, stop_toilbot, wait_for, write_config
from tests.faults.stand import RedisServer
from tests.slack import SlackEmulator
from tests.slack.signing import DEFAULT_SIGNING_SECRET
from tests.slack_fixtures import free_port, listening

OUTAGE = 12  # seconds: longer than the ~6 s a single command retries


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    server = RedisServer(redis_dir)
    server.start()
    yield server
    server.stop()


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_every_process_rides_out_a_redis_restart(tmp_path, server):
    config = write_config(
        tmp_path,
        jobs={"lease_seconds": 10, "forks": 5},
        scheduler={"lease_seconds": 5},
    )
    with SlackEmulator() as slack:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "REDIS_URL": server.url,
            "TOILBOT_CONFIG": str(config),
            "TOILBOT_DATA_DIR": str(tmp_path / "data"),
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_APP_TOKEN": slack.app_token,
            "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
            "SLACK_API_URL": slack.base_url,
        }
        port = free_port()
        procs = {
            "worker": start_toilbot(env, "worker"),
            "scheduler": start_toilbot(env, "scheduler"),
            "serve": start_toilbot(
                env, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"
            ),
            "socket": start_toilbot(env, "socket"),
        }
        outputs: dict[str, str] = {}
        try:
            r = redis.Redis(unix_socket_path=str(server.sock))
            wait_for(lambda: listening(port), 30, "serve to listen")
            wait_for(lambda: _ready(port), 30, "serve ready (a worker's heartbeat)")
            wait_for(lambda: r.exists("toilbot:scheduler:leader"), 30, "a scheduler leader")
            slack.wait_for_socket(30)

            server.kill()
            time.sleep(OUTAGE)
            server.start()

            wait_for(lambda: _ready(port), 60, "serve ready again")
            wait_for(lambda: r.exists("toilbot:scheduler:leader"), 60, "the scheduler to lead")
            for name, proc in procs.items():
                assert proc.poll() is None, f"{name} exited: {stop_toilbot(proc)}"
            done = subprocess.run(
                [sys.executable, "-m", "bot", "exec", "--no-worker", "status localhost"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert 0 == done.returncode, done.stdout + done.stderr  # the worker runs jobs
        finally:
            for name, proc in procs.items():
                outputs[name] = stop_toilbot(proc, signal.SIGTERM)
    for name, output in outputs.items():
        assert "Traceback" not in output, f"{name}:\n{output}"
