"""Retention: entries are removed only by ``trim``, and the chain that is left still verifies.

A trim first appends an ``audit.trimmed`` entry saying through which seq it
trims, then, in one Lua step, leaves an anchor (seq and hash of the last
removed entry) and drops the entries up to it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import redis

from bot.platform import text
from bot.platform.audit.entry import AuditAction, now_text, parse_entry, stream_item
from bot.platform.errors import AuditError
from bot.platform.store import Keys

if TYPE_CHECKING:
    from bot.platform.audit.stream import Audit

# Move the anchor forward and drop the entries up to it, in one step.
_TRIM = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(cjson.decode(current)['seq']) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3])
return 1
"""


def trim_chain(
    audit: Audit, retention: int, *, user: str, source: str, now: float | None = None
) -> int:
    """Remove entries older than ``retention`` seconds; returns how many. Recorded first."""
    now = time.time() if now is None else now
    cutoff_ms = int((now - retention) * 1000)
    if cutoff_ms <= 0:
        return 0
    r = audit.r
    try:
        older = r.xrevrange(Keys.audit, str(cutoff_ms - 1), "-", count=1)
        oldest = r.xrange(Keys.audit, "-", "+", count=1)
        if not older or not oldest:
            return 0
        last = parse_entry(*stream_item(older[0]))
        first = parse_entry(*stream_item(oldest[0]))
        if last is None or first is None:
            raise AuditError(text.audit_trim_unreadable())
        removed = last.seq - first.seq + 1
        audit.record(
            AuditAction.AUDIT_TRIMMED,
            user=user,
            source=source,
            outcome=text.audit_trimmed_outcome(removed),
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
        moved = r.register_script(_TRIM)(
            keys=[Keys.audit_anchor, Keys.audit], args=[last.seq, anchor, threshold]
        )
        return removed if moved else 0  # not moved: another process trimmed as far
    except redis.RedisError as exc:
        raise AuditError(text.audit_unwritable(str(exc))) from None
