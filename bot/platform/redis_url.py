"""REDIS_URL: its forms, validated once, and the one place a Redis client is built from it.

    redis://[user:password@]host[:port][/db]
    rediss://[user:password@]host[:port][/db][?ssl_ca_certs=ca.pem&ssl_certfile=..&ssl_keyfile=..]
    unix:///path/to/redis.sock[?db=N]
    redis+sentinel://[user:password@]host1[:port],host2[:port]/master-name[/db]
        [?sentinel_username=..&sentinel_password=..]  (when the Sentinels need a login)
    rediss+sentinel://...  the same over TLS to the Sentinels and the nodes, with rediss's options

A bad URL is a ``ConfigError`` naming REDIS_URL and the fix; the password never appears in
a message or a log line (``mask``). ``open_client`` builds every client toilbot uses:
the TLS handshake is bounded by the connect timeout (a ``rediss://`` URL pointed at a plain
port fails in seconds, not after the read timeout), and a Sentinel client keeps retrying
while the Sentinels promote a replica, then follows the new master.
"""

from __future__ import annotations

import re
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import redis
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.connection import Connection, SSLConnection
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from bot.platform import text
from bot.platform.errors import ConfigError

Kind = Literal["tcp", "tls", "unix", "sentinel", "tls-sentinel"]
SCHEMES: dict[str, Kind] = {
    "redis": "tcp",
    "rediss": "tls",
    "unix": "unix",
    "redis+sentinel": "sentinel",
    "rediss+sentinel": "tls-sentinel",  # TLS to the Sentinels and to the nodes
}
TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
TLS_OPTIONS = (*TLS_FILES, "ssl_cert_reqs", "ssl_check_hostname")
SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")  # when the Sentinels need a login
OPTIONS = (*TLS_OPTIONS, *SENTINEL_OPTIONS, "db")
SENTINEL_KINDS = ("sentinel", "tls-sentinel")
TLS_KINDS = ("tls", "tls-sentinel")
CERT_REQS = ("required", "optional", "none")

CONNECT_TIMEOUT = 5.0  # TCP connect, and the TLS handshake after it
READ_TIMEOUT = 30.0  # one command's answer
# While Sentinels promote a replica (down-after-milliseconds, then the election) every
# command waits and retries: about 30 s of attempts, each at most 1 s apart.
FAILOVER_RETRIES = 40
RETRIES = 10  # redis-py's default for a single server: about 5 s of attempts

_PASSWORD_OPTION = re.compile(r"([?&]sentinel_password=)[^&#]*")
_HOST = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::(?P<port>[^:]*))?$")


@dataclass(frozen=True)
class RedisAddress:
    """Where Redis is and how to log in, from a validated REDIS_URL."""

    kind: Kind
    masked: str  # the URL with its password replaced by ***
    hosts: tuple[tuple[str, int], ...] = ()  # one host, or the Sentinels
    path: str = ""  # unix socket
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    service: str = ""  # the master's name the Sentinels know
    sentinel_login: dict[str, str] = field(default_factory=dict, repr=False)
    tls: dict[str, str | bool] = field(default_factory=dict)  # redis-py's ssl_* arguments


def mask(url: str) -> str:
    """The URL with its passwords (before @, and ``sentinel_password=``) replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:end], _PASSWORD_OPTION.sub(r"\1***", rest[end:])
    if "@" not in netloc:
        return f"{scheme}://{netloc}{tail}"
    userinfo, host = netloc.rsplit("@", 1)
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user + ':***' if colon else '***'}@{host}{tail}"


def parse_redis_url(url: str) -> RedisAddress:
    """Validate REDIS_URL; a fault raises ConfigError with the fix, the password masked."""
    masked = mask(url)

    def fault(problem: str, fix: str) -> ConfigError:
        return ConfigError("environment", "REDIS_URL", f"{masked!r} {problem}", fix)

    scheme, sep, _ = url.partition("://")
    kind = SCHEMES.get(scheme.lower()) if sep else None
    if kind is None:
        raise fault(*text.redis_url_scheme(scheme if sep else ""))
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise fault(f"cannot be read ({exc})", text.redis_url_forms()) from None
    netloc = parts.netloc
    userinfo, at, hostpart = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        if not colon:
            raise fault(*text.redis_url_credentials())
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) or None
    query = _query(parts.query, fault)
    tls = _tls_options(kind, query, fault)
    common: dict[str, Any] = dict(
        kind=kind, masked=masked, username=username, password=password, tls=tls
    )
    login = {
        name.removeprefix("sentinel_"): query.pop(name)
        for name in SENTINEL_OPTIONS
        if name in query
    }
    if login and kind not in SENTINEL_KINDS:
        raise fault(*text.redis_url_sentinel_option(sorted(login)))
    if kind == "unix":
        if hostpart or not parts.path or parts.path == "/":
            raise fault(*text.redis_url_unix())
        return RedisAddress(path=parts.path, db=_db(query.pop("db", "0"), fault), **common)
    if "db" in query:
        raise fault(*text.redis_url_db_option())
    if kind in SENTINEL_KINDS:
        hosts = tuple(_host(h, 26379, fault) for h in hostpart.split(","))
        service, _, db = parts.path.lstrip("/").partition("/")
        if not service:
            raise fault(*text.redis_url_service())
        return RedisAddress(
            hosts=hosts, service=service, db=_db(db or "0", fault), sentinel_login=login, **common
        )
    if "," in hostpart:
        raise fault(*text.redis_url_many_hosts())
    host = _host(hostpart, 6379, fault)
    return RedisAddress(hosts=(host,), db=_db(parts.path.lstrip("/") or "0", fault), **common)


def _query(raw: str, fault: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(raw, keep_blank_values=True):
        if name not in OPTIONS:
            raise fault(*text.redis_url_option(name, OPTIONS))
        found[name] = value
    return found


def _host(spec: str, default_port: int, fault: Any) -> tuple[str, int]:
    match = _HOST.match(spec)
    if not match:
        raise fault(*text.redis_url_host(spec))
    port = match["port"]
    if port is None or port == "":
        return match["host"].strip("[]"), default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise fault(*text.redis_url_port(port))
    return match["host"].strip("[]"), int(port)


def _db(value: str, fault: Any) -> int:
    if not value.isdigit() or int(value) > 1_000_000:
        raise fault(*text.redis_url_db(value))
    return int(value)


def _tls_options(kind: Kind, query: dict[str, str], fault: Any) -> dict[str, str | bool]:
    given = {name: query.pop(name) for name in TLS_OPTIONS if name in query}
    if given and kind not in TLS_KINDS:
        raise fault(*text.redis_url_tls_needs_rediss(sorted(given)))
    options: dict[str, str | bool] = {}
    for name in TLS_FILES:
        if name in given:
            path = Path(given[name]).expanduser()
            if not path.is_file():
                raise fault(*text.redis_url_tls_file(name, str(path)))
            options[name] = str(path)
    reqs = given.get("ssl_cert_reqs", "required")
    if reqs not in CERT_REQS:
        raise fault(*text.redis_url_choice("ssl_cert_reqs", reqs, CERT_REQS))
    if "ssl_cert_reqs" in given:
        options["ssl_cert_reqs"] = reqs
    check = given.get("ssl_check_hostname", "true").lower()
    if check not in ("true", "false", "yes", "no", "1", "0"):
        raise fault(*text.redis_url_choice("ssl_check_hostname", check, ("true", "false")))
    if "ssl_check_hostname" in given:
        options["ssl_check_hostname"] = check in ("true", "yes", "1")
    try:
        context = ssl.create_default_context()
        if "ssl_ca_certs" in options:
            context.load_verify_locations(cafile=str(options["ssl_ca_certs"]))
        if "ssl_certfile" in options:
            keyfile = options.get("ssl_keyfile")
            context.load_cert_chain(  # an encrypted key is refused here, never prompted for
                str(options["ssl_certfile"]), str(keyfile) if keyfile else None, password=b""
            )
        elif "ssl_keyfile" in options:
            raise fault(*text.redis_url_tls_key_alone())
    except (ssl.SSLError, OSError) as exc:
        raise fault(*text.redis_url_tls_unreadable(str(exc))) from None
    return options


class TLSHandshakeError(redis.ConnectionError):
    """The TCP connection opened but no TLS session came of it."""


class BoundedTLSConnection(SSLConnection):
    """An SSL connection whose handshake has the connect timeout, not the read timeout.

    redis-py wraps the socket after setting the read timeout (30 s): a rediss:// URL
    pointed at a plain Redis waits that long, once per retry, for a handshake answer
    that never comes.
    """

    def _connect(self) -> socket.socket:
        sock: socket.socket = Connection._connect(self)  # type: ignore[no-untyped-call]
        sock.settimeout(self.socket_connect_timeout)
        try:
            wrapped: socket.socket = self._wrap_socket_with_ssl(sock)  # type: ignore[no-untyped-call]
        except (OSError, redis.RedisError) as exc:
            sock.close()
            reason = "no answer in time" if isinstance(exc, socket.timeout) else str(exc)
            raise TLSHandshakeError(
                text.redis_tls_handshake(f"{self.host}:{self.port}", reason)
            ) from None
        wrapped.settimeout(self.socket_timeout)
        return wrapped


class FollowingSentinelConnection(SentinelManagedConnection):
    """A Sentinel-managed connection that asks the Sentinels for the master at every connect.

    redis-py 8 (redis/redis-py#3874) reconnects inside a command's retries without asking
    them: after a failover every retry went back to the dead master's address until the
    retries ran out. Here each attempt of the command's retry asks again (and makes one
    socket attempt), so the command lands on the promoted replica as soon as it is announced.
    """

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        connected = getattr(self, "_sock", None) is not None  # typed None-only in redis-py
        if not connected and self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(check_health=check_health, retry_socket_connect=False)


class FollowingSentinelTLSConnection(FollowingSentinelConnection, BoundedTLSConnection):
    """The same over TLS, with the handshake bounded by the connect timeout."""


def open_client(
    address: RedisAddress, *, retry: bool = True, client_name: str | None = None
) -> redis.Redis:
    """A client for ``address``; ``retry=False`` for one-shot probes (no waiting at all)."""
    kwargs: dict[str, Any] = dict(
        db=address.db,
        username=address.username,
        password=address.password,
        socket_timeout=READ_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        health_check_interval=30,
        client_name=client_name,
    )
    failover = address.kind in SENTINEL_KINDS
    attempts = (FAILOVER_RETRIES if failover else RETRIES) if retry else 0
    kwargs["retry"] = Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), attempts)
    if address.kind == "unix":
        return redis.Redis(unix_socket_path=address.path, **kwargs)
    if failover:
        tls: dict[str, Any] = dict(address.tls)
        if address.kind == "tls-sentinel":
            tls["ssl"] = True
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(address.hosts),
            sentinel_kwargs={
                "socket_timeout": CONNECT_TIMEOUT,
                "socket_connect_timeout": CONNECT_TIMEOUT,
                "retry": Retry(NoBackoff(), 0),  # the next Sentinel is asked instead
                **address.sentinel_login,
                **tls,
            },
        )
        kwargs.update(address.tls)
        kwargs["connection_class"] = (
            FollowingSentinelTLSConnection if tls else FollowingSentinelConnection
        )
        client: redis.Redis = sentinel.master_for(address.service, **kwargs)  # type: ignore[no-untyped-call]
        return client
    host, port = address.hosts[0]
    if address.kind == "tcp":
        return redis.Redis(host=host, port=port, **kwargs)
    kwargs.update(address.tls)
    pool = redis.ConnectionPool(
        connection_class=BoundedTLSConnection, host=host, port=port, **kwargs
    )
    return redis.Redis(connection_pool=pool)
