"""Stopping means stopped: a cancelled or timed-out run leaves no process behind, even
ansible-core's forks, which call setsid() and leave ansible-playbook's process group."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.execution import proctree
from bot.execution.ansible import RunnerStatus, RunRequest, run_playbook
from bot.execution.rundirs import runs_dir
from tests.conftest import pid_alive, wait_for

FORKS = 10
SLEEP = 15  # the long task; the run is stopped while every fork is inside it

# Starts children that leave its session, as ansible-core's workers do; prints their pids.
_FORKER = """
import os, sys, time
pids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:  # a grandchild too, in the new session
            time.sleep(60)
            os._exit(0)
        time.sleep(60)
        os._exit(0)
    pids.append(pid)
print(" ".join(map(str, pids)), flush=True)
time.sleep(60)
"""


def _spawn(mark: str | None) -> subprocess.Popen[str]:
    env = {"PATH": "/usr/bin:/bin"}
    if mark:
        env[proctree.MARK_VARIABLE] = mark
    return subprocess.Popen(
        [sys.executable, "-c", _FORKER], env=env, stdout=subprocess.PIPE, text=True
    )


def test_stop_ends_every_marked_process_in_any_session_and_nothing_else():
    mark = proctree.run_mark(1, f"test:{time.monotonic_ns()}")
    ours, other = _spawn(mark), _spawn(None)
    try:
        children = [int(p) for p in (ours.stdout.readline() if ours.stdout else "").split()]
        other.stdout.readline() if other.stdout else None
        # the parent, 3 children in sessions of their own and their 3 children
        wait_for(lambda: len(proctree.marked(mark)) == 7, 10, "all seven processes")
        assert {ours.pid, *children} <= set(proctree.marked(mark))
        assert [] == proctree.stop(mark, grace=1.0)
        assert [] == proctree.marked(mark)
        ours.wait(timeout=5)
        assert not any(pid_alive(pid) for pid in children)
        assert other.poll() is None  # unmarked: untouched
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Ten local hosts and a playbook whose one long task leaves a file per host when it ends."""
    done = tmp_path / "done"
    done.mkdir()
    hosts = [f"node-{i:02d}" for i in range(FORKS)]
    local = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": dict.fromkeys(hosts, local)}}))
    playbook = tmp_path / "long.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Long",
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Long task",
                            "ansible.builtin.shell": f"sleep {SLEEP} && touch "
                            f"{done}/{{{{ inventory_hostname }}}}",
                        }
                    ],
                }
            ]
        )
    )
    return inventory, playbook, hosts


def _request(fleet: tuple[Path, Path, list[str]], mark: str, timeout: int) -> RunRequest:
    inventory, playbook, hosts = fleet
    return RunRequest(
        playbook=playbook,
        inventory=inventory,
        hosts=hosts,
        values={},
        check_mode=False,
        timeout=timeout,
        forks=FORKS,
        runs_dir=runs_dir(inventory.parent / "data"),
        mark=mark,
    )


@pytest.mark.parametrize("ending", ["cancel", "timeout"])
def test_a_stopped_run_leaves_no_process_and_no_task_finishes_after(fleet, ending):
    """10 forks running a long task; a cancel (or an 8 s timeout) ends every one of them before
    the run returns, and no task completes afterwards."""
    mark = proctree.run_mark(7, f"test:{time.monotonic_ns()}")
    started: list[float] = []

    def should_cancel() -> bool:
        if not started and len(proctree.marked(mark)) > 2 * FORKS:
            started.append(time.monotonic())  # the forks and their shells are all up
        return ending == "cancel" and bool(started) and time.monotonic() - started[0] > 1.0

    timeout = 8 if ending == "timeout" else 60
    outcome = run_playbook(_request(fleet, mark, timeout), lambda _p: None, should_cancel)
    expected = RunnerStatus.CANCELED if ending == "cancel" else RunnerStatus.TIMEOUT
    assert expected == outcome.status
    assert started, "the run ended before its forks were all inside the long task"
    assert [] == outcome.survivors
    assert [] == proctree.marked(mark)  # nothing of the run is alive when it says so
    time.sleep(SLEEP + 1)
    done = fleet[0].parent / "done"
    assert [] == sorted(p.name for p in done.iterdir())  # no task finished after the end
