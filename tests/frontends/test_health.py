"""`toilbot health`, the compose file's healthcheck, against real worker and scheduler
processes on the test Redis and a real HTTP server."""

from __future__ import annotations

import http.server
import signal
import socket
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import start_toilbot, stop_toilbot, toilbot_cli, wait_for


def healthy(env: dict[str, str], *flags: str) -> bool:
    return 0 == toilbot_cli(env, "health", *flags, timeout=60).returncode


def test_worker_is_healthy_while_it_runs_and_not_once_it_stopped_or_died(env):
    """Registered with RQ from this host and its process exists: healthy; stopped or
    SIGKILLed (its RQ key still there, its process gone): unhealthy, exit 1."""
    before = toilbot_cli(env, "health", "--worker")
    assert (1, "UNHEALTHY: no live toilbot worker of host") == (
        before.returncode,
        before.stdout[: len("UNHEALTHY: no live toilbot worker of host")],
    )
    worker = start_toilbot(env, "worker")
    try:
        wait_for(lambda: healthy(env, "--worker"), 60, "the worker to register")
        assert "1 toilbot worker(s) of host" in toilbot_cli(env, "health", "--worker").stdout
        stop_toilbot(worker, signal.SIGTERM)
        assert 0 == worker.returncode
        assert not healthy(env, "--worker")  # deregistered on its way out
        killed = start_toilbot(env, "worker")
        wait_for(lambda: healthy(env, "--worker"), 60, "the second worker to register")
        stop_toilbot(killed, signal.SIGKILL)  # no chance to deregister
        gone = toilbot_cli(env, "health", "--worker")
        assert 1 == gone.returncode
        assert "(1 worker(s) registered in all)" in gone.stdout  # its key outlives it
    finally:
        print(stop_toilbot(worker, signal.SIGKILL))


def test_scheduler_is_healthy_while_it_steps_and_not_once_it_stopped(env):
    """A replica of this host stepped within REPLICA_SEEN: healthy; resigned: unhealthy."""
    assert not healthy(env, "--scheduler")
    scheduler = start_toilbot(env, "scheduler")
    try:
        wait_for(lambda: healthy(env, "--scheduler"), 60, "the scheduler to step")
        assert "is stepping" in toilbot_cli(env, "health", "--scheduler").stdout
        stop_toilbot(scheduler, signal.SIGTERM)
        result = toilbot_cli(env, "health", "--scheduler")
        assert 1 == result.returncode
        assert "no scheduler of host" in result.stdout
    finally:
        print(stop_toilbot(scheduler, signal.SIGKILL))


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """The standard library's HTTP server on a free loopback port, serving ``tmp_path``."""
    (tmp_path / "healthz").write_text("ok\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_is_healthy_only_on_200(env, http_server):
    """200: healthy; 404: unhealthy with the status; nothing listening or not HTTP: unhealthy."""
    ok = toilbot_cli(env, "health", "--url", f"{http_server}/healthz")
    assert (0, f"healthy: {http_server}/healthz answered 200\n") == (ok.returncode, ok.stdout)
    missing = toilbot_cli(env, "health", "--url", f"{http_server}/readyz")
    assert 1 == missing.returncode and "answered 404, not 200" in missing.stdout
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = toilbot_cli(env, "health", "--url", f"http://127.0.0.1:{closed}/healthz")
    assert 1 == down.returncode and "did not answer" in down.stdout
    bad = toilbot_cli(env, "health", "--url", "file:///etc/passwd")
    assert 1 == bad.returncode and "is not an http:// or https:// URL" in bad.stdout
    assert "Traceback" not in bad.stderr + down.stderr


def test_an_unreachable_redis_is_unhealthy_not_a_traceback(env):
    """A wrong REDIS_URL: exit 1 (Docker reserves 2) with what is wrong."""
    result = toilbot_cli({**env, "REDIS_URL": "redis://127.0.0.1:1/0"}, "health", "--worker")
    assert 1 == result.returncode
    assert result.stdout.startswith("UNHEALTHY: ")
    assert "Traceback" not in result.stderr


def test_serve_answers_the_compose_healthcheck(slack_env, server):
    """`toilbot serve`'s /healthz, as docker-compose.yml's serve healthcheck asks it."""
    healthz = server.replace("/slack/events", "/healthz")
    result = toilbot_cli(slack_env, "health", "--url", healthz)
    assert (0, f"healthy: {healthz} answered 200\n") == (result.returncode, result.stdout)
