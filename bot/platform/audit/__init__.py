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

One concept per module; import the names from here:

    entry.py      what an entry is: actions, canonical JSON, hash, reading one back
    stream.py     Audit: append (record), read (entries, for export)
    verify.py     walk the chain, name the first break (Audit.verify)
    retention.py  trim under a retention, leaving an anchor (Audit.trim)
    times.py      `--since 7d`, `retention: 365d`
"""

from bot.platform.audit.entry import (
    GENESIS,
    KEY_ENV,
    KEY_MIN_LENGTH,
    AuditAction,
    AuditEntry,
    audit_key,
    canonical,
    now_text,
)
from bot.platform.audit.stream import APPEND_DEADLINE, CLOCK_MARGIN_MS, PAGE, Audit
from bot.platform.audit.times import parse_retention, parse_when
from bot.platform.audit.verify import Break, Problem, Verification

__all__ = [
    "APPEND_DEADLINE",
    "CLOCK_MARGIN_MS",
    "GENESIS",
    "KEY_ENV",
    "KEY_MIN_LENGTH",
    "PAGE",
    "Audit",
    "AuditAction",
    "AuditEntry",
    "Break",
    "Problem",
    "Verification",
    "audit_key",
    "canonical",
    "now_text",
    "parse_retention",
    "parse_when",
]
