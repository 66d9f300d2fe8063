"""What the platform says: the audit log's errors and what `toilbot audit verify` finds."""

from __future__ import annotations


def _span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first} to {last}"


def audit_unwritable(error: str) -> str:
    return f"The audit log cannot be written ({error}). Check that Redis is up and writable."


def audit_contended(seconds: float) -> str:
    return (
        f"The audit log is too busy: no append went through in {seconds:.0f}s. Try again; if it "
        "persists, look for a process writing to it in a loop."
    )


def audit_head_unreadable(key: str) -> str:
    return (
        f"The audit log's head (`{key}`) is damaged, so no entry can be appended. "
        "Run `toilbot audit verify` to see what was changed."
    )


def audit_trimmed_outcome(removed: int) -> str:
    return f"removed {removed} entries older than the retention"


def audit_trim_unreadable() -> str:
    return "The audit log has unreadable entries; nothing was trimmed. Run `toilbot audit verify`."


def audit_edited(entry_id: str, seq: int | None, keyed: bool) -> str:
    which = f"seq {seq}" if seq is not None else "with no readable seq"
    why = (
        "it was edited, or written with another TOILBOT_AUDIT_KEY"
        if keyed
        else "it was edited (or written with TOILBOT_AUDIT_KEY set, and you are checking without)"
    )
    return f"entry {which} (id {entry_id}) does not match its hash: {why}"


def audit_rewritten(entry_id: str, seq: int, next_id: str | None, next_seq: int | None) -> str:
    where = (
        f"entry seq {next_seq} (id {next_id}) recorded a different hash for it"
        if next_id
        else "the head key records a different hash for it"
    )
    return f"entry seq {seq} (id {entry_id}) was edited and its hash recomputed: {where}"


def audit_bad_start(entry_id: str, seq: int, anchored: bool) -> str:
    start = "the anchor left by the last trim" if anchored else "the start of the chain"
    return (
        f"the oldest entry, seq {seq} (id {entry_id}), does not follow {start}: it, or the "
        "anchor, was edited"
    )


def audit_deleted(first: int, last: int, entry_id: str, seq: int) -> str:
    return f"{_span(first, last)} deleted: missing before entry seq {seq} (id {entry_id})"


def audit_missing_at_end(first: int, last: int, newest_id: str | None) -> str:
    after = f" after the newest entry left (id {newest_id})" if newest_id else ""
    return f"{_span(first, last)} deleted{after}: the head key records seq {last}"


def audit_reordered(entry_id: str, seq: int, other_id: str, other_seq: int) -> str:
    return (
        f"entry seq {seq} (id {entry_id}) was moved: it comes before entry seq {other_seq} "
        f"(id {other_id})"
    )


def audit_out_of_order(entry_id: str, seq: int, after: int) -> str:
    return f"entry seq {seq} (id {entry_id}) is out of order: it comes after seq {after}"


def audit_untracked_trim(through: int, recorded: int, entry_id: str | None) -> str:
    record = (
        f"the last recorded trim went through seq {recorded}"
        if recorded
        else "no audit.trimmed entry records a trim"
    )
    first = f" (the oldest entry left is id {entry_id})" if entry_id else ""
    return f"entries up to seq {through} were removed{first}, but {record}: deleted at the start"


def audit_head_missing(key: str, newest: int) -> str:
    return (
        f"the head key `{key}` is missing (the newest entry is seq {newest}): it was deleted, "
        "perhaps with the newest entries"
    )


def audit_key_unreadable(key: str) -> str:
    return f"`{key}` is not in the form toilbot writes: it was edited"


def audit_inserted(seq: int, entry_id: str | None, head: int) -> str:
    return (
        f"entry seq {seq} (id {entry_id}) was added outside toilbot: the head key records "
        f"seq {head} as the newest"
    )
