"""Verifying the chain: walk the whole stream and name the first entry that was tampered with.

Finds an entry edited (its hash, or its successor's ``prev``, no longer
matches), entries deleted (a gap in seq, at the start, middle or end),
entries reordered, and entries inserted after the head. Without
TOILBOT_AUDIT_KEY, someone who can write Redis can rewrite the whole chain
consistently: only the keyed (HMAC) chain detects that.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.platform import text as platform_text
from bot.platform.audit.entry import (
    GENESIS,
    AuditAction,
    AuditEntry,
    Link,
    claimed_seq,
    parse_entry,
)
from bot.platform.store import Keys

if TYPE_CHECKING:
    from bot.platform.audit.stream import Audit


class Problem(StrEnum):
    EDITED = "edited"  # an entry's content no longer matches its hash, or a successor's prev
    DELETED = "deleted"  # a gap in seq: entries missing at the start, middle or end
    REORDERED = "reordered"  # entries are in the stream out of seq order
    INSERTED = "inserted"  # entries after the head: not written through toilbot


@dataclass(frozen=True)
class Break:
    """The first place the chain is broken."""

    problem: Problem
    entry_id: str | None  # the stream id of the entry named, when there is one
    seq: int | None
    text: str  # what is wrong, in words (from bot.platform.text)


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


def verify_chain(audit: Audit) -> Verification:
    """Walk the whole stream; the first edited, deleted or reordered entry is named."""
    head = audit.stored_head()
    anchor = audit.anchor()
    for key, link in ((Keys.audit_head, head), (Keys.audit_anchor, anchor)):
        if link is not None and link.seq < 0:
            text_ = platform_text.audit_key_unreadable(key)
            return Verification(
                0, None, None, 0, audit.key is not None, Break(Problem.EDITED, None, None, text_)
            )
    expected = Link(anchor.seq, anchor.hash) if anchor else Link(0, GENESIS)
    count, first, last, through = 0, None, None, 0
    at_head: AuditEntry | None = None

    def result(broken: Break | None) -> Verification:
        return Verification(
            count,
            first.seq if first else None,
            last.seq if last else None,
            anchor.seq if anchor else 0,
            audit.key is not None,
            broken,
        )

    for entry_id, fields in audit.scan():
        entry = parse_entry(entry_id, fields)
        if entry is None or not hmac.compare_digest(
            audit.digest(entry.prev, entry.raw), entry.hash
        ):
            seq = entry.seq if entry else claimed_seq(fields)
            text_ = platform_text.audit_edited(entry_id, seq, audit.key is not None)
            return result(Break(Problem.EDITED, entry_id, seq, text_))
        broken = _link_break(audit, entry, expected, last, anchor)
        if broken is not None:
            return result(broken)
        count += 1
        first = first or entry
        last = entry
        expected = Link(entry.seq, entry.hash)
        if head is not None and entry.seq == head.seq:
            at_head = entry
        if entry.action == AuditAction.AUDIT_TRIMMED:
            through = max(through, _int(entry.data.get("detail", {}).get("through_seq")))

    if anchor is not None and anchor.seq > through:
        where = first.id if first else None
        text_ = platform_text.audit_untracked_trim(anchor.seq, through, where)
        return result(Break(Problem.DELETED, where, anchor.seq, text_))
    newest = last.seq if last else (anchor.seq if anchor else 0)
    if head is None:
        if newest > 0:
            text_ = platform_text.audit_head_missing(Keys.audit_head, newest)
            return result(Break(Problem.DELETED, last.id if last else None, newest, text_))
        return result(None)
    if newest < head.seq:
        text_ = platform_text.audit_missing_at_end(newest + 1, head.seq, last.id if last else None)
        return result(Break(Problem.DELETED, None, newest + 1, text_))
    if at_head is not None and not hmac.compare_digest(at_head.hash, head.hash):
        text_ = platform_text.audit_rewritten(at_head.id, at_head.seq, None, None)
        return result(Break(Problem.EDITED, at_head.id, at_head.seq, text_))
    if newest > head.seq:
        later = audit.stored_head()  # appended while we walked?
        if later is None or newest > later.seq:
            seq = head.seq + 1
            found = _find_seq(audit, seq, "-")
            text_ = platform_text.audit_inserted(seq, found, head.seq)
            return result(Break(Problem.INSERTED, found, seq, text_))
    return result(None)


def _link_break(
    audit: Audit, entry: AuditEntry, expected: Link, last: AuditEntry | None, anchor: Link | None
) -> Break | None:
    """Whether ``entry`` follows ``expected`` (the entry before, or the anchor/genesis)."""
    want = expected.seq + 1
    if entry.seq == want:
        if hmac.compare_digest(entry.prev, expected.hash):
            return None
        if last is None:  # the first entry does not follow the anchor (or the genesis)
            text_ = platform_text.audit_bad_start(entry.id, entry.seq, anchor is not None)
            return Break(Problem.EDITED, entry.id, entry.seq, text_)
        text_ = platform_text.audit_rewritten(last.id, last.seq, entry.id, entry.seq)
        return Break(Problem.EDITED, last.id, last.seq, text_)
    if entry.seq > want:
        found = _find_seq(audit, want, "(" + entry.id)
        if found is not None:
            text_ = platform_text.audit_reordered(entry.id, entry.seq, found, want)
            return Break(Problem.REORDERED, entry.id, entry.seq, text_)
        text_ = platform_text.audit_deleted(want, entry.seq - 1, entry.id, entry.seq)
        return Break(Problem.DELETED, entry.id, entry.seq, text_)
    if last is None:  # older than the anchor says is left: the anchor was edited
        text_ = platform_text.audit_bad_start(entry.id, entry.seq, anchor is not None)
        return Break(Problem.EDITED, entry.id, entry.seq, text_)
    text_ = platform_text.audit_out_of_order(entry.id, entry.seq, last.seq)
    return Break(Problem.REORDERED, entry.id, entry.seq, text_)


def _find_seq(audit: Audit, seq: int, start: str) -> str | None:
    for entry_id, fields in audit.scan(start):
        if claimed_seq(fields) == seq:
            return entry_id
    return None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
