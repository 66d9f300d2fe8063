"""A playbook runner with ``run_playbook``'s signature and no Ansible: the fast tier's runner.

It honours the ``RunRequest`` (only the requested hosts, check mode changes
nothing), reports through ``on_progress`` with real ``Progress`` and
``HostResult`` values as ansible-runner's events do (each host started, then
its result, then the final states), and returns a ``RunOutcome``. A test tells
it what to do: fail or not reach a host, or hold the run until the job is
cancelled (``should_cancel``), with something to do while it is held.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.execution.ansible import Progress, RunnerStatus, RunOutcome, RunRequest
from bot.execution.records import HostResult, HostStatus

TASK = "Apply"  # the one task of the fake playbook
CANCEL_TIMEOUT = 10.0  # seconds a held run waits for its cancel before it gives up


@dataclass
class FakeRunner:
    """What the fake playbook does; the requests it was given, in order."""

    read_only: frozenset[str] = frozenset({"status", "echo"})  # playbooks that change nothing
    failures: dict[str, str] = field(default_factory=dict)  # host -> the task's error
    unreachable: dict[str, str] = field(default_factory=dict)  # host -> why
    hold_until_cancelled: bool = False
    while_running: Callable[[], object] | None = None  # called once the hosts are running
    requests: list[RunRequest] = field(default_factory=list)
    running: threading.Event = field(default_factory=threading.Event)

    def fail(self, host: str, message: str = "the fake task failed") -> FakeRunner:
        self.failures[host] = message
        return self

    def __call__(
        self,
        request: RunRequest,
        on_progress: Callable[[Progress], None],
        should_cancel: Callable[[], bool],
    ) -> RunOutcome:
        self.requests.append(request)
        results = {host: HostResult(host) for host in request.hosts}
        pid = None  # no ansible-playbook process to record or kill
        on_progress(Progress([], [f"PLAY [{request.playbook.stem}] ****"], None, None, pid))
        for result in results.values():
            result.status = HostStatus.RUNNING
        on_progress(Progress(_copies(results.values()), [f"TASK [{TASK}] ****"], TASK, None, pid))
        self.running.set()
        if self.while_running is not None:
            self.while_running()
        if self.hold_until_cancelled:
            return self._held(results, on_progress, should_cancel)
        for host, result in results.items():
            outcome = self._apply(result, request)
            on_progress(Progress([copy.copy(result)], [f"{outcome}: [{host}]"], TASK, outcome, pid))
        failed = any(not r.status.succeeded for r in results.values())
        status = RunnerStatus.FAILED if failed else RunnerStatus.SUCCESSFUL
        return RunOutcome(status, 2 if failed else 0, results, pid)

    def _apply(self, result: HostResult, request: RunRequest) -> str:
        """One host's result, the values echoed as its report; check mode changes nothing."""
        host = result.host
        if host in self.unreachable:
            result.status, result.message = HostStatus.UNREACHABLE, self.unreachable[host]
            result.failed_task = TASK
            return "unreachable"
        if host in self.failures:
            result.status, result.message = HostStatus.FAILED, self.failures[host]
            result.failed_task = TASK
            return "failed"
        changes = not request.check_mode and request.playbook.stem not in self.read_only
        result.status = HostStatus.CHANGED if changes else HostStatus.OK
        result.ok, result.changed = 1, int(changes)
        result.report = _report(request)
        return "changed" if changes else "ok"

    def _held(
        self,
        results: dict[str, HostResult],
        on_progress: Callable[[Progress], None],
        should_cancel: Callable[[], bool],
    ) -> RunOutcome:
        deadline = time.monotonic() + CANCEL_TIMEOUT
        while not should_cancel():
            if time.monotonic() > deadline:
                raise AssertionError(f"the job was not cancelled within {CANCEL_TIMEOUT}s")
            time.sleep(0.02)
        for result in results.values():
            result.status = HostStatus.NOT_RUN  # as ansible-runner leaves hosts it never finished
        on_progress(Progress(_copies(results.values()), [], None, None, None))
        return RunOutcome(RunnerStatus.CANCELED, 254, results, None)


def _copies(results: Any) -> list[HostResult]:
    return [copy.copy(r) for r in results]


def _report(request: RunRequest) -> dict[str, Any]:
    return dict(request.values)
