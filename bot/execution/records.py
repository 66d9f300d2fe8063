"""A job as stored: its status, per-host results, the record, and how it is encoded in Redis.

A job record is a Redis hash (``Keys.job``) plus a hash of per-host results
(``Keys.job_hosts``); ``encode``/``decode`` are the one codec between them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from redis.typing import EncodableT, FieldT

from bot.platform.store import QUEUE


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
    NOT_RUN = "not run"  # the run ended (cancel, timeout, a failed batch) before it started
    UNFINISHED = "not finished"  # started, and the run was stopped before its play ended

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
    task: str | None = None  # while RUNNING: the task it is on

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "status": self.status.value,
            "ok": self.ok,
            "changed": self.changed,
            "failed_task": self.failed_task,
            "message": self.message,
            "report": self.report,
            "task": self.task,
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
            task=data.get("task"),
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
    stopped_by: str | None = None  # who cancelled it
    worker: str | None = None
    ansible_pid: int | None = None
    locks: list[str] = field(default_factory=list)  # hosts this job holds locked
    queue: str = QUEUE  # the RQ queue it was put on
    notify: dict[str, str] | None = None  # where to report: Slack channel, thread, user
    manual_minutes: int = 0  # how long the task takes by hand (the spec's)
    message_ts: str | None = None  # the job's own Slack message, once posted
    message_channel: str | None = None  # where it was posted (a DM when the channel refused)
    message_final: str | None = None  # who delivered its final state (exactly once)
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


@dataclass(frozen=True)
class JobOrder:
    """What to run, as the pipeline resolved it (the execution layer knows no parser)."""

    command: str  # the normalized command
    spec: str
    playbook: str
    values: dict[str, Any]
    hosts: tuple[str, ...]
    check_mode: bool
    timeout: int
    lock: bool  # whether the run may change its hosts, so it locks them
    manual_minutes: int = 0


def encode_value(name: str, value: Any) -> str:
    if name in _FIELDS_JSON:
        return json.dumps(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def encode(record: JobRecord) -> dict[FieldT, EncodableT]:
    data = {k: v for k, v in vars(record).items() if k != "results"}
    return {k: encode_value(k, v) for k, v in data.items()}


def decode(raw: dict[str, str]) -> JobRecord:
    data: dict[str, Any] = dict(raw)
    for name in _FIELDS_JSON:
        data[name] = json.loads(raw[name])
    for name in _FIELDS_FLOAT:
        data[name] = float(raw[name]) if raw.get(name) else None
    for name in _FIELDS_INT:
        data[name] = int(raw[name]) if raw.get(name) else None
    data["check_mode"] = raw.get("check_mode") == "1"
    data["status"] = JobStatus(raw["status"])
    for name in (
        "reason",
        "stopped_by",
        "worker",
        "message_ts",
        "message_channel",
        "message_final",
        "schedule",
    ):
        data[name] = raw.get(name) or None
    return JobRecord(**data)
