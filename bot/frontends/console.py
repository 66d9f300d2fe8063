"""Local front ends on the same pipeline: `toilbot console` (a REPL) and `toilbot exec`."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO, cast

from bot.execution import render
from bot.execution.records import HostStatus, JobRecord, JobStatus
from bot.frontends import text as frontend_text
from bot.frontends.terminal import Terminal, inert
from bot.pipeline.bot import Bot, Outcome, Reply
from bot.pipeline.request import Request
from bot.platform.store import QUEUE, Keys, Store, local_queue

StreamBatch = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]
EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_REFUSED = 2
EXIT_CONFIG = 3
EXIT_AWAITING_APPROVAL = 4


class ProgressLine:
    """A running job in one line: hosts done / total and the current task.

    On a TTY the line is rewritten in place (``\\r``), and a host that fails leaves a line
    above it. Otherwise (a pipe, a log, a test) a line is printed only when a host's play
    ends, so a 50-host job prints 50 lines, not one per host per task.
    """

    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.hosts: dict[str, str] = {}  # host -> its status as last seen
        self.task: str | None = None
        self.drawn = False

    def start(self, hosts: list[str]) -> None:
        self.hosts = dict.fromkeys(hosts, HostStatus.PENDING.value)
        self._draw()

    def update(self, task: str | None, hosts: list[dict[str, Any]]) -> None:
        self.task = task or self.task
        for host in hosts:
            name, status = str(host["host"]), str(host["status"])
            before = self.hosts.get(name, HostStatus.PENDING.value)
            self.hosts[name] = status
            if not _ended(status) or (_ended(before) and not _worse(status, before)):
                continue
            if self.tty and status not in _BAD:
                continue  # the count in the line says it
            task = inert(host.get("failed_task") or "") if status in _BAD else ""
            message = inert(host.get("message") or "") if status in _BAD else ""
            line = frontend_text.host_done(
                inert(name), status, self.done, len(self.hosts), task or None, message or None
            )
            self._clear()
            print(line, file=self.out, flush=True)
        self._draw()

    @property
    def done(self) -> int:
        return sum(1 for status in self.hosts.values() if _ended(status))

    def close(self) -> None:
        self._clear()

    def _draw(self) -> None:
        if self.tty and self.hosts:
            task = inert(self.task) if self.task else None
            line = frontend_text.job_progress(self.done, len(self.hosts), task)
            self.out.write("\r\x1b[K" + line)
            self.out.flush()
            self.drawn = True

    def _clear(self) -> None:
        if self.drawn:
            self.out.write("\r\x1b[K")
            self.out.flush()
            self.drawn = False


_WAITING = (HostStatus.PENDING.value, HostStatus.RUNNING.value)
_BAD = (HostStatus.FAILED.value, HostStatus.UNREACHABLE.value)


def _ended(status: str) -> bool:
    return status not in _WAITING


def _worse(status: str, before: str) -> bool:
    """A host that ended ok and is then marked failed (Ansible's final stats) is told again."""
    return status in _BAD and before not in _BAD


class Follower(threading.Thread):
    """Shows a job's progress events until it ends."""

    def __init__(self, store: Store, job_id: int, progress: ProgressLine | None) -> None:
        super().__init__(name=f"follow-{job_id}", daemon=True)
        self.store = store
        self.job_id = job_id
        self.progress = progress
        self.ended = threading.Event()

    def run(self) -> None:
        r = self.store.redis
        last = "0"
        key = Keys.job_events(self.job_id)
        while not self.ended.is_set():
            batch = cast(StreamBatch, r.xread({key: last}, block=500, count=100))
            for _stream, entries in batch or []:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    kind = fields[b"kind"].decode()
                    data = json.loads(fields[b"data"])
                    if kind == "end":
                        self.ended.set()
                    elif self.progress is None:
                        continue
                    elif kind == "start":
                        self.progress.start(list(data.get("hosts") or []))
                    elif kind == "hosts":
                        self.progress.update(data.get("task"), data["hosts"])


@dataclass
class Session:
    """One person at a local front end."""

    bot: Bot
    store: Store
    user: str
    source: str
    local_worker: bool = True
    # How replies are shown; None: the pipeline's mrkdwn as written (the test harness).
    terminal: Terminal | None = None

    def show(self, text: str) -> str:
        return text if self.terminal is None else self.terminal.render(text)

    def run(
        self, text: str, confirm: Callable[[str], bool], out: TextIO, *, as_json: bool = False
    ) -> int:
        queue = local_queue() if self.local_worker else QUEUE
        request = Request(text, self.user, self.source, queue=queue)
        reply = self.bot.handle(request)
        if reply.outcome is Outcome.NEEDS_CONFIRMATION:
            confirmed = confirm(self.show(reply.text))
            self.bot.record_confirmation(request, confirmed)
            if confirmed:
                reply = self.bot.handle(replace(request, confirmed=True))
            else:
                how = (
                    frontend_text.confirm_with_yes()
                    if self.source == "exec"
                    else frontend_text.confirm_declined()
                )
                reply = Reply(Outcome.REFUSED, frontend_text.not_confirmed(text.strip(), how))
        if reply.outcome is not Outcome.QUEUED or reply.job is None:
            if as_json:
                _print_json(out, reply, None)
            else:
                print(self.show(reply.text), file=out)
            if reply.outcome is Outcome.NEEDS_APPROVAL:
                return EXIT_AWAITING_APPROVAL
            return EXIT_OK if reply.ok else EXIT_REFUSED
        if not as_json:
            print(self.show(reply.text), file=out, flush=True)
        record = self.wait(reply.job.id, None if as_json else out)
        if as_json:
            _print_json(out, reply, record)
        else:
            output = (
                None
                if record.status is JobStatus.SUCCEEDED
                else self.bot.jobs.output(record.id, 15)
            )
            print(self.show(render.job_text(record, output)), file=out)
        return EXIT_OK if record.status is JobStatus.SUCCEEDED else EXIT_JOB_FAILED

    def wait(self, job_id: int, out: TextIO | None) -> JobRecord:
        # The RQ worker (and, through the job, ansible-runner) only once a job is queued:
        # `help`, `whoami` and refusals start without them.
        from bot.execution.worker import work_in_process

        tty = self.terminal is not None and self.terminal.tty
        progress = None if out is None else ProgressLine(out, tty)
        follower = Follower(self.store, job_id, progress)
        follower.start()
        if self.local_worker:
            work_in_process(self.store, local_queue())
        lease = self.bot.settings.jobs.lease_seconds
        hinted = False
        while True:
            record = self.bot.jobs.get(job_id)
            if record.status.terminal:
                break
            if follower.ended.wait(timeout=lease):
                continue
            self.bot.jobs.reap(lease)
            if record.status is JobStatus.QUEUED and self.local_worker:
                work_in_process(self.store, local_queue())
            elif record.status is JobStatus.QUEUED and not hinted:
                print(frontend_text.waiting_for_worker(job_id), file=sys.stderr, flush=True)
                hinted = True
        follower.ended.set()
        follower.join(timeout=2)
        if progress is not None:
            progress.close()
        return record


def _print_json(out: TextIO, reply: Reply, record: JobRecord | None) -> None:
    body: dict[str, Any] = {
        "ok": reply.ok and (record is None or record.status is JobStatus.SUCCEEDED),
        "outcome": reply.outcome.value,
        "message": reply.text,
    }
    if record is not None:
        body["job"] = record.to_json()
    if reply.approval is not None:
        body["approval"] = reply.approval.to_json()
    print(json.dumps(body, indent=2), file=out)


def console(session: Session, banner: str) -> int:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history for input()
    print(session.show(banner), flush=True)

    def confirm(prompt: str) -> bool:
        answer = input(f"{prompt}\nType yes to run it: ")
        return answer.strip().lower() in ("y", "yes")

    while True:
        try:
            text = input(f"{session.user}> ")
        except EOFError:
            print()
            return EXIT_OK
        except KeyboardInterrupt:
            print()
            continue
        if not text.strip():
            continue
        if text.strip() in ("exit", "quit"):
            return EXIT_OK
        try:
            session.run(text, confirm, sys.stdout)
        except (KeyboardInterrupt, EOFError):
            print()
