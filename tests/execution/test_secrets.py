"""Secrets stay out of Ansible and off the disk; private run folders are owner-only and go."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.execution.ansible import Progress, RunRequest, run_playbook
from bot.execution.rundirs import private_dir, remove_leftovers, runs_dir
from tests.conftest import start_toilbot, stop_toilbot, wait_for

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-test-bot-token-4f1c9a",
    "SLACK_SIGNING_SECRET": "signing-secret-77d2e0",
    "SLACK_APP_TOKEN": "xapp-test-app-token-b83e51",
    "TOILBOT_AUDIT_KEY": "audit-key-0c6a4d",
    "REDIS_URL": "redis://:redis-password-9e27f3@127.0.0.1:1/0",
    "SOME_OTHER_VARIABLE": "not-on-the-allow-list-5a1d",
}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The worker's environment holds toilbot's secrets (and a variable nobody allowed)."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def files_holding(roots: list[Path], values: list[str], since: float) -> list[str]:
    """Regular files under ``roots`` changed since ``since`` whose bytes contain one of ``values``.

    The walk stays on each root's file system: a lab host mounts /proc and /sys inside /tmp,
    where reading some files blocks forever. FIFOs and devices are skipped for the same reason.
    """
    needles = [v.encode() for v in values]
    found = []
    for root in roots:
        device = root.stat().st_dev
        for directory, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if _same_device(Path(directory) / d, device)]
            for name in names:
                path = Path(directory) / name
                try:
                    info = path.lstat()
                    if not stat.S_ISREG(info.st_mode) or info.st_mtime < since - 1:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                found += [f"{path}: {n.decode()}" for n in needles if n in data]
    return found


def _same_device(path: Path, device: int) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_dev == device


def run(
    config_path: Path,
    values: dict[str, object],
    timeout: int = 120,
    should_cancel: Callable[[], bool] = lambda: False,
    on_progress: Callable[[Progress], None] = lambda _p: None,
) -> str:
    root = config_path.parent
    request = RunRequest(
        playbook=root / "playbooks" / "environment.yml",
        inventory=root / "hosts.yml",
        hosts=["localhost"],
        values=values,
        check_mode=False,
        timeout=timeout,
        forks=1,
        runs_dir=runs_dir(root / "data"),
    )
    return run_playbook(request, on_progress, should_cancel).status


def test_the_playbook_sees_no_secret_and_nothing_stays_on_disk(config_path, markers, secrets):
    """Neither env lookups, the controller's env nor ansible_env show a worker secret; PATH and
    HOME are there; the private folder is 0700 under the data dir while running, then gone."""
    started = time.time()
    marker = markers / "environment.json"
    while_running: list[list[str]] = []

    def look_inside(_progress: Progress) -> None:
        """Once the playbook wrote its marker, grep the private folder it still runs in."""
        if marker.exists() and not while_running:
            private = Path(json.loads(marker.read_text())["private"])
            assert (private / "artifacts").is_dir()
            while_running.append(files_holding([private], list(secrets.values()), 0))

    assert "successful" == run(config_path, {"seconds": 2}, on_progress=look_inside)
    assert [[]] == while_running
    seen_text = (markers / "environment.json").read_text()
    seen = json.loads(seen_text)
    leaked = [name for name, value in secrets.items() if value in seen_text]
    assert [] == leaked
    assert os.environ["PATH"].split(os.pathsep)[-1] in seen["lookups"]["PATH"]
    assert os.environ["HOME"] == seen["lookups"]["HOME"]
    assert "PATH=" in seen["controller"]
    assert os.environ["HOME"] == seen["facts"]["HOME"]
    assert "0700" == seen["private_mode"]
    private = Path(seen["private"])
    assert runs_dir(config_path.parent / "data") == private.parent
    assert not private.exists()
    assert [] == list(private.parent.iterdir())
    roots = [config_path.parent / "data", Path(tempfile.gettempdir())]
    assert [] == files_holding(roots, list(secrets.values()), started)


@pytest.mark.parametrize("ending", ["failed", "canceled", "timeout", "crash"])
def test_every_ending_removes_the_private_folder(config_path, markers, secrets, ending):
    """Failure, cancel, timeout and a crash of the caller all remove the run's private folder
    and leave no secret on disk."""
    started = time.time()
    marker = markers / "environment.json"
    values: dict[str, object] = {"seconds": 60}
    kwargs: dict[str, object] = {}
    if ending == "failed":
        values = {"fail": True}
    elif ending == "canceled":
        kwargs["should_cancel"] = marker.exists
    elif ending == "timeout":
        kwargs["timeout"] = 8
    else:

        def crash(progress: Progress) -> None:
            if marker.exists():
                raise RuntimeError("the job crashed")

        values = {"seconds": 2}
        kwargs["on_progress"] = crash
    if ending == "crash":
        with pytest.raises(RuntimeError):
            run(config_path, values, **kwargs)  # type: ignore[arg-type]
    else:
        assert ending == run(config_path, values, **kwargs)  # type: ignore[arg-type]
    seen = json.loads(marker.read_text())
    assert "0700" == seen["private_mode"]
    assert not Path(seen["private"]).exists()
    assert [] == list(runs_dir(config_path.parent / "data").iterdir())
    roots = [config_path.parent / "data", Path(tempfile.gettempdir())]
    assert [] == files_holding(roots, list(secrets.values()), started)


HOLD = """
import sys, time
from pathlib import Path
from bot.execution.rundirs import private_dir
with private_dir(Path(sys.argv[1])) as folder:
    print(folder, flush=True)
    time.sleep(600)
"""


def test_only_folders_of_dead_processes_are_swept(tmp_path):
    """A folder whose process was SIGKILLed is removed; one a living run holds stays."""
    root = tmp_path / "runs"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    left = Path(holder.stdout.readline().strip())
    holder.kill()
    holder.wait()
    with private_dir(root) as mine:
        assert left.is_dir()
        assert oct(mine.stat().st_mode & 0o777) == oct(0o700)
        assert oct(root.stat().st_mode & 0o777) == oct(0o700)
        assert [left] == remove_leftovers(root)
        assert mine.is_dir()
    assert [] == list(root.iterdir())


def test_a_worker_sweeps_leftovers_when_it_starts(env, redis_url):
    """`toilbot worker` removes the run folders killed horses left in its data directory."""
    root = runs_dir(Path(env["TOILBOT_DATA_DIR"]))
    leftover = root / "run-killed"
    (leftover / "artifacts").mkdir(parents=True)
    (leftover / "artifacts" / "command").write_text("{}")
    proc = start_toilbot(env, "worker")
    try:
        wait_for(lambda: not leftover.exists(), 60, "the worker to sweep the leftover")
    finally:
        print(stop_toilbot(proc))


FAKE_SSH = """#!/bin/sh
printf '%s\\n' "$*" >> "$(dirname "$0")/ssh-calls"
exit 255
"""


def ssh_arguments(config_path: Path, tmp_path: Path, group_vars: dict[str, str]) -> str:
    """The arguments Ansible gives ssh for a host of a group with ``group_vars`` (a fake ssh
    records them and fails)."""
    fake = tmp_path / "bin" / "ssh"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(FAKE_SSH)
    fake.chmod(0o755)
    (tmp_path / "bin" / "ssh-calls").unlink(missing_ok=True)
    inventory = tmp_path / "ssh.yml"
    host = {"ansible_host": "127.0.0.1", "ansible_ssh_executable": str(fake)}
    group = {"hosts": {"remote": host}, "vars": group_vars}
    inventory.write_text(yaml.safe_dump({"all": {"children": {"new_hosts": group}}}))
    root = config_path.parent
    request = RunRequest(
        playbook=root / "playbooks" / "environment.yml",  # gathers facts: ssh first
        inventory=inventory,
        hosts=["remote"],
        values={},
        check_mode=False,
        timeout=60,
        forks=1,
        runs_dir=runs_dir(root / "data"),
    )
    outcome = run_playbook(request, lambda _p: None, lambda: False)
    result = outcome.results["remote"]
    assert "unreachable" == result.status.value, result.message
    return (tmp_path / "bin" / "ssh-calls").read_text()


def test_host_keys_are_checked_by_default(config_path, tmp_path, monkeypatch):
    """ssh is never told to skip host key checking unless the operator says so."""
    monkeypatch.delenv("ANSIBLE_HOST_KEY_CHECKING", raising=False)
    calls = ssh_arguments(config_path, tmp_path, {})
    assert "StrictHostKeyChecking" not in calls


def test_an_inventory_group_may_accept_new_keys(config_path, tmp_path, monkeypatch):
    """ansible_ssh_common_args in the inventory reaches ssh: accept-new and a known_hosts file."""
    monkeypatch.delenv("ANSIBLE_HOST_KEY_CHECKING", raising=False)
    args = "-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/srv/known_hosts"
    calls = ssh_arguments(config_path, tmp_path, {"ansible_ssh_common_args": args})
    assert "-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/srv/known_hosts" in calls
    assert "StrictHostKeyChecking=no" not in calls


def test_the_worker_environment_may_name_known_hosts_or_turn_checking_off(
    config_path, tmp_path, monkeypatch
):
    """ANSIBLE_SSH_ARGS and ANSIBLE_HOST_KEY_CHECKING set for the worker reach Ansible."""
    monkeypatch.setenv("ANSIBLE_SSH_ARGS", "-o UserKnownHostsFile=/etc/toilbot/known_hosts")
    monkeypatch.setenv("ANSIBLE_HOST_KEY_CHECKING", "False")
    calls = ssh_arguments(config_path, tmp_path, {})
    assert "-o UserKnownHostsFile=/etc/toilbot/known_hosts" in calls
    assert "StrictHostKeyChecking=no" in calls
