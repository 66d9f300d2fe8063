"""The audit stream on one Redis: appending to the chain, and reading it back.

A head key holds the newest seq and hash; appends are compare-and-set on it
(a Lua script), so writers in many processes keep one unbroken chain. A writer
starts from the head its own last append left (usually still current), so an
uncontended append is one round trip; when that guess is stale, the same call
returns the current head and the writer goes again at once. A race lost on a
head just read is retried after a jittered sleep (without it, writers that lost
together collide again at once: measured 8x slower with 8 threads).

Why the chain is not extended inside Redis alone: an entry's hash covers the
one before (``prev``), and with TOILBOT_AUDIT_KEY it is an HMAC whose key must
never reach Redis (the keyed chain exists so that whoever can write Redis
cannot rewrite it; a key passed to a script is visible to MONITOR and the slow
log). So only a key holder can compute link n, and only once it knows link
n - 1: appends from many processes are one sequence by construction. Lua has
no SHA-256 either (``redis.sha1hex`` only), and changing the hash would break
``toilbot audit verify`` on existing chains.

Verifying is in :mod:`bot.platform.audit.verify`, retention in
:mod:`bot.platform.audit.retention`; :class:`Audit` offers both as methods.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator, Mapping
from typing import Any

import redis

from bot.platform import text as platform_text
from bot.platform.audit.entry import (
    GENESIS,
    AuditAction,
    AuditEntry,
    Link,
    audit_key,
    canonical,
    digest,
    now_text,
    parse_entry,
    parse_link,
    stream_item,
)
from bot.platform.audit.retention import trim_chain
from bot.platform.audit.verify import Verification, verify_chain
from bot.platform.errors import AuditError
from bot.platform.store import Keys, text

log = logging.getLogger(__name__)

PAGE = 1000  # entries read per XRANGE
APPEND_DEADLINE = 10.0  # seconds an append keeps retrying under contention
CLOCK_MARGIN_MS = 300_000  # export: stream ids (Redis clock) vs entry times (writer's clock)

# Append if nobody appended since we read the head: keeps one chain across processes.
# Returns {1, stream id}, or {0, the head as it is now ('' when absent)} for the next try.
_APPEND = """
local head = redis.call('GET', KEYS[1]) or ''
if head ~= ARGV[1] then return {0, head} end
local id = redis.call('XADD', KEYS[2], '*', 'data', ARGV[2], 'hash', ARGV[3])
redis.call('SET', KEYS[1], ARGV[4])
return {1, id}
"""


class Audit:
    """The audit stream on one Redis; ``key`` (bytes) turns the chain into an HMAC chain."""

    def __init__(self, r: redis.Redis, key: bytes | None = None) -> None:
        self.r = r
        self.key = key
        self.retries = 0  # appends that lost a race and went again (for tests and benchmarks)
        self._append = r.register_script(_APPEND)
        self._last: tuple[str, Link] | None = None  # the head our last append left

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
            guess = self._last  # a guess: another process may have appended since
            expected, link = guess if guess is not None else self._head()
            while True:
                data = canonical(
                    {**fields, "seq": link.seq + 1, "time": now_text(), "prev": link.hash}
                )
                hash_ = self.digest(link.hash, data)
                new_head = f"{link.seq + 1} {hash_}"
                done, value = self._append(
                    keys=[Keys.audit_head, Keys.audit], args=[expected, data, hash_, new_head]
                )
                if done:
                    self._last = (new_head, Link(link.seq + 1, hash_))
                    return text(value)
                self._last = None
                if guess is None:  # a race lost on a head just read, not a stale guess
                    self.retries += 1
                    if time.monotonic() > deadline:
                        raise AuditError(platform_text.audit_contended(APPEND_DEADLINE))
                    # Jitter: see the module docstring.
                    time.sleep(random.uniform(0, 0.002))  # noqa: S311 - jitter, not a secret
                    expected, link = self._head()
                else:
                    expected, link = self._current(text(value))
                guess = None
        except redis.RedisError as exc:
            raise AuditError(platform_text.audit_unwritable(str(exc))) from None
        except (TypeError, ValueError) as exc:  # detail that is not JSON: a caller's bug
            raise AuditError(platform_text.audit_unwritable(str(exc))) from None

    def try_record(self, action: AuditAction | str, **fields: Any) -> str | None:
        """``record``, for entries after the fact: a failure is logged as an error, not raised."""
        try:
            return self.record(action, **fields)
        except AuditError as exc:
            log.error("audit entry %s not written: %s; entry: %r", action, exc, fields)
            return None

    def digest(self, prev: str, data: str) -> str:
        return digest(self.key, prev, data)

    def _current(self, head: str) -> tuple[str, Link]:
        """The head a lost compare-and-set returned, as ``_head`` gives it."""
        if not head:
            return self._head()  # absent: continue from what the stream holds
        link = parse_link(head)
        if link is None:
            raise AuditError(platform_text.audit_head_unreadable(Keys.audit_head))
        return head, link

    def _head(self) -> tuple[str, Link]:
        """The head as stored (for the compare-and-set) and as a link."""
        raw = self.r.get(Keys.audit_head)
        if raw is not None:
            link = parse_link(text(raw))
            if link is None:
                raise AuditError(platform_text.audit_head_unreadable(Keys.audit_head))
            return text(raw), link
        # No head: a fresh log, or the key was deleted. Continue from what the stream holds.
        newest = self.r.xrevrange(Keys.audit, "+", "-", count=1)
        if newest:
            entry = parse_entry(*stream_item(newest[0]))
            if entry is None:
                raise AuditError(platform_text.audit_head_unreadable(Keys.audit_head))
            log.warning("audit head missing; continuing the chain from seq %s", entry.seq)
            return "", Link(entry.seq, entry.hash)
        return "", self.anchor() or Link(0, GENESIS)

    def anchor(self) -> Link | None:
        """Where the kept chain starts after a trim; None if never trimmed, seq -1 if unreadable."""
        raw = self.r.get(Keys.audit_anchor)
        if raw is None:
            return None
        try:
            data = json.loads(text(raw))
            return Link(int(data["seq"]), str(data["hash"]))
        except (ValueError, KeyError, TypeError):
            return Link(-1, "")  # unreadable: verify reports the first entry as not following it

    def stored_head(self) -> Link | None:
        """The head key as a link; None when absent, seq -1 when unreadable."""
        raw = self.r.get(Keys.audit_head)
        return None if raw is None else (parse_link(text(raw)) or Link(-1, ""))

    # --- reading -------------------------------------------------------------------

    def entries(
        self, since: float | None = None, until: float | None = None
    ) -> Iterator[AuditEntry]:
        """Entries whose time is in [since, until), oldest first; unreadable ones are skipped."""
        low = "-" if since is None else str(max(0, int(since * 1000) - CLOCK_MARGIN_MS))
        high = "+" if until is None else str(int(until * 1000) + CLOCK_MARGIN_MS)
        for entry_id, fields in self.scan(low, high):
            entry = parse_entry(entry_id, fields)
            if entry is None:
                continue
            try:
                moment = entry.when.timestamp()
            except (KeyError, ValueError):
                continue
            if (since is None or moment >= since) and (until is None or moment < until):
                yield entry

    def scan(self, low: str = "-", high: str = "+") -> Iterator[tuple[str, dict[str, str]]]:
        """Every stream item between two ids, as stored, a page at a time."""
        start = low
        while True:
            batch = self.r.xrange(Keys.audit, start, high, count=PAGE)
            if not batch:
                return
            for item in batch:
                yield stream_item(item)
            start = "(" + text(batch[-1][0])

    # --- verifying and retention -------------------------------------------------------

    def verify(self) -> Verification:
        """Walk the whole stream; the first edited, deleted or reordered entry is named."""
        return verify_chain(self)

    def trim(self, retention: int, *, user: str, source: str, now: float | None = None) -> int:
        """Remove entries older than ``retention`` seconds; returns how many. Recorded first."""
        return trim_chain(self, retention, user=user, source=source, now=now)
