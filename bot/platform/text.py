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


# --- REDIS_URL: (problem, fix) pairs, and what a failed connection says --------------

_FORMS = (
    "write redis://[user:password@]host:6379/0, rediss://…?ssl_ca_certs=/path/ca.pem, "
    "unix:///path/redis.sock or redis+sentinel://host1:26379,host2:26379/mymaster/0"
)


def redis_url_forms() -> str:
    return _FORMS


def redis_url_scheme(scheme: str) -> tuple[str, str]:
    what = f"has the unknown scheme {scheme!r}" if scheme else "is not a URL"
    return what, _FORMS


def redis_url_credentials() -> tuple[str, str]:
    return (
        "has a credential without a colon before @",
        "write redis://user:password@host or redis://:password@host (the default user)",
    )


def redis_url_unix() -> tuple[str, str]:
    return "names no socket path", "write unix:///path/to/redis.sock (three slashes)"


def redis_url_db_option() -> tuple[str, str]:
    return "gives ?db=", "put the database number in the path, e.g. redis://host:6379/2"


def redis_url_service() -> tuple[str, str]:
    return (
        "names no Sentinel master",
        "write redis+sentinel://host1:26379,host2:26379/mymaster/0 (the name Sentinel monitors)",
    )


def redis_url_many_hosts() -> tuple[str, str]:
    return (
        "lists several hosts",
        "for Sentinels write redis+sentinel://host1:26379,host2:26379/mymaster",
    )


def redis_url_option(name: str, known: tuple[str, ...]) -> tuple[str, str]:
    return f"has the unknown option {name!r}", f"use only {', '.join(known)}"


def redis_url_host(spec: str) -> tuple[str, str]:
    shown = f"the host {spec!r}" if spec else "no host"
    return f"names {shown}", "write host:port, e.g. redis.example.com:6379 or [::1]:6379"


def redis_url_port(port: str) -> tuple[str, str]:
    return f"has the port {port!r}, not a number from 1 to 65535", "write e.g. :6379"


def redis_url_db(value: str) -> tuple[str, str]:
    return (
        f"names the database {value!r}, not a number",
        "end it with the database number, e.g. /0, or leave it out for database 0",
    )


def redis_url_tls_needs_rediss(options: list[str]) -> tuple[str, str]:
    return f"gives {', '.join(options)} without TLS", "write rediss:// to connect with TLS"


def redis_url_sentinel_option(options: list[str]) -> tuple[str, str]:
    return (
        f"gives {', '.join('sentinel_' + o for o in options)} without Sentinel",
        "write redis+sentinel://host1:26379,host2:26379/mymaster, or drop the option",
    )


def redis_url_tls_file(option: str, path: str) -> tuple[str, str]:
    return f"gives {option}={path}, which is not a file", "point it at the PEM file"


def redis_url_choice(option: str, value: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    return f"gives {option}={value!r}", f"write one of {', '.join(allowed)}"


def redis_url_tls_key_alone() -> tuple[str, str]:
    return "gives ssl_keyfile without ssl_certfile", "give the client certificate too"


def redis_url_tls_unreadable(error: str) -> tuple[str, str]:
    return (
        f"names a certificate or key OpenSSL cannot load ({error})",
        "give PEM files: the CA that signed the server's certificate, your certificate and "
        "its key (unencrypted)",
    )


def redis_tls_handshake(where: str, reason: str) -> str:
    return f"the TLS handshake with {where} failed: {reason}"


def redis_unreachable(where: str, error: str, hint: str) -> str:
    return (
        f"cannot reach Redis at {where}: {error.rstrip('.')}. {hint}Start that server, "
        "fix REDIS_URL, or unset REDIS_URL to use the embedded Redis."
    )


def redis_hint_tls() -> str:
    return (
        "If that port does not speak TLS, write redis:// instead of rediss://; if its "
        "certificate comes from your own CA, add ?ssl_ca_certs=/path/ca.pem. "
    )


def redis_hint_auth() -> str:
    return "Check the user name and password in REDIS_URL (and the user's ACL). "


def redis_hint_sentinel() -> str:
    return (
        "Check that the Sentinels are up, that the master name is the one they monitor, and "
        "their password (?sentinel_password=) if they ask for one. "
    )


# --- files a person gave toilbot (bot.platform.files) ---


def file_missing() -> tuple[str, str]:
    return "file not found", "create it or point to another file"


def file_not_regular(kind: str) -> str:
    return f"is {kind}, not a file"


def file_fix_regular() -> str:
    return "point to a regular YAML file"


def file_link_loop() -> tuple[str, str]:
    return "is a loop of symbolic links", "point the link at the real file"


def file_not_permitted() -> tuple[str, str]:
    return "cannot be read (permission denied)", "make it readable by the user toilbot runs as"


def file_unreadable(reason: str) -> tuple[str, str]:
    return f"cannot be read ({reason})", "check that the file and its disk are readable"


def file_not_utf8(line: int, byte: int) -> tuple[str, str]:
    return (
        f"is not UTF-8 text (byte 0x{byte:02x} on line {line})",
        "save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE > FILE.new`)",
    )
