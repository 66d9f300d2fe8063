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
from pathlib import Path
from typing import Any

import redis

from bot.execution import proctree
from bot.execution import text as execution_text
from bot.execution.locks import Conflict, HostLocks
from bot.execution.records import (
    HostResult,
    JobOrder,
    JobRecord,
    JobStatus,
    decode,
    encode,
    encode_value,
)
from bot.execution.retention import Retention
from bot.platform.audit import Audit, AuditAction
from bot.platform.errors import AuditError, JobError
from bot.platform.store import LOCAL_QUEUE_PREFIX, QUEUE, Keys, text, text_map, texts

RUN_JOB = "bot.execution.run.run_job"  # the function RQ workers call
QUEUE_GRACE = 3600  # seconds a queued job may wait for a worker and keep its hosts locked
STREAM_MAXLEN = 5000


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
        self.retention = Retention(r)

    # --- create and read -------------------------------------------------

    def submit(
        self,
        order: JobOrder,
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
        locks = list(order.hosts) if order.lock else []
        # Held from now: the queue wait counts too. The worker shortens it to a lease.
        conflict = self.locks.acquire(job_id, locks, order.timeout + QUEUE_GRACE)
        if conflict is not None:
            raise JobError(self._conflict_message(conflict))
        record = JobRecord(
            id=job_id,
            user=user,
            source=source,
            command=order.command,
            spec=order.spec,
            playbook=order.playbook,
            values=dict(order.values),
            hosts=list(order.hosts),
            check_mode=order.check_mode,
            timeout=order.timeout,
            status=JobStatus.QUEUED,
            created_at=time.time(),
            locks=locks,
            queue=queue,
            notify=notify,
            manual_minutes=order.manual_minutes,
            schedule=scheduled[0] if scheduled else None,
            fire_time=scheduled[1] if scheduled else None,
            results={h: HostResult(h) for h in order.hosts},
        )
        pipe = self.r.pipeline()
        pipe.hset(Keys.job(job_id), mapping=encode(record))
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
                raise JobError(execution_text.job_not_audited(job_id, str(exc))) from None
            raise
        from rq import Queue  # here, not at import: `help` or a refusal needs no rq

        try:
            Queue(queue, connection=self.r).enqueue_call(
                RUN_JOB,
                args=(job_id,),
                job_id=f"toilbot-{job_id}",
                timeout=order.timeout + 120,  # ansible-runner enforces the real timeout
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
            return execution_text.host_locked(conflict.host, conflict.job_id, None, None, None)
        return execution_text.host_locked(
            conflict.host, holder.id, holder.user, holder.command, holder.status.value
        )

    def get(self, job_id: int) -> JobRecord:
        raw = text_map(self.r.hgetall(Keys.job(job_id)))
        if not raw:
            raise JobError(execution_text.no_such_job(job_id))
        record = decode(raw)
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
            args += [name, encode_value(name, value)]
        return bool(self._cas(keys=[Keys.job(job_id)], args=args))

    def set_fields(self, job_id: int, **fields: Any) -> None:
        """Fields outside the status machine (the Slack message's ts)."""
        self.r.hset(Keys.job(job_id), mapping={k: encode_value(k, v) for k, v in fields.items()})

    def finish(
        self,
        job_id: int,
        expected: JobStatus,
        status: JobStatus,
        reason: str | None,
        stopped_by: str | None = None,
    ) -> bool:
        by = {"stopped_by": stopped_by} if stopped_by else {}
        done = self.transition(
            job_id, expected, status=status, reason=reason or "", finished_at=time.time(), **by
        )
        if done:
            # Three round trips and the audit entry: the CAS above, this read, one pipeline.
            locks, user, source, command, created_at = (
                None if v is None else text(v)
                for v in self.r.hmget(
                    Keys.job(job_id), "locks", "user", "source", "command", "created_at"
                )
            )
            pipe = self.r.pipeline()
            self.locks.release(job_id, json.loads(locks or "[]"), pipeline=pipe)
            pipe.srem(Keys.running, job_id)
            pipe.zadd(Keys.finished, {str(job_id): float(created_at or 0)})  # now trimmable
            pipe.delete(Keys.job_lease(job_id), Keys.job_cancel(job_id))
            self.publish(job_id, "end", {"status": status.value, "reason": reason}, pipeline=pipe)
            pipe.execute()
            self.audit.try_record(
                AuditAction.JOB_FINISHED,
                user=user,
                source=worker_identity(),
                command=command,
                job=job_id,
                outcome=status.value,
                detail={"reason": reason, "requested_from": source},
            )
        return done

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

    def publish(
        self,
        job_id: int,
        kind: str,
        data: dict[str, Any],
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """An event on the job's progress stream; with ``pipeline``, as part of the caller's."""
        _add_event(self.r if pipeline is None else pipeline, job_id, kind, data)

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
            job_id,
            JobStatus.QUEUED,
            JobStatus.CANCELED,
            execution_text.job_cancelled_by(by),
            stopped_by=by,
        ):
            return execution_text.cancelled_before_start(job_id)
        record = self.get(job_id)
        if record.status is JobStatus.RUNNING:
            self.r.set(Keys.job_cancel(job_id), by, ex=86400)
            return execution_text.cancel_requested(job_id)
        return execution_text.already_finished(job_id, record.status.value)

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
                self.finish(job_id, JobStatus.QUEUED, JobStatus.FAILED, execution_text.abandoned())
                reaped.append(job_id)
                continue
            if record.status is not JobStatus.RUNNING or self.r.exists(Keys.job_lease(job_id)):
                continue
            if record.started_at and time.time() - record.started_at < lease_seconds:
                continue  # just started; its lease may not be written yet
            kill_orphan(record)
            if self.finish(
                job_id,
                JobStatus.RUNNING,
                JobStatus.FAILED,
                execution_text.worker_died(lease_seconds),
            ):
                reaped.append(job_id)
        return reaped

    def _trim(self) -> int:
        """Delete the oldest finished records beyond ``keep`` (see bot.execution.retention)."""
        return self.retention.trim(self.keep)


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
    if not record.worker or record.worker.split(":")[0] != socket.gethostname():
        return
    # Every process of the run, forks in sessions of their own included (bot.execution.proctree).
    proctree.kill(proctree.run_mark(record.id, record.worker))
    if not record.ansible_pid:
        return
    try:
        cmdline = Path(f"/proc/{record.ansible_pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"ansible-playbook" not in cmdline:
        return  # the pid was reused by something else
    with contextlib.suppress(OSError):
        os.killpg(os.getpgid(record.ansible_pid), signal.SIGKILL)
