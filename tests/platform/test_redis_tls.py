"""REDIS_URL with TLS (rediss://) against a real TLS-only redis-server on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis

from bot.platform.errors import StoreError
from bot.platform.store import connect
from tests.conftest import toilbot_cli
from tests.platform.redis_servers import (
    Certificates,
    Servers,
    free_port,
    tls_args,
    wait_until_up,
)


def tls_server(servers: Servers, certs: Certificates, *, clients: str = "no") -> int:
    """A redis-server that listens only for TLS (no plain port)."""
    port = free_port()
    servers.start("tls", *tls_args(port, certs, clients=clients))
    probe = redis.Redis(
        host="127.0.0.1",
        port=port,
        ssl=True,
        ssl_ca_certs=str(certs.ca),
        ssl_certfile=str(certs.client_cert),
        ssl_keyfile=str(certs.client_key),
        socket_timeout=2,
    )
    wait_until_up(probe, "the TLS redis-server")
    return port


def test_rediss_with_a_ca_runs_a_real_job(servers, certs, env, tmp_path: Path):
    """rediss:// with ssl_ca_certs: toilbot connects over TLS and a job runs end to end."""
    port = tls_server(servers, certs)
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={certs.ca}"
    store = connect(url, tmp_path)
    store.redis.set("toilbot:test", "over TLS")
    assert b"over TLS" == store.redis.get("toilbot:test")
    assert f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={certs.ca} (from REDIS_URL)" == (
        store.description
    )
    proc = toilbot_cli({**env, "REDIS_URL": url}, "exec", "--json", "status localhost")
    assert 0 == proc.returncode, proc.stdout + proc.stderr
    assert "succeeded" == json.loads(proc.stdout)["job"]["status"]
    # The job's record is in the TLS server, database 0.
    assert store.redis.exists("toilbot:job:1")


def test_client_certificate_when_the_server_asks_for_one(servers, certs, tmp_path: Path):
    """tls-auth-clients yes: without a client certificate the handshake fails with the fix;
    with ssl_certfile and ssl_keyfile it connects."""
    port = tls_server(servers, certs, clients="yes")
    base = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={certs.ca}"
    with pytest.raises(StoreError, match=rf"cannot reach Redis at rediss://127.0.0.1:{port}/0"):
        connect(base, tmp_path)
    url = f"{base}&ssl_certfile={certs.client_cert}&ssl_keyfile={certs.client_key}"
    assert connect(url, tmp_path).redis.ping()


def test_a_certificate_from_another_ca_is_refused(servers, certs, tmp_path: Path):
    """The server's certificate is checked against ssl_ca_certs: another CA fails the handshake."""
    port = tls_server(servers, certs)
    with pytest.raises(StoreError) as caught:
        connect(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={certs.other_ca}", tmp_path)
    message = str(caught.value)
    assert f"the TLS handshake with 127.0.0.1:{port} failed" in message
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert "add ?ssl_ca_certs=/path/ca.pem" in message


def test_rediss_to_a_plain_server_fails_fast_with_the_fix(servers, env):
    """rediss:// pointed at a plain port: exit 3 within the 5 s connect timeout (not 30 s),
    one line saying to write redis://."""
    port = free_port()
    servers.start("plain", "--port", str(port))
    wait_until_up(redis.Redis(host="127.0.0.1", port=port), "the plain redis-server")
    started = time.monotonic()
    proc = toilbot_cli({**env, "REDIS_URL": f"rediss://127.0.0.1:{port}/0"}, "exec", "jobs")
    took = time.monotonic() - started
    assert 3 == proc.returncode
    assert took < 9, f"took {took:.1f}s"
    [line] = proc.stderr.strip().splitlines()
    assert f"cannot reach Redis at rediss://127.0.0.1:{port}/0: the TLS handshake" in line
    assert "write redis:// instead of rediss://" in line
    assert "Traceback" not in proc.stderr


def test_plain_redis_url_to_a_tls_port_fails_fast(servers, certs, tmp_path: Path):
    """redis:// pointed at a TLS-only port: a clear error in seconds."""
    port = tls_server(servers, certs)
    started = time.monotonic()
    with pytest.raises(StoreError, match=rf"cannot reach Redis at redis://127.0.0.1:{port}/0"):
        connect(f"redis://127.0.0.1:{port}/0", tmp_path)
    assert time.monotonic() - started < 6
