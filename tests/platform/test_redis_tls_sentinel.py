"""rediss+sentinel://: TLS-only master, replica and Sentinel on loopback, and a failover."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis

from bot.platform.errors import StoreError
from bot.platform.store import connect
from tests.conftest import wait_for
from tests.platform.redis_servers import Certificates, Servers, free_port, wait_until_up

SERVICE = "mymaster"


def tls_probe(port: int, certs: Certificates) -> redis.Redis:
    return redis.Redis(
        host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(certs.ca), socket_timeout=2
    )


def tls(port: int, certs: Certificates) -> list[str]:
    return [
        "--port", "0", "--tls-port", str(port), "--tls-replication", "yes",
        "--tls-cert-file", str(certs.server_cert), "--tls-key-file", str(certs.server_key),
        "--tls-ca-cert-file", str(certs.ca), "--tls-auth-clients", "no",
    ]  # fmt: skip


def start(servers: Servers, certs: Certificates) -> tuple[int, int, int]:
    master, replica, sentinel = free_port(), free_port(), free_port()
    servers.start("master", *tls(master, certs), "--repl-diskless-sync-delay", "0")
    servers.start("replica", *tls(replica, certs), "--replicaof", "127.0.0.1", str(master))
    wait_until_up(tls_probe(master, certs), "the master")
    wait_until_up(tls_probe(replica, certs), "the replica")
    wait_for(
        lambda: tls_probe(replica, certs).info("replication").get("master_link_status") == "up",
        10,
        "the replica to sync",
    )
    servers.start(
        "sentinel",
        "--sentinel",
        config=(
            "port 0\n"
            f"tls-port {sentinel}\n"
            "tls-replication yes\n"
            f"tls-cert-file {certs.server_cert}\n"
            f"tls-key-file {certs.server_key}\n"
            f"tls-ca-cert-file {certs.ca}\n"
            "tls-auth-clients no\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {master} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 500\n"
            f"sentinel failover-timeout {SERVICE} 3000\n"
        ),
    )
    ask = tls_probe(sentinel, certs)
    wait_until_up(ask, "the Sentinel")
    wait_for(
        lambda: any(
            r["port"] == replica and r["is_slave"] and not r["is_sdown"]
            for r in ask.sentinel_slaves(SERVICE)
        ),
        15,
        "the Sentinel to know the replica",
    )
    return master, replica, sentinel


def test_tls_sentinel_finds_the_master_and_follows_a_failover(servers, certs, tmp_path: Path):
    """rediss+sentinel:// with ssl_ca_certs: TLS to the Sentinel and to the master; the master
    SIGKILLed, the same client writes to the promoted replica."""
    master, replica, sentinel = start(servers, certs)
    url = f"rediss+sentinel://127.0.0.1:{sentinel}/{SERVICE}/0?ssl_ca_certs={certs.ca}"
    store = connect(url, tmp_path)
    store.redis.set("before", "1")
    assert b"1" == tls_probe(master, certs).get("before")
    wait_for(lambda: tls_probe(replica, certs).get("before") == b"1", 5, "replication")
    servers.procs[0].send_signal(signal.SIGKILL)  # the master
    started = time.monotonic()
    store.redis.set("after", "2")  # waits through the failover, then lands on the replica
    assert time.monotonic() - started < 20
    assert b"2" == tls_probe(replica, certs).get("after")
    assert b"1" == store.redis.get("before")


def test_tls_sentinel_with_another_ca_fails_fast(servers, certs, tmp_path: Path):
    """The Sentinel's certificate from another CA: refused in seconds, the TLS fix named."""
    _, _, sentinel = start(servers, certs)
    url = f"rediss+sentinel://127.0.0.1:{sentinel}/{SERVICE}/0?ssl_ca_certs={certs.other_ca}"
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        connect(url, tmp_path)
    assert time.monotonic() - started < 6
    assert "master name is the one they monitor" in str(caught.value)
    assert "add ?ssl_ca_certs=/path/ca.pem" in str(caught.value)
