"""What one audit entry is: its actions, its canonical JSON, its hash, and how it is read back.

An entry is one stream item with two fields: ``data``, a canonical JSON
object whose ``prev`` is the hash of the entry before, and ``hash`` = SHA-256
over ``prev + data`` (HMAC-SHA-256 with the key in TOILBOT_AUDIT_KEY when it
is set). Readers never trust an item: :func:`parse_entry` returns None for
anything that is not a well-formed entry, and the verifier names it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from bot.platform.errors import ConfigError
from bot.platform.store import text, text_map

KEY_ENV = "TOILBOT_AUDIT_KEY"
KEY_MIN_LENGTH = 16
GENESIS = "0" * 64  # the ``prev`` of the first entry ever written


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
class Link:
    """A point of the chain: an entry's seq and hash (the head, the anchor, the genesis)."""

    seq: int
    hash: str


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


def digest(key: bytes | None, prev: str, data: str) -> str:
    """The hash of an entry: SHA-256 over ``prev + data``, HMAC-SHA-256 under ``key``."""
    message = (prev + data).encode("utf-8")
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def canonical(data: Mapping[str, Any]) -> str:
    """The one JSON text of an entry: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def now_text(moment: float | None = None) -> str:
    """A UTC ISO 8601 time with milliseconds: 2026-11-22T00:32:01.123Z."""
    when = datetime.fromtimestamp(time.time() if moment is None else moment, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- reading what is stored ---------------------------------------------------------------


def stream_item(item: Any) -> tuple[str, dict[str, str]]:
    """One XRANGE item as (id, fields), decoded."""
    entry_id, fields = cast(tuple[object, object], item)
    return text(entry_id), text_map(fields)


def parse_entry(entry_id: str, fields: Mapping[str, str]) -> AuditEntry | None:
    """An entry as stored, or None when it is not one (malformed JSON, missing fields)."""
    raw = fields.get("data")
    hash_ = fields.get("hash")
    if raw is None or hash_ is None or set(fields) != {"data", "hash"}:
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
    return AuditEntry(entry_id, data, raw, hash_)


def claimed_seq(fields: Mapping[str, str]) -> int | None:
    """The seq an item says it has, even when it is not a well-formed entry."""
    try:
        seq = json.loads(fields.get("data", ""))["seq"]
    except (ValueError, KeyError, TypeError):
        return None
    return seq if isinstance(seq, int) else None


def parse_link(raw: str) -> Link | None:
    """The head key's text, "<seq> <hash>", as a link; None when it is not that."""
    seq, _, hash_ = raw.partition(" ")
    if not seq.isdigit() or not re.fullmatch(r"[0-9a-f]{64}", hash_):
        return None
    return Link(int(seq), hash_)
