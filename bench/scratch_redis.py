"""A throwaway redis-server for one benchmark run: a Unix socket in a temp folder, no
persistence, nothing on the network. The binary is the one toilbot embeds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from bot.platform.store import redis_server_binary


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the server under ``directory``; returns the process and its socket, once it
    answers PING (the process is killed if it does not within 10 s)."""
    sock = directory / "redis.sock"
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(sock))
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return proc, sock
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
        finally:
            client.close()
