"""The audit log: an append-only, hash-chained Redis stream of everything people asked for.

Each entry is one stream item with two fields: ``data``, a canonical JSON
object (seq, time, action, who, from where, what, the decision and its rule,
the job, the outcome, details, and ``prev``, the hash of the entry before),
and ``hash`` = SHA-256 over ``prev + data`` (HMAC-SHA-256 with the key in
TOILBOT_AUDIT_KEY when it is set). A head key holds the newest seq and hash;
appends are compare-and-set on it (a Lua script), so writers in many
processes keep one unbroken chain.

``verify`` walks the stream and names the first entry that was edited,
deleted or reordered. Entries are removed only by ``trim`` under an explicit
retention: it first appends an ``audit.trimmed`` entry saying through which
seq it trims, then leaves an anchor (seq and hash of the last removed entry)
so the remaining chain still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

import redis

from bot import messages
from bot.platform.errors import AuditError, ConfigError
from bot.platform.schema import parse_duration
from bot.platform.store import Keys, text, text_map

log = logging.getLogger(__name__)

KEY_ENV = "TOILBOT_AUDIT_KEY"
KEY_MIN_LENGTH = 16
GENESIS = "0" * 64  # the ``prev`` of the first entry ever written
PAGE = 1000  # entries read per XRANGE
APPEND_DEADLINE = 10.0  # seconds an append keeps retrying under contention
CLOCK_MARGIN_MS = 300_000  # export: stream ids (Redis clock) vs entry times (writer's clock)


class AuditAction(StrEnum):
    """What an entry records. Other modules call ``Audit.record`` with these."""

    COMMAND_ACCEPTED = "command.accepted"  # a job was queued (job id in ``job``)
    COMMAND_ANSWERED = "command.answered"  # a builtin answered (help, jobs, job, cancel, toil)
    COMMAND_DENIED = "command.denied"  # the policy said no (rule in ``rule``)
    COMMAND_PARSE_ERROR = "command.parse_error"  # the text is not a command
    COMMAND_REFUSED = "command.refused"  # allowed, but refused: host locked, no such job...
    COMMAND_ERROR = "command.error"  # toilbot failed unexpectedly (reference in ``detail``)
    CONFIRMATION_ASKED = "confirmation.asked"
    CONFIRMATION_CONFIRMED = "confirmation.confirmed"
    CONFIRMATION_DECLINED = "confirmation.declined"
    CONFIRMATION_EXPIRED = "confirmation.expired"  # a click after the prompt lapsed
    CONFIRMATION_REFUSED = "confirmation.refused"  # a click by someone else than the requester
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_APPROVED = "approval.approved"
    APPROVAL_DENIED = "approval.denied"
    APPROVAL_EXPIRED = "approval.expired"
    JOB_CANCEL = "job.cancel"  # someone asked to cancel a job (``outcome``: what happened)
    JOB_FINISHED = "job.finished"  # a job ended (``outcome``: its status; reaped jobs too)
    SCHEDULE_ADDED = "schedule.added"
    SCHEDULE_REMOVED = "schedule.removed"
    SCHEDULE_PAUSED = "schedule.paused"
    SCHEDULE_RESUMED = "schedule.resumed"
    SCHEDULE_FIRED = "schedule.fired"
    SCHEDULE_SKIPPED = "schedule.skipped"
    POLICY_RELOADED = "policy.reloaded"
    POLICY_REJECTED = "policy.rejected"
    AUDIT_TRIMMED = "audit.trimmed"  # retention removed old entries (``detail``: through_seq)


class Problem(StrEnum):
    EDITED = "edited"  # an entry's content no longer matches its hash, or a successor's prev
    DELETED = "deleted"  # a gap in seq: entries missing at the start, middle or end
    REORDERED = "reordered"  # entries are in the stream out of seq order
    INSERTED = "inserted"  # entries after the head: not written through toilbot


@dataclass(frozen=True)
class AuditEntry:
    id: str  # the stream entry id (Redis time in ms, then a counter)
    data: dict[str, Any]  # seq, time, action, user, source, ..., prev
    raw: str  # ``data`` exactly as stored (the hashed text)
    hash: str

    @property
    def seq(self) -> int:
        return int(self.data["seq"])

    @property
    def prev(self) -> str:
        return str(self.data["prev"])

    @property
    def action(self) -> str:
        return str(self.data.get("action", ""))

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(str(self.data["time"]))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.data, "hash": self.hash}


@dataclass(frozen=True)
class Break:
    """The first place the chain is broken."""

    problem: Problem
    entry_id: str | None  # the stream id of the entry named, when there is one
    seq: int | None
    text: str  # what is wrong, in words (from bot.messages)


@dataclass(frozen=True)
class Verification:
    count: int  # entries checked
    first_seq: int | None
    last_seq: int | None
    trimmed_through: int  # seq of the last entry removed by retention (0: none)
    keyed: bool  # checked with TOILBOT_AUDIT_KEY (HMAC) rather than plain SHA-256
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


@dataclass(frozen=True)
class _Link:
    seq: int
    hash: str


# Append if nobody appended since we read the head: keeps one chain across processes.
_APPEND = """
local head = redis.call('GET', KEYS[1])
if (head or '') ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[2], '*', 'data', ARGV[2], 'hash', ARGV[3])
redis.call('SET', KEYS[1], ARGV[4])
return id
"""

# Move the anchor forward and drop the entries up to it, in one step.
_TRIM = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(cjson.decode(current)['seq']) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3])
return 1
"""


def audit_key(env: Mapping[str, str] | None = None) -> bytes | None:
    """TOILBOT_AUDIT_KEY as bytes, None when unset; too short a key is a ConfigError."""
    env = os.environ if env is None else env
    value = env.get(KEY_ENV, "")
    if not value:
        return None
    if len(value) < KEY_MIN_LENGTH:
        raise ConfigError(
            "environment",
            KEY_ENV,
            f"is {len(value)} characters long, below the minimum {KEY_MIN_LENGTH}",
            "use a random secret, e.g. the output of `openssl rand -hex 32`",
        )
    return value.encode("utf-8")


def canonical(data: Mapping[str, Any]) -> str:
    """The one JSON text of an entry: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def now_text(moment: float | None = None) -> str:
    """A UTC ISO 8601 time with milliseconds: 2026-11-22T00:32:01.123Z."""
    when = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Audit:
    """The audit stream on one Redis; ``key`` (bytes) turns the chain into an HMAC chain."""

    def __init__(self, r: redis.Redis, key: bytes | None = None) -> None:
        self.r = r
        self.key = key
        self.retries = 0  # appends that lost a race and went again (for tests and benchmarks)
        self._append = r.register_script(_APPEND)
        self._trim_to = r.register_script(_TRIM)

    @classmethod
    def from_env(cls, r: redis.Redis, env: Mapping[str, str] | None = None) -> Audit:
        return cls(r, audit_key(env))

    # --- writing ---------------------------------------------------------------

    def record(
        self,
        action: AuditAction | str,
        *,
        user: str,
        source: str,
        channel: str | None = None,
        command: str | None = None,
        decision: str | None = None,
        rule: str | None = None,
        job: int | None = None,
        outcome: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> str:
        """Append one entry and return its stream id; AuditError when it cannot be written."""
        fields: dict[str, Any] = {
            "action": str(action),
            "user": user,
            "source": source,
            "channel": channel,
            "command": command,
            "decision": decision,
            "rule": rule,
            "job": job,
            "outcome": outcome,
            "detail": detail or {},
        }
        deadline = time.monotonic() + APPEND_DEADLINE
        try:
            while True:
                expected, link = self._head()
                data = canonical(
                    {**fields, "seq": link.seq + 1, "time": now_text(), "prev": link.hash}
                )
                digest = self.digest(link.hash, data)
                new_head = f"{link.seq + 1} {digest}"
                entry_id = self._append(
                    keys=[Keys.audit_head, Keys.audit], args=[expected, data, digest, new_head]
                )
                if entry_id is not None:
                    return text(entry_id)
                self.retries += 1
                if time.monotonic() > deadline:
                    raise AuditError(messages.audit_contended(APPEND_DEADLINE))
                time.sleep(random.uniform(0, 0.002))  # noqa: S311 - jitter, not a secret
        except redis.RedisError as exc:
            raise AuditError(messages.audit_unwritable(str(exc))) from None
        except (TypeError, ValueError) as exc:  # detail that is not JSON: a caller's bug
            raise AuditError(messages.audit_unwritable(str(exc))) from None

    def try_record(self, action: AuditAction | str, **fields: Any) -> str | None:
        """``record``, for entries after the fact: a failure is logged as an error, not raised."""
        try:
            return self.record(action, **fields)
        except AuditError as exc:
            log.error("audit entry %s not written: %s; entry: %r", action, exc, fields)
            return None

    def digest(self, prev: str, data: str) -> str:
        message = (prev + data).encode("utf-8")
        if self.key is not None:
            return hmac.new(self.key, message, hashlib.sha256).hexdigest()
        return hashlib.sha256(message).hexdigest()

    def _head(self) -> tuple[str, _Link]:
        """The head as stored (for the compare-and-set) and as a link."""
        raw = self.r.get(Keys.audit_head)
        if raw is not None:
            link = _parse_link(text(raw))
            if link is None:
                raise AuditError(messages.audit_head_unreadable(Keys.audit_head))
            return text(raw), link
        # No head: a fresh log, or the key was deleted. Continue from what the stream holds.
        newest = self.r.xrevrange(Keys.audit, "+", "-", count=1)
        if newest:
            entry = _parse(*_item(newest[0]))
            if entry is None:
                raise AuditError(messages.audit_head_unreadable(Keys.audit_head))
            log.warning("audit head missing; continuing the chain from seq %s", entry.seq)
            return "", _Link(entry.seq, entry.hash)
        return "", self._anchor() or _Link(0, GENESIS)

    def _anchor(self) -> _Link | None:
        raw = self.r.get(Keys.audit_anchor)
        if raw is None:
            return None
        try:
            data = json.loads(text(raw))
            return _Link(int(data["seq"]), str(data["hash"]))
        except (ValueError, KeyError, TypeError):
            return _Link(-1, "")  # unreadable: verify reports the first entry as not following it

    # --- reading -------------------------------------------------------------------

    def entries(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEntry]:
        """Entries whose time is in [since, until), oldest first; unreadable ones are skipped."""
        low = "-" if since is None else str(max(0, int(since * 1000) - CLOCK_MARGIN_MS))
        high = "+" if until is None else str(int(until * 1000) + CLOCK_MARGIN_MS)
        for entry_id, fields in self._scan(low, high):
            entry = _parse(entry_id, fields)
            if entry is None:
                continue
            try:
                moment = entry.when.timestamp()
            except (KeyError, ValueError):
                continue
            if (since is None or moment >= since) and (until is None or moment < until):
                yield entry

    def _scan(self, low: str = "-", high: str = "+") -> Iterator[tuple[str, dict[str, str]]]:
        start = low
        while True:
            batch = self.r.xrange(Keys.audit, start, high, count=PAGE)
            if not batch:
                return
            for item in batch:
                yield _item(item)
            start = "(" + text(batch[-1][0])

    # --- verifying -------------------------------------------------------------------

    def verify(self) -> Verification:
        """Walk the whole stream; the first edited, deleted or reordered entry is named."""
        head = self._stored_head()
        anchor = self._anchor()
        for key, link in ((Keys.audit_head, head), (Keys.audit_anchor, anchor)):
            if link is not None and link.seq < 0:
                text_ = messages.audit_key_unreadable(key)
                return Verification(
                    0, None, None, 0, self.key is not None, Break(Problem.EDITED, None, None, text_)
                )
        expected = _Link(anchor.seq, anchor.hash) if anchor else _Link(0, GENESIS)
        count, first, last, through = 0, None, None, 0
        at_head: AuditEntry | None = None

        def result(broken: Break | None) -> Verification:
            return Verification(
                count,
                first.seq if first else None,
                last.seq if last else None,
                anchor.seq if anchor else 0,
                self.key is not None,
                broken,
            )

        for entry_id, fields in self._scan():
            entry = _parse(entry_id, fields)
            if entry is None or not hmac.compare_digest(
                self.digest(entry.prev, entry.raw), entry.hash
            ):
                seq = entry.seq if entry else _claimed_seq(fields)
                text_ = messages.audit_edited(entry_id, seq, self.key is not None)
                return result(Break(Problem.EDITED, entry_id, seq, text_))
            broken = self._link_break(entry, expected, last, anchor)
            if broken is not None:
                return result(broken)
            count += 1
            first = first or entry
            last = entry
            expected = _Link(entry.seq, entry.hash)
            if head is not None and entry.seq == head.seq:
                at_head = entry
            if entry.action == AuditAction.AUDIT_TRIMMED:
                through = max(through, _int(entry.data.get("detail", {}).get("through_seq")))

        if anchor is not None and anchor.seq > through:
            where = first.id if first else None
            text_ = messages.audit_untracked_trim(anchor.seq, through, where)
            return result(Break(Problem.DELETED, where, anchor.seq, text_))
        newest = last.seq if last else (anchor.seq if anchor else 0)
        if head is None:
            if newest > 0:
                text_ = messages.audit_head_missing(Keys.audit_head, newest)
                return result(Break(Problem.DELETED, last.id if last else None, newest, text_))
            return result(None)
        if newest < head.seq:
            text_ = messages.audit_missing_at_end(newest + 1, head.seq, last.id if last else None)
            return result(Break(Problem.DELETED, None, newest + 1, text_))
        if at_head is not None and not hmac.compare_digest(at_head.hash, head.hash):
            text_ = messages.audit_rewritten(at_head.id, at_head.seq, None, None)
            return result(Break(Problem.EDITED, at_head.id, at_head.seq, text_))
        if newest > head.seq:
            later = self._stored_head()  # appended while we walked?
            if later is None or newest > later.seq:
                seq = head.seq + 1
                found = self._find_seq(seq, "-")
                text_ = messages.audit_inserted(seq, found, head.seq)
                return result(Break(Problem.INSERTED, found, seq, text_))
        return result(None)

    def _link_break(
        self, entry: AuditEntry, expected: _Link, last: AuditEntry | None, anchor: _Link | None
    ) -> Break | None:
        """Whether ``entry`` follows ``expected`` (the entry before, or the anchor/genesis)."""
        want = expected.seq + 1
        if entry.seq == want:
            if hmac.compare_digest(entry.prev, expected.hash):
                return None
            if last is None:  # the first entry does not follow the anchor (or the genesis)
                text_ = messages.audit_bad_start(entry.id, entry.seq, anchor is not None)
                return Break(Problem.EDITED, entry.id, entry.seq, text_)
            text_ = messages.audit_rewritten(last.id, last.seq, entry.id, entry.seq)
            return Break(Problem.EDITED, last.id, last.seq, text_)
        if entry.seq > want:
            found = self._find_seq(want, "(" + entry.id)
            if found is not None:
                text_ = messages.audit_reordered(entry.id, entry.seq, found, want)
                return Break(Problem.REORDERED, entry.id, entry.seq, text_)
            text_ = messages.audit_deleted(want, entry.seq - 1, entry.id, entry.seq)
            return Break(Problem.DELETED, entry.id, entry.seq, text_)
        if last is None:  # older than the anchor says is left: the anchor was edited
            text_ = messages.audit_bad_start(entry.id, entry.seq, anchor is not None)
            return Break(Problem.EDITED, entry.id, entry.seq, text_)
        text_ = messages.audit_out_of_order(entry.id, entry.seq, last.seq)
        return Break(Problem.REORDERED, entry.id, entry.seq, text_)

    def _find_seq(self, seq: int, start: str) -> str | None:
        for entry_id, fields in self._scan(start):
            if _claimed_seq(fields) == seq:
                return entry_id
        return None

    def _stored_head(self) -> _Link | None:
        raw = self.r.get(Keys.audit_head)
        return None if raw is None else (_parse_link(text(raw)) or _Link(-1, ""))

    # --- retention ---------------------------------------------------------------------

    def trim(self, retention: int, *, user: str, source: str, now: float | None = None) -> int:
        """Remove entries older than ``retention`` seconds; returns how many. Recorded first."""
        now = time.time() if now is None else now
        cutoff_ms = int((now - retention) * 1000)
        if cutoff_ms <= 0:
            return 0
        try:
            older = self.r.xrevrange(Keys.audit, str(cutoff_ms - 1), "-", count=1)
            oldest = self.r.xrange(Keys.audit, "-", "+", count=1)
            if not older or not oldest:
                return 0
            last = _parse(*_item(older[0]))
            first = _parse(*_item(oldest[0]))
            if last is None or first is None:
                raise AuditError(messages.audit_trim_unreadable())
            removed = last.seq - first.seq + 1
            self.record(
                AuditAction.AUDIT_TRIMMED,
                user=user,
                source=source,
                outcome=messages.audit_trimmed_outcome(removed),
                detail={
                    "through_seq": last.seq,
                    "through_id": last.id,
                    "removed": removed,
                    "before": now_text(cutoff_ms / 1000),
                    "retention_seconds": retention,
                },
            )
            ms, _, counter = last.id.partition("-")
            threshold = f"{ms}-{int(counter) + 1}"  # XTRIM MINID keeps ids >= threshold
            anchor = json.dumps({"seq": last.seq, "hash": last.hash, "id": last.id})
            moved = self._trim_to(
                keys=[Keys.audit_anchor, Keys.audit], args=[last.seq, anchor, threshold]
            )
            return removed if moved else 0  # not moved: another process trimmed as far
        except redis.RedisError as exc:
            raise AuditError(messages.audit_unwritable(str(exc))) from None


def _item(item: Any) -> tuple[str, dict[str, str]]:
    entry_id, fields = cast(tuple[object, object], item)
    return text(entry_id), text_map(fields)


def _parse(entry_id: str, fields: Mapping[str, str]) -> AuditEntry | None:
    """An entry as stored, or None when it is not one (malformed JSON, missing fields)."""
    raw = fields.get("data")
    digest = fields.get("hash")
    if raw is None or digest is None or set(fields) != {"data", "hash"}:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("prev"), str):
        return None
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return None
    return AuditEntry(entry_id, data, raw, digest)


def _claimed_seq(fields: Mapping[str, str]) -> int | None:
    try:
        seq = json.loads(fields.get("data", ""))["seq"]
    except (ValueError, KeyError, TypeError):
        return None
    return seq if isinstance(seq, int) else None


def _parse_link(raw: str) -> _Link | None:
    seq, _, digest = raw.partition(" ")
    if not seq.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
        return None
    return _Link(int(seq), digest)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- times on the command line --------------------------------------------------------------


_DAYS = re.compile(r"(\d+)d")


def parse_retention(value: str) -> int | None:
    """'365d' -> seconds; None if malformed. Retention is counted in whole days."""
    match = _DAYS.fullmatch(value.strip().lower())
    return int(match.group(1)) * 86400 if match and int(match.group(1)) > 0 else None


def parse_when(value: str, timezone: str, now: float | None = None) -> float | None:
    """'2026-11-01' (midnight in ``timezone``), an ISO time, or an age ('7d', '12h'): epoch."""
    value = value.strip()
    now = time.time() if now is None else now
    days = _DAYS.fullmatch(value.lower())
    if days:
        return now - int(days.group(1)) * 86400
    age = parse_duration(value) if value and not value.isdigit() else None
    if age:
        return now - age
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.timestamp()
