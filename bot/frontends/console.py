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
from bot.execution.records import JobRecord, JobStatus
from bot.frontends import text as frontend_text
from bot.pipeline.bot import Bot, Outcome, Reply
from bot.pipeline.request import Request
from bot.platform.store import QUEUE, Keys, Store, local_queue

StreamBatch = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]
EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_REFUSED = 2
EXIT_CONFIG = 3
EXIT_AWAITING_APPROVAL = 4


class Follower(threading.Thread):
    """Prints a job's progress events until it ends."""

    def __init__(self, store: Store, job_id: int, out: TextIO | None) -> None:
        super().__init__(name=f"follow-{job_id}", daemon=True)
        self.store = store
        self.job_id = job_id
        self.out = out
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
                    elif kind == "hosts" and self.out is not None:
                        for host in data["hosts"]:
                            line = render.progress_line(data.get("task"), data.get("outcome"), host)
                            if line:
                                print(line, file=self.out, flush=True)


@dataclass
class Session:
    """One person at a local front end."""

    bot: Bot
    store: Store
    user: str
    source: str
    local_worker: bool = True

    def run(
        self, text: str, confirm: Callable[[str], bool], out: TextIO, *, as_json: bool = False
    ) -> int:
        queue = local_queue() if self.local_worker else QUEUE
        request = Request(text, self.user, self.source, queue=queue)
        reply = self.bot.handle(request)
        if reply.outcome is Outcome.NEEDS_CONFIRMATION:
            confirmed = confirm(reply.text)
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
                print(reply.text, file=out)
            if reply.outcome is Outcome.NEEDS_APPROVAL:
                return EXIT_AWAITING_APPROVAL
            return EXIT_OK if reply.ok else EXIT_REFUSED
        if not as_json:
            print(reply.text, file=out, flush=True)
        record = self.wait(reply.job.id, None if as_json else out)
        if as_json:
            _print_json(out, reply, record)
        else:
            output = (
                None
                if record.status is JobStatus.SUCCEEDED
                else self.bot.jobs.output(record.id, 15)
            )
            print(render.job_text(record, output), file=out)
        return EXIT_OK if record.status is JobStatus.SUCCEEDED else EXIT_JOB_FAILED

    def wait(self, job_id: int, out: TextIO | None) -> JobRecord:
        # The RQ worker (and, through the job, ansible-runner) only once a job is queued:
        # `help`, `whoami` and refusals start without them.
        from bot.execution.worker import work_in_process

        follower = Follower(self.store, job_id, out)
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
    print(banner, flush=True)

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
