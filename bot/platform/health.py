"""`/healthz`, `/readyz` and `/metrics`: on the Slack HTTP server and on a metrics port.

    /healthz   200 while the process answers; nothing else is asked
    /readyz    200 when Redis answers and at least one `toilbot worker` sent a
               heartbeat in the last WORKER_SEEN seconds; else 503. The body
               says which (JSON).
    /metrics   Prometheus text (``bot.platform.metrics.render``)

None of them needs a Slack signature: ``HealthRoutes`` answers them before the
Slack gate. A worker, the scheduler and `toilbot run` can serve them on their
own port (``serve_side``, `metrics.port` in toilbot.yaml or TOILBOT_METRICS_PORT),
on the standard library's threaded HTTP server in a daemon thread.

Workers beat (``Heartbeat``): ZADD of host:pid -> now every few seconds into
``Keys.workers``, removed when the worker stops; /readyz is one ZCOUNT.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import redis

from bot.platform import metrics
from bot.platform.metrics import WORKER_SEEN
from bot.platform.store import Keys

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
PATHS = ("/healthz", "/readyz", "/metrics")
BEAT_EVERY = 5.0  # seconds between a worker's heartbeats (WORKER_SEEN allows missing two)
Answer = tuple[str, str, bytes]  # status line, content type, body


def ready(r: redis.Redis) -> tuple[bool, dict[str, object]]:
    """Redis answers and a worker beat recently; the details for the body."""
    try:
        workers = int(r.zcount(Keys.workers, time.time() - WORKER_SEEN, "+inf"))
    except (redis.RedisError, OSError) as exc:
        return False, {"redis": f"unreachable: {exc}", "workers": None}
    return workers > 0, {"redis": "ok", "workers": workers}


def answer(path: str, r: redis.Redis) -> Answer:
    if path == "/healthz":
        return "200 OK", "text/plain; charset=utf-8", b"ok\n"
    if path == "/readyz":
        ok, details = ready(r)
        body = json.dumps({"ready": ok, **details}).encode() + b"\n"
        return ("200 OK" if ok else "503 Service Unavailable"), "application/json", body
    return "200 OK", metrics.CONTENT_TYPE, metrics.render(r)


class HealthRoutes:
    """WSGI middleware: GET/HEAD of the three paths answered here, all else passed on."""

    def __init__(self, app: WSGIApplication, r: redis.Redis) -> None:
        self.app, self.r = app, r

    def __call__(self, environ: WSGIEnvironment, start: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in PATHS or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.app(environ, start)
        status, content_type, body = answer(path, self.r)
        start(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def serve_side(host: str, port: int, r: redis.Redis) -> ThreadingHTTPServer:
    """The three paths on ``host:port`` in a daemon thread (workers, scheduler, run)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path not in PATHS:
                status, content_type, body = "404 Not Found", "text/plain", b"not found\n"
            else:
                status, content_type, body = answer(path, r)
            self.send_response(int(status.split()[0]), status.partition(" ")[2])
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="toilbot-metrics", daemon=True).start()
    return server


class Heartbeat:
    """A worker's "I am here" for /readyz, in its own thread (a slow sweep cannot delay it)."""

    def __init__(self, r: redis.Redis, every: float = BEAT_EVERY) -> None:
        self.r, self.every = r, every
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.stopped = threading.Event()

    def start(self) -> None:
        self.beat()  # ready from the first moment, not after the first interval
        threading.Thread(target=self._loop, name="toilbot-heartbeat", daemon=True).start()

    def beat(self, clock: Callable[[], float] = time.time) -> None:
        now = clock()
        pipe = self.r.pipeline(transaction=False)
        pipe.zadd(Keys.workers, {self.identity: now})
        pipe.zremrangebyscore(Keys.workers, 0, now - 10 * WORKER_SEEN)
        pipe.execute()

    def stop(self) -> None:
        self.stopped.set()
        with contextlib.suppress(redis.RedisError, OSError):
            self.r.zrem(Keys.workers, self.identity)

    def _loop(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.beat()
            except (redis.RedisError, OSError) as exc:
                log.warning("worker heartbeat not written: %s", exc)
