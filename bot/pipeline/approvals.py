"""Two-person approval: a request bound to one exact command, and its states in Redis.

A request holds the exact invocation (the normalized command, the resolved
hosts, the argument values, the spec's name) and a SHA-256 ``digest`` of their
canonical form. Approving it can only ever run that digest: before the job is
queued the stored command is resolved again and must give the same digest.

States::

    pending --approve (quorum reached)--> approved --job queued--> executed
       |  \\--deny--> denied                  \\--could not run--> failed
       |   \\--the expiry passed--> expired
       \\--the command resolves differently now--> failed

Every change goes through ``Approvals._transition``: one Lua script decides it
atomically. Every event, the creation included, then passes ``Approvals._record``
(the one place for the audit call), which announces it through the
``ApprovalNotifier`` wired at start-up (the Slack front end posts it in the
request's thread).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from bot.pipeline.notices import ApprovalNotifier, NoNotices
from bot.pipeline.parse import Invocation
from bot.platform.audit import Audit, AuditAction
from bot.platform.store import Keys, text, text_map, texts

KEEP_SECONDS = 30 * 86400  # a request's record is kept this long after it expires
KEEP_COUNT = 1000  # requests kept in the listing


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # the quorum is reached; the job is being queued
    DENIED = "denied"
    EXPIRED = "expired"
    EXECUTED = "executed"  # its job was queued (``job_id``)
    FAILED = "failed"  # approved or pending, but it could not run (``reason``)

    @property
    def open(self) -> bool:
        return self is ApprovalState.PENDING


class Vote(StrEnum):
    """What one click of Approve did."""

    COUNTED = "counted"  # recorded; more approvers are needed
    APPROVED = "approved"  # recorded, and the quorum is reached
    OWN = "own"  # the requester may not approve their own command
    AGAIN = "again"  # this approver already approved it
    EXPIRED = "expired"  # past its expiry: nothing was recorded
    CLOSED = "closed"  # no longer pending (denied, executed, ...)
    MISSING = "missing"  # no such request


@dataclass
class ApprovalRequest:
    id: int
    state: ApprovalState
    spec: str
    command: str  # the normalized command
    hosts: list[str]  # as resolved when it was asked for
    values: dict[str, Any]
    digest: str  # command_hash of the invocation
    requester: str
    source: str  # slack, console, exec
    quorum: int  # approvers needed
    created_at: float
    expires_at: float
    approvers: list[str] = field(default_factory=list)
    notify: dict[str, str] | None = None  # where the job reports (as for any job)
    channel: str | None = None  # the Slack request message, once posted
    message_ts: str | None = None
    thread_ts: str | None = None  # the thread its events are announced in
    decided_at: float | None = None
    decided_by: str | None = None  # who denied it
    reason: str | None = None  # why it was denied or could not run
    job_id: int | None = None

    @property
    def short_digest(self) -> str:
        return self.digest[:12]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state.value,
            "command": self.command,
            "hosts": self.hosts,
            "values": self.values,
            "digest": self.digest,
            "requester": self.requester,
            "quorum": self.quorum,
            "approvers": self.approvers,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "reason": self.reason,
            "job_id": self.job_id,
        }


def command_hash(invocation: Invocation) -> str:
    """SHA-256 of the canonical form: spec name, normalized command, sorted hosts, values."""
    canonical = json.dumps(
        {
            "spec": invocation.spec.name,
            "command": invocation.normalized(),
            "hosts": sorted(invocation.hosts),
            "values": invocation.values,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# Every state change of a request, decided atomically. Returns a code:
# ok / approved / counted on success; missing, state, early, expired, own, again otherwise.
_TRANSITION = """
local key, pending = KEYS[1], KEYS[2]
local action, now, who, extra = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local state = redis.call('HGET', key, 'state')
if not state then return 'missing' end
local function close(new)
  redis.call('HSET', key, 'state', new, 'decided_at', ARGV[2])
  redis.call('ZREM', pending, redis.call('HGET', key, 'id'))
end
if action == 'run' then
  if state ~= 'approved' then return 'state' end
  redis.call('HSET', key, 'state', 'executed', 'job_id', extra)
  return 'ok'
end
if action == 'fail' then
  if state ~= 'approved' and state ~= 'pending' then return 'state' end
  close('failed')
  redis.call('HSET', key, 'reason', extra)
  return 'ok'
end
if state ~= 'pending' then return 'state' end
local expired = now >= tonumber(redis.call('HGET', key, 'expires_at'))
if action == 'expire' then
  if not expired then return 'early' end
  close('expired')
  return 'ok'
end
if expired then return 'expired' end
if action == 'deny' then
  close('denied')
  redis.call('HSET', key, 'decided_by', who, 'reason', extra)
  return 'ok'
end
if action == 'approve' then
  if who == redis.call('HGET', key, 'requester') then return 'own' end
  local approvers = cjson.decode(redis.call('HGET', key, 'approvers'))
  for _, name in ipairs(approvers) do
    if name == who then return 'again' end
  end
  table.insert(approvers, who)
  redis.call('HSET', key, 'approvers', cjson.encode(approvers))
  if #approvers >= tonumber(redis.call('HGET', key, 'quorum')) then
    close('approved')
    return 'approved'
  end
  return 'counted'
end
return redis.error_reply('unknown approval action ' .. action)
"""

_DONE = ("ok", "approved", "counted")


@dataclass(frozen=True)
class Step:
    """The outcome of one transition: its code and the request as it is now."""

    code: str
    request: ApprovalRequest | None

    @property
    def done(self) -> bool:
        return self.code in _DONE


class Approvals:
    """Approval requests on one Redis."""

    def __init__(
        self,
        r: redis.Redis,
        audit: Audit | None = None,
        notifier: ApprovalNotifier | None = None,
    ) -> None:
        self.r = r
        self.audit = audit
        self.notifier: ApprovalNotifier = notifier or NoNotices()
        self._script = r.register_script(_TRANSITION)

    # --- create and read -------------------------------------------------------

    def create(
        self,
        invocation: Invocation,
        requester: str,
        source: str,
        *,
        expiry: int,
        quorum: int,
        notify: dict[str, str] | None = None,
    ) -> ApprovalRequest:
        """Record a pending request for exactly ``invocation``; one transaction."""
        now = time.time()
        request = ApprovalRequest(
            id=int(self.r.incr(Keys.approval_seq)),
            state=ApprovalState.PENDING,
            spec=invocation.spec.name,
            command=invocation.normalized(),
            hosts=list(invocation.hosts),
            values=dict(invocation.values),
            digest=command_hash(invocation),
            requester=requester,
            source=source,
            quorum=quorum,
            created_at=now,
            expires_at=now + expiry,
            notify=notify,
        )
        key = Keys.approval(request.id)
        pipe = self.r.pipeline()
        pipe.hset(key, mapping=_encode(request))
        pipe.expireat(key, int(request.expires_at + KEEP_SECONDS))
        pipe.zadd(Keys.approvals, {str(request.id): now})
        pipe.zadd(Keys.approvals_pending, {str(request.id): request.expires_at})
        pipe.execute()
        self._record(request, "requested", requester, "requested")
        self._trim()
        return request

    def get(self, request_id: int) -> ApprovalRequest | None:
        raw = text_map(self.r.hgetall(Keys.approval(request_id)))
        return _decode(raw) if raw else None

    def pending(self) -> list[ApprovalRequest]:
        """Open requests, soonest expiry first (expired ones are left to ``expire_due``)."""
        found = []
        for raw in texts(self.r.zrange(Keys.approvals_pending, 0, -1)):
            request = self.get(int(raw))
            if request is None:
                self.r.zrem(Keys.approvals_pending, raw)
            elif request.state.open:
                found.append(request)
        return found

    def set_message(self, request_id: int, channel: str, ts: str, thread_ts: str) -> None:
        """Where the request was posted in Slack (not a state change)."""
        self.r.hset(
            Keys.approval(request_id),
            mapping={"channel": channel, "message_ts": ts, "thread_ts": thread_ts},
        )

    # --- transitions ---------------------------------------------------------------

    def approve(self, request_id: int, user: str) -> Step:
        """Count ``user``'s approval; an expired request is marked expired instead."""
        step = self._transition("approve", request_id, user)
        if step.code == "expired":
            self.expire(request_id)
            return Step(Vote.EXPIRED.value, self.get(request_id))
        if step.code == "state":
            return Step(Vote.CLOSED.value, step.request)
        return step

    def deny(self, request_id: int, user: str, reason: str) -> Step:
        step = self._transition("deny", request_id, user, reason)
        if step.code == "expired":
            self.expire(request_id)
        return step

    def expire(self, request_id: int) -> Step:
        return self._transition("expire", request_id)

    def executed(self, request_id: int, job_id: int) -> Step:
        return self._transition("run", request_id, extra=str(job_id))

    def fail(self, request_id: int, reason: str) -> Step:
        return self._transition("fail", request_id, extra=reason)

    def expire_due(self, now: float | None = None) -> list[ApprovalRequest]:
        """The sweeper: mark expired every pending request past its expiry."""
        due = texts(self.r.zrangebyscore(Keys.approvals_pending, 0, now or time.time()))
        expired = []
        for raw in due:
            step = self.expire(int(raw))
            if step.done and step.request is not None:
                expired.append(step.request)
            elif step.code in ("missing", "state"):
                self.r.zrem(Keys.approvals_pending, raw)
        return expired

    def _transition(self, action: str, request_id: int, who: str = "", extra: str = "") -> Step:
        """Every state change of a request: decided atomically by the script, then recorded."""
        code = text(
            self._script(
                keys=[Keys.approval(request_id), Keys.approvals_pending],
                args=[action, repr(time.time()), who, extra],
            )
        )
        request = self.get(request_id)
        if code in _DONE and request is not None:
            self._record(request, code, who, _EVENTS.get(action, code))
        return Step(code, request)

    def _record(self, request: ApprovalRequest, code: str, who: str, event: str) -> None:
        """THE one place every approval event passes (requested, counted, approved, denied,
        expired, executed, failed), after it happened: audited, then announced."""
        if self.audit is not None and event != "executed":  # the job's own entry says that
            self.audit.try_record(
                _AUDITED.get(event, AuditAction.APPROVAL_APPROVED),
                user=who,
                source=request.source,
                channel=request.channel,
                command=request.command,
                job=request.job_id,
                outcome=event,
                detail={
                    "request": request.id,
                    "digest": request.digest,
                    "hosts": request.hosts,
                    "approvers": request.approvers,
                    "quorum": request.quorum,
                    "reason": request.reason,
                },
            )
        self.notifier.approval_changed(request, code, who)

    def _trim(self) -> None:
        excess = int(self.r.zcard(Keys.approvals)) - KEEP_COUNT
        if excess > 0:
            for raw in texts(self.r.zrange(Keys.approvals, 0, excess - 1)):
                if not self.r.zscore(Keys.approvals_pending, raw):
                    self.r.delete(Keys.approval(int(raw)))
                    self.r.zrem(Keys.approvals, raw)


_EVENTS = {"deny": "denied", "expire": "expired", "run": "executed", "fail": "failed"}
_AUDITED = {  # approval event -> audit action; "counted", "approved", "executed" are approvals
    "requested": AuditAction.APPROVAL_REQUESTED,
    "denied": AuditAction.APPROVAL_DENIED,
    "expired": AuditAction.APPROVAL_EXPIRED,
    "failed": AuditAction.APPROVAL_DENIED,
}
_JSON = ("hosts", "values", "approvers", "notify")
_FLOAT = ("created_at", "expires_at", "decided_at")
_INT = ("id", "quorum", "job_id")
_OPTIONAL = ("channel", "message_ts", "thread_ts", "decided_by", "reason")


def _encode(request: ApprovalRequest) -> dict[FieldT, EncodableT]:
    data: dict[FieldT, EncodableT] = {}
    for name, value in vars(request).items():
        if name in _JSON:
            data[name] = json.dumps(value)
        elif value is None:
            data[name] = ""
        else:
            data[name] = str(value.value if isinstance(value, StrEnum) else value)
    return data


def _decode(raw: dict[str, str]) -> ApprovalRequest:
    data: dict[str, Any] = dict(raw)
    for name in _JSON:
        data[name] = json.loads(raw[name]) if raw.get(name) else None
    for name in _FLOAT:
        data[name] = float(raw[name]) if raw.get(name) else None
    for name in _INT:
        data[name] = int(raw[name]) if raw.get(name) else None
    for name in _OPTIONAL:
        data[name] = raw.get(name) or None
    data["state"] = ApprovalState(raw["state"])
    data["approvers"] = data["approvers"] or []
    return ApprovalRequest(**data)
