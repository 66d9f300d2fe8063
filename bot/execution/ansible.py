"""ansible-runner, driven through its callbacks, turned into per-host results.

Each run gets a fresh owner-only private data dir under toilbot's data directory,
removed however the run ends (``bot.execution.rundirs``), and an allow-listed
environment without the worker's secrets (``bot.execution.environment``). SSH host
keys are checked unless the operator's environment or inventory says otherwise.
Values reach the
playbook only through ``env/extravars``, written as YAML with every string
tagged ``!unsafe``, so Ansible never templates them (ansible-core 2.19
templates extra vars read from a file). The host limit is a list of names the
bot resolved from the inventory, never a pattern typed by a person.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.execution import proctree
from bot.execution.environment import restrict
from bot.execution.proctree import MARK_VARIABLE
from bot.execution.records import HostResult, HostStatus
from bot.execution.rundirs import private_dir

log = logging.getLogger(__name__)

VAR_PREFIX = "toilbot_"
MESSAGE_LIMIT = 500
LIST_LIMIT = 200  # items of a list in a playbook's report
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_BANNER = re.compile(r"\s*\*{3,}\s*$")  # Ansible's rule after TASK [...] and PLAY RECAP


def output_lines(stdout: str) -> list[str]:
    """Ansible's output as lines worth keeping: no colour codes, no rules of asterisks."""
    lines = (_BANNER.sub("", line) for line in _ANSI.sub("", stdout).splitlines())
    return [line for line in lines if line.strip()]


class RunnerStatus:
    SUCCESSFUL = "successful"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMEOUT = "timeout"


@dataclass
class RunRequest:
    playbook: Path
    inventory: Path | tuple[Path, ...]  # the inventory sources, each passed with -i
    hosts: list[str]
    values: dict[str, Any]
    check_mode: bool
    timeout: int
    forks: int
    runs_dir: Path  # where the run's private data dir is made (see bot.execution.rundirs)
    mark: str = ""  # every process of the run carries it (bot.execution.proctree)


@dataclass
class RunOutcome:
    status: str  # one of RunnerStatus
    rc: int | None
    results: dict[str, HostResult]
    pid: int | None = None
    survivors: list[int] = field(default_factory=list)  # processes that would not die


@dataclass
class Progress:
    """What the runner reports after each event: hosts that changed, new output lines."""

    hosts: list[HostResult]
    output: list[str]
    task: str | None
    outcome: str | None  # what the event did to its host: ok, changed, failed, skipped...
    pid: int | None  # the ansible-playbook process, once known


def ansible_playbook() -> str | None:
    """The ansible-playbook installed beside this Python (the virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook")


def _path_with_ansible() -> str:
    """PATH for the run, with the directory of our ansible-playbook first."""
    path = os.environ.get("PATH", os.defpath)
    found = ansible_playbook()
    return f"{Path(found).parent}{os.pathsep}{path}" if found else path


class _Unsafe(str):
    """A string value Ansible must never template."""


def _unsafe(value: Any) -> Any:
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, list):
        return [_unsafe(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style="'")
)


def extravars_yaml(values: dict[str, Any]) -> str:
    """Extra vars as YAML where every string value is ``!unsafe`` (inert to Jinja)."""
    return yaml.dump({VAR_PREFIX + k: _unsafe(v) for k, v in values.items()}, Dumper=_Dumper)


@dataclass
class _Tracker:
    results: dict[str, HostResult]
    task: str | None = None
    pid: int | None = None
    changed: set[str] = field(default_factory=set)

    def host(self, name: str) -> HostResult | None:
        return self.results.get(name)

    def handle(self, event: dict[str, Any]) -> str | None:
        """Fold one event into the results; return what happened to a host, if anything."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if self.pid is None and event.get("pid"):
            self.pid = int(event["pid"])
        if kind == "playbook_on_task_start":
            self.task = data.get("task") or data.get("name")
            return None
        if kind == "playbook_on_play_start":  # a play (or a serial batch) ended: settle its hosts
            self._settle()
            return None
        if kind == "playbook_on_stats":
            self._stats(data)
            return None
        result = self.results.get(str(data.get("host", "")))
        if result is None:
            return None
        res = data.get("res") or {}
        outcome: str | None = None
        if kind == "runner_on_ok":
            outcome = "changed" if res.get("changed") else "ok"
            self._running(result, data)  # ok until its play ends, not after its first task
            result.ok += 1
            result.changed += 1 if res.get("changed") else 0
            report = (res.get("ansible_facts") or {}).get("toilbot_report")
            if isinstance(report, dict):
                result.report = _bounded(report)
        elif kind == "runner_on_failed":
            outcome = "failed (ignored)" if data.get("ignore_errors") else "failed"
            if not data.get("ignore_errors"):
                result.status = HostStatus.FAILED
                result.failed_task = data.get("task") or self.task
                result.message = _message(res)
                result.task = None
        elif kind == "runner_on_unreachable":
            outcome = "unreachable"
            result.status = HostStatus.UNREACHABLE
            result.failed_task = data.get("task") or self.task
            result.message = _message(res)
            result.task = None
        elif kind == "runner_on_skipped":
            outcome = "skipped"
            self._running(result, data)
        elif kind == "runner_on_start":
            if not self._running(result, data):
                return None
        else:
            return None
        self.changed.add(result.host)
        return outcome

    def _running(self, result: HostResult, data: dict[str, Any]) -> bool:
        """A host still in its play is running, on the event's task; False if it has ended."""
        if result.status in (HostStatus.FAILED, HostStatus.UNREACHABLE):
            return False
        result.status = HostStatus.RUNNING
        result.task = data.get("task") or self.task
        return True

    def _settle(self) -> None:
        """Hosts still running when a play ends made it through: changed, or ok."""
        for result in self.results.values():
            if result.status is HostStatus.RUNNING:
                result.status = HostStatus.CHANGED if result.changed else HostStatus.OK
                result.task = None
                self.changed.add(result.host)

    def _stats(self, data: dict[str, Any]) -> None:
        for result in self.results.values():
            name = result.host
            if data.get("dark", {}).get(name):
                result.status = HostStatus.UNREACHABLE
            elif data.get("failures", {}).get(name):
                result.status = HostStatus.FAILED
            elif data.get("changed", {}).get(name):
                result.status = HostStatus.CHANGED
            elif name in data.get("processed", {}):
                result.status = HostStatus.OK
            else:
                result.status = HostStatus.NOT_RUN
            result.ok = int(data.get("ok", {}).get(name, result.ok))
            result.changed = int(data.get("changed", {}).get(name, result.changed))
            result.task = None
            self.changed.add(name)

    def finish(self) -> None:
        """A run that ended without its stats (cancelled, timed out): where each host stopped."""
        for result in self.results.values():
            if result.status in (HostStatus.PENDING, HostStatus.RUNNING):
                started = result.status is HostStatus.RUNNING
                result.status = HostStatus.UNFINISHED if started else HostStatus.NOT_RUN
                result.task = None
                self.changed.add(result.host)

    def take_changed(self) -> list[HostResult]:
        changed = [self.results[h] for h in sorted(self.changed)]
        self.changed.clear()
        return changed


def _message(res: dict[str, Any]) -> str:
    text = res.get("msg") or res.get("stderr") or res.get("stdout") or res.get("reason") or ""
    if not isinstance(text, str):
        text = str(text)
    text = _ANSI.sub("", text).strip()
    return text[:MESSAGE_LIMIT] + ("…" if len(text) > MESSAGE_LIMIT else "")


def _bounded(report: dict[str, Any]) -> dict[str, Any]:
    """A playbook's report, cut to what a chat message can show."""
    out: dict[str, Any] = {}
    for key, value in list(report.items())[:20]:
        if isinstance(value, list):
            items = [str(v)[:200] for v in value[:LIST_LIMIT]]
            if len(value) > LIST_LIMIT:
                items.append(f"… and {len(value) - LIST_LIMIT} more")
            out[str(key)[:40]] = items
        elif isinstance(value, bool | int | float) or value is None:
            out[str(key)[:40]] = value
        else:
            out[str(key)[:40]] = str(value)[:MESSAGE_LIMIT]
    return out


def run_playbook(
    request: RunRequest,
    on_progress: Callable[[Progress], None],
    should_cancel: Callable[[], bool],
) -> RunOutcome:
    """Run one playbook to the end, a cancel or the timeout; never raises for Ansible failures."""
    tracker = _Tracker(results={h: HostResult(h) for h in request.hosts})
    with private_dir(request.runs_dir) as private:
        (private / "env").mkdir()
        (private / "env" / "extravars").write_text(extravars_yaml(request.values), encoding="utf-8")
        # Read from this file only (a settings argument is dropped when the file is missing):
        # the cancel callback, which also renews the job's lease, runs every 0.25 s.
        (private / "env" / "settings").write_text(
            json.dumps({"pexpect_timeout": 0.25, "suppress_ansible_output": True}), encoding="utf-8"
        )

        def event_handler(event: dict[str, Any]) -> bool:
            outcome = tracker.handle(event)
            lines = output_lines(event.get("stdout") or "")
            changed = tracker.take_changed()
            if changed or lines:
                on_progress(Progress(changed, lines, tracker.task, outcome, tracker.pid))
            return False  # nothing written to disk: results live in Redis

        # ~100 ms to import: only in the process that runs a job
        from ansible_runner import Runner, RunnerConfig

        # RunnerConfig and Runner, not ansible_runner.run: the environment is restricted
        # between prepare() and the run, before it reaches ansible-playbook or the disk.
        config = RunnerConfig(
            private_data_dir=str(private),
            project_dir=str(request.playbook.parent),
            playbook=str(request.playbook),
            inventory=[str(p) for p in _sources(request.inventory)],
            limit=",".join(request.hosts),
            forks=request.forks,
            cmdline="--check" if request.check_mode else None,
            timeout=request.timeout,
            envvars={
                "PATH": _path_with_ansible(),
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_NOCOLOR": "True",
                # ansible-runner turns checking off unless told: on, unless the worker says.
                "ANSIBLE_HOST_KEY_CHECKING": os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "True"),
                "ANSIBLE_LOCALHOST_WARNING": "False",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
                **({MARK_VARIABLE: request.mark} if request.mark else {}),
            },
            quiet=True,
        )
        config.prepare()
        config.env = restrict(config.env, os.environ)
        runner = Runner(config, event_handler=event_handler, cancel_callback=should_cancel)
        try:
            runner.run()
        except BaseException:
            _stop(tracker.pid)  # the job crashed mid-run: Ansible ends before its folder goes
            _stop_run(request.mark)
            raise
        # ansible-runner stops ansible-playbook on a cancel or timeout, but not the forks
        # that left its session: nothing of the run may go on once it has ended.
        survivors = _stop_run(request.mark)
        tracker.finish()
        final = tracker.take_changed()
        if final:
            on_progress(Progress(final, [], None, None, tracker.pid))
        return RunOutcome(
            status=str(runner.status),
            rc=runner.rc,
            results=tracker.results,
            pid=tracker.pid,
            survivors=survivors,
        )


def _stop_run(mark: str) -> list[int]:
    """Stop whatever of the run is still alive (forks in sessions of their own included)."""
    if not mark:
        return []
    survivors = proctree.stop(mark)
    if survivors:
        log.error("processes of run %s survived SIGKILL: %s", mark, survivors)
    return survivors


def _sources(inventory: Path | tuple[Path, ...]) -> tuple[Path, ...]:
    return (inventory,) if isinstance(inventory, Path) else inventory


def _stop(pid: int | None, wait: float = 10.0) -> None:
    """Kill ansible-playbook's process group; return once its leader is dead (or ``wait``)."""
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.05)


class Throttle:
    """True at most once per interval."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True
