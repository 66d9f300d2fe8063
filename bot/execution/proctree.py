"""Every process of one run, found by a mark in its environment, and stopped for good.

Killing ansible-playbook's process group is not enough: ansible-core's worker
processes call ``setsid()`` and live in sessions of their own, so after a cancel
or a timeout they go on running their task (and outlive the job). What they all
share is the environment they inherited: each run is started with
``TOILBOT_RUN=<mark>``, and every process whose environment holds that mark
(ansible-playbook, its forks, the modules and ``ssh`` they run) belongs to it,
whatever its session, process group or parent, even after being re-parented to
init. ``stop`` asks them to end (SIGTERM), waits a grace period, then kills what
is left (SIGKILL) until nothing with the mark remains.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

MARK_VARIABLE = "TOILBOT_RUN"


def run_mark(job_id: int, worker: str) -> str:
    """The mark of job ``job_id`` run by ``worker`` (``host:pid``): unique per run and machine."""
    return f"{job_id}@{worker}"


def marked(mark: str) -> list[int]:
    """Live processes (not zombies) whose environment carries ``mark``, never this one."""
    needle = f"{MARK_VARIABLE}={mark}".encode()
    own = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def stop(mark: str, grace: float = 3.0, wait: float = 10.0) -> list[int]:
    """End every process of the run: SIGTERM, ``grace`` seconds, then SIGKILL.

    Returns the processes still alive after ``wait`` more seconds (empty when stopped).
    Processes that exit become zombies until their parent reaps them; a zombie runs
    nothing and has no environment to match, so it counts as stopped.
    """
    pids = marked(mark)
    if not pids:
        return []
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = marked(mark)
    deadline = time.monotonic() + wait
    while pids and time.monotonic() < deadline:
        _signal_all(pids, signal.SIGKILL)  # again each round: a fork may have started late
        time.sleep(0.05)
        pids = marked(mark)
    return pids


def kill(mark: str, wait: float = 10.0) -> list[int]:
    """SIGKILL every process of the run at once (fencing: no time for a grace period)."""
    return stop(mark, grace=0.0, wait=wait)
