"""Job records, the queue, cancel and the reaper of jobs whose worker died.

A job record is a Redis hash (``Keys.job``) plus a hash of per-host results
(``Keys.job_hosts``), a bounded output tail and a progress stream. Status
changes are compare-and-set, so a cancel and a worker starting the job can
never both win.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import redis
from redis.typing import EncodableT, FieldT
from rq import Queue

from bot import messages
from bot.execution.locks import Conflict, HostLocks
from bot.pipeline.parse import Invocation
from bot.platform.audit import Audit, AuditAction
from bot.platform.errors import AuditError, JobError
from bot.platform.store import LOCAL_QUEUE_PREFIX, QUEUE, Keys, text, text_map, texts

RUN_JOB = "bot.execution.run.run_job"  # the function RQ workers call
QUEUE_GRACE = 3600  # seconds a queued job may wait for a worker and keep its hosts locked
STREAM_MAXLEN = 5000


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"

    @property
    def terminal(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class HostStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    NOT_RUN = "not run"

    @property
    def succeeded(self) -> bool:
        return self in (HostStatus.OK, HostStatus.CHANGED)


@dataclass
class HostResult:
    host: str
    status: HostStatus = HostStatus.PENDING
    ok: int = 0
    changed: int = 0
    failed_task: str | None = None
    message: str | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "status": self.status.value,
            "ok": self.ok,
            "changed": self.changed,
            "failed_task": self.failed_task,
            "message": self.message,
            "report": self.report,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostResult:
        return cls(
            host=data["host"],
            status=HostStatus(data["status"]),
            ok=data.get("ok", 0),
            changed=data.get("changed", 0),
            failed_task=data.get("failed_task"),
            message=data.get("message"),
            report=data.get("report") or {},
        )


@dataclass
class JobRecord:
    id: int
    user: str
    source: str
    command: str
    spec: str
    playbook: str
    values: dict[str, Any]
    hosts: list[str]
    check_mode: bool
    timeout: int
    status: JobStatus
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    reason: str | None = None
    worker: str | None = None
    ansible_pid: int | None = None
    locks: list[str] = field(default_factory=list)  # hosts this job holds locked
    queue: str = QUEUE  # the RQ queue it was put on
    notify: dict[str, str] | None = None  # where to report: Slack channel, thread, user
    manual_minutes: int = 0  # how long the task takes by hand (the spec's)
    message_ts: str | None = None  # the job's own Slack message, once posted
    schedule: str | None = None  # the schedule that ran it
    fire_time: int | None = None  # and the fire time it ran for
    results: dict[str, HostResult] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "source": self.source,
            "schedule": self.schedule,
            "fire_time": self.fire_time,
            "command": self.command,
            "spec": self.spec,
            "hosts": self.hosts,
            "check_mode": self.check_mode,
            "status": self.status.value,
            "reason": self.reason,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "results": [self.results[h].to_json() for h in self.hosts if h in self.results],
        }

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


_FIELDS_JSON = ("values", "hosts", "locks", "notify")
_FIELDS_FLOAT = ("created_at", "started_at", "finished_at")
_FIELDS_INT = ("id", "timeout", "ansible_pid", "manual_minutes", "fire_time")

# Set fields only if the status is the expected one; returns 1 on success.
_CAS = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


class Jobs:
    """Job records on one Redis."""

    def __init__(
        self,
        r: redis.Redis,
        keep: int = 1000,
        output_lines: int = 200,
        audit: Audit | None = None,
    ) -> None:
        self.r = r
        self.audit = audit if audit is not None else Audit.from_env(r)
        self.keep = keep
        self.output_lines = output_lines
        self.locks = HostLocks(r)
        self._cas = r.register_script(_CAS)

    # --- create and read -------------------------------------------------

    def submit(
        self,
        invocation: Invocation,
        user: str,
        source: str,
        queue: str = QUEUE,
        notify: dict[str, str] | None = None,
        scheduled: tuple[str, int] | None = None,
        before_queue: Callable[[JobRecord], object] | None = None,
    ) -> JobRecord:
        """Record the job and put it on ``queue``; nothing is left half-written.

        ``before_queue`` (the audit entry) runs once the job has its id; if it raises
        AuditError the job ends failed before any worker can see it.
        """
        job_id = int(self.r.incr(Keys.job_seq))
        spec = invocation.spec
        locks = list(invocation.hosts) if invocation.changes_hosts else []
        # Held from now: the queue wait counts too. The worker shortens it to a lease.
        conflict = self.locks.acquire(job_id, locks, spec.timeout + QUEUE_GRACE)
        if conflict is not None:
            raise JobError(self._conflict_message(conflict))
        record = JobRecord(
            id=job_id,
            user=user,
            source=source,
            command=invocation.normalized(),
            spec=spec.name,
            playbook=spec.playbook,
            values=dict(invocation.values),
            hosts=list(invocation.hosts),
            check_mode=invocation.check_mode,
            timeout=spec.timeout,
            status=JobStatus.QUEUED,
            created_at=time.time(),
            locks=locks,
            queue=queue,
            notify=notify,
            manual_minutes=spec.manual_minutes,
            schedule=scheduled[0] if scheduled else None,
            fire_time=scheduled[1] if scheduled else None,
            results={h: HostResult(h) for h in invocation.hosts},
        )
        pipe = self.r.pipeline()
        pipe.hset(Keys.job(job_id), mapping=_encode(record))
        pipe.hset(
            Keys.job_hosts(job_id),
            mapping={h: json.dumps(r.to_json()) for h, r in record.results.items()},
        )
        pipe.zadd(Keys.jobs, {str(job_id): record.created_at})
        pipe.sadd(Keys.running, job_id)
        pipe.execute()
        try:
            if before_queue is not None:
                before_queue(record)
        except Exception as exc:  # never a job left queued, locked and off the queue
            self.finish(job_id, JobStatus.QUEUED, JobStatus.FAILED, str(exc))
            if isinstance(exc, AuditError):
                raise JobError(messages.job_not_audited(job_id, str(exc))) from None
            raise
        try:
            Queue(queue, connection=self.r).enqueue_call(
                RUN_JOB,
                args=(job_id,),
                job_id=f"toilbot-{job_id}",
                timeout=spec.timeout + 120,  # ansible-runner enforces the real timeout
                result_ttl=3600,
                failure_ttl=7 * 86400,
                description=f"toilbot job {job_id}: {record.command}",
            )
        except redis.RedisError as exc:
            self.finish(job_id, JobStatus.QUEUED, JobStatus.FAILED, f"could not be queued: {exc}")
            raise JobError(f"Job {job_id} could not be queued ({exc}). Try again.") from None
        self._trim()
        return record

    def _conflict_message(self, conflict: Conflict) -> str:
        try:
            holder = self.get(conflict.job_id)
        except JobError:
            return messages.host_locked(conflict.host, conflict.job_id, None, None, None)
        return messages.host_locked(
            conflict.host, holder.id, holder.user, holder.command, holder.status.value
        )

    def get(self, job_id: int) -> JobRecord:
        raw = text_map(self.r.hgetall(Keys.job(job_id)))
        if not raw:
            raise JobError(messages.no_such_job(job_id))
        record = _decode(raw)
        hosts = text_map(self.r.hgetall(Keys.job_hosts(job_id)))
        record.results = {k: HostResult.from_json(json.loads(v)) for k, v in hosts.items()}
        return record

    def recent(self, limit: int = 10) -> list[JobRecord]:
        found = []
        for raw in texts(self.r.zrevrange(Keys.jobs, 0, limit - 1)):
            with contextlib.suppress(JobError):
                found.append(self.get(int(raw)))
        return found

    def output(self, job_id: int, lines: int | None = None) -> list[str]:
        start = -lines if lines else 0
        return texts(self.r.lrange(Keys.job_output(job_id), start, -1))

    # --- transitions -------------------------------------------------------

    def transition(self, job_id: int, expected: JobStatus, **fields: Any) -> bool:
        args: list[Any] = [expected.value]
        for name, value in fields.items():
            args += [name, _encode_value(name, value)]
        return bool(self._cas(keys=[Keys.job(job_id)], args=args))

    def set_fields(self, job_id: int, **fields: Any) -> None:
        """Fields outside the status machine (the Slack message's ts)."""
        self.r.hset(Keys.job(job_id), mapping={k: _encode_value(k, v) for k, v in fields.items()})

    def finish(
        self, job_id: int, expected: JobStatus, status: JobStatus, reason: str | None
    ) -> bool:
        done = self.transition(
            job_id, expected, status=status, reason=reason or "", finished_at=time.time()
        )
        if done:
            self.locks.release(
                job_id, json.loads(text(self.r.hget(Keys.job(job_id), "locks") or "[]"))
            )
            pipe = self.r.pipeline()
            pipe.srem(Keys.running, job_id)
            pipe.delete(Keys.job_lease(job_id), Keys.job_cancel(job_id))
            pipe.execute()
            self.publish(job_id, "end", {"status": status.value, "reason": reason})
            self._audit_finish(job_id, status, reason)
        return done

    def _audit_finish(self, job_id: int, status: JobStatus, reason: str | None) -> None:
        """job.finished: the requester, the command and how it ended (never raises)."""
        user, source, command = texts(self.r.hmget(Keys.job(job_id), "user", "source", "command"))
        self.audit.try_record(
            AuditAction.JOB_FINISHED,
            user=user,
            source=worker_identity(),
            command=command,
            job=job_id,
            outcome=status.value,
            detail={"reason": reason, "requested_from": source},
        )

    def record_progress(
        self, job_id: int, hosts: list[HostResult], output: list[str], event: dict[str, Any] | None
    ) -> None:
        """One round trip: changed host results, new output lines, a progress event."""
        pipe = self.r.pipeline(transaction=False)
        if hosts:
            pipe.hset(
                Keys.job_hosts(job_id), mapping={h.host: json.dumps(h.to_json()) for h in hosts}
            )
        if output:
            pipe.rpush(Keys.job_output(job_id), *output)
            pipe.ltrim(Keys.job_output(job_id), -self.output_lines, -1)
        if event:
            _add_event(pipe, job_id, event["kind"], event["data"])
        pipe.execute()

    def publish(self, job_id: int, kind: str, data: dict[str, Any]) -> None:
        _add_event(self.r, job_id, kind, data)

    # --- cancel ---------------------------------------------------------------

    def cancel(self, job_id: int, by: str) -> str:
        answer = self._cancel(job_id, by)
        self.audit.try_record(
            AuditAction.JOB_CANCEL, user=by, source=worker_identity(), job=job_id, outcome=answer
        )
        return answer

    def _cancel(self, job_id: int, by: str) -> str:
        record = self.get(job_id)
        if record.status is JobStatus.QUEUED and self.finish(
            job_id, JobStatus.QUEUED, JobStatus.CANCELED, messages.job_cancelled_by(by)
        ):
            return messages.cancelled_before_start(job_id)
        record = self.get(job_id)
        if record.status is JobStatus.RUNNING:
            self.r.set(Keys.job_cancel(job_id), by, ex=86400)
            return messages.cancel_requested(job_id)
        return messages.already_finished(job_id, record.status.value)

    # --- dead workers -----------------------------------------------------------

    def reap(self, lease_seconds: int) -> list[int]:
        """Mark failed every running job whose worker stopped renewing its lease."""
        reaped = []
        for raw in texts(self.r.smembers(Keys.running)):
            job_id = int(raw)
            try:
                record = self.get(job_id)
            except JobError:
                self.r.srem(Keys.running, job_id)
                continue
            if record.status is JobStatus.QUEUED and _abandoned(record.queue):
                self.finish(job_id, JobStatus.QUEUED, JobStatus.FAILED, messages.abandoned())
                reaped.append(job_id)
                continue
            if record.status is not JobStatus.RUNNING or self.r.exists(Keys.job_lease(job_id)):
                continue
            if record.started_at and time.time() - record.started_at < lease_seconds:
                continue  # just started; its lease may not be written yet
            kill_orphan(record)
            if self.finish(
                job_id, JobStatus.RUNNING, JobStatus.FAILED, messages.worker_died(lease_seconds)
            ):
                reaped.append(job_id)
        return reaped

    def _trim(self) -> None:
        excess = int(self.r.zcard(Keys.jobs)) - self.keep
        if excess <= 0:
            return
        for raw in texts(self.r.zrange(Keys.jobs, 0, excess - 1)):
            job_id = int(raw)
            if self.r.sismember(Keys.running, str(job_id)):
                continue
            self.r.delete(
                Keys.job(job_id),
                Keys.job_hosts(job_id),
                Keys.job_output(job_id),
                Keys.job_events(job_id),
            )
            self.r.zrem(Keys.jobs, job_id)


def _add_event(target: Any, job_id: int, kind: str, data: dict[str, Any]) -> None:
    """Append to the job's bounded progress stream (``target``: the client or a pipeline)."""
    target.xadd(
        Keys.job_events(job_id),
        {"kind": kind, "data": json.dumps(data)},
        maxlen=STREAM_MAXLEN,
        approximate=True,
    )


def _abandoned(queue: str) -> bool:
    """A local queue whose process (console or exec on this machine) has exited."""
    if not queue.startswith(LOCAL_QUEUE_PREFIX):
        return False
    host, _, pid = queue.removeprefix(LOCAL_QUEUE_PREFIX).rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not Path(f"/proc/{pid}").exists()


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def kill_orphan(record: JobRecord) -> None:
    """Stop the ansible-playbook process group a dead worker left behind on this machine."""
    if not record.ansible_pid or not record.worker:
        return
    if record.worker.split(":")[0] != socket.gethostname():
        return
    try:
        cmdline = Path(f"/proc/{record.ansible_pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"ansible-playbook" not in cmdline:
        return  # the pid was reused by something else
    with contextlib.suppress(OSError):
        os.killpg(os.getpgid(record.ansible_pid), signal.SIGKILL)


def _encode_value(name: str, value: Any) -> str:
    if name in _FIELDS_JSON:
        return json.dumps(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _encode(record: JobRecord) -> dict[FieldT, EncodableT]:
    data = {k: v for k, v in vars(record).items() if k != "results"}
    return {k: _encode_value(k, v) for k, v in data.items()}


def _decode(raw: dict[str, str]) -> JobRecord:
    data: dict[str, Any] = dict(raw)
    for name in _FIELDS_JSON:
        data[name] = json.loads(raw[name])
    for name in _FIELDS_FLOAT:
        data[name] = float(raw[name]) if raw.get(name) else None
    for name in _FIELDS_INT:
        data[name] = int(raw[name]) if raw.get(name) else None
    data["check_mode"] = raw.get("check_mode") == "1"
    data["status"] = JobStatus(raw["status"])
    for name in ("reason", "worker", "message_ts", "schedule"):
        data[name] = raw.get(name) or None
    return JobRecord(**data)
