"""docker-compose.yml runs only toilbot commands that the test suite starts for real."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# Each of these is started as a real process by the tests: frontends/slack/test_app.py (serve,
# worker with Slack), test_jobs.py (worker), test_scheduler_processes.py (scheduler).
EXERCISED = {"serve", "worker", "scheduler"}


def test_compose_runs_only_exercised_commands():
    """Every toilbot service in the compose file runs a command the tests exercise."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    commands = {
        name: svc["command"] for name, svc in compose["services"].items() if name != "redis"
    }
    assert {"serve", "worker", "scheduler"} == set(commands)
    assert {cmd[0] for cmd in commands.values()} <= EXERCISED


def test_redis_keeps_its_data():
    """The compose Redis persists (append-only file on a volume)."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert any(v.endswith(":/data") for v in redis["volumes"])


def test_the_image_installs_what_it_copies():
    """The Dockerfile copies the package, specs, playbooks and example config."""
    dockerfile = (REPO / "Dockerfile").read_text()
    for path in ("bot", "commands", "playbooks", "inventory", "toilbot.yaml"):
        assert f"COPY {path} " in dockerfile
