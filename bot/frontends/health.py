"""`toilbot health`: a container's healthcheck, exit 0 (healthy) or 1 (unhealthy), one line.

    --url URL     an HTTP GET of URL answers 200 (`toilbot serve`'s /healthz)
    --worker      a `toilbot worker` of this host is registered with RQ and alive: its
                  RQ worker key (which RQ lets expire when the worker stops sending
                  heartbeats: worker_ttl + 60 s idle, 90 s during a job) names this
                  host, the queue `toilbot`, and a process that exists here
    --scheduler   a `toilbot scheduler` of this host stepped within REPLICA_SEEN seconds
                  (its entry in ``Keys.scheduler_replicas``) and its process exists here

"Here" is this host's name and process table: in a container, the container's own, which
is what Docker's healthcheck (run inside the container) sees. Exit status 2 is reserved by
Docker, so every failure, a configuration error included, is 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
import urllib.error
import urllib.request
from typing import TextIO

import redis

from bot.config.settings import load_settings
from bot.frontends import text as frontend_text
from bot.platform.errors import ConfigError, StoreError
from bot.platform.store import QUEUE, Keys, connect, text
from bot.schedule.registry import REPLICA_SEEN

HEALTHY, UNHEALTHY = 0, 1
HTTP_TIMEOUT = 5.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("health", help="a healthcheck for containers: exit 0 healthy, 1 not")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--url", help="GET this URL; healthy on 200 (e.g. serve's /healthz)")
    what.add_argument("--worker", action="store_true", help="a worker of this host is alive")
    what.add_argument("--scheduler", action="store_true", help="a scheduler of this host steps")


def run_health(args: argparse.Namespace, out: TextIO) -> int:
    if args.url:
        ok, line = http_ok(args.url)
    else:
        try:
            settings = load_settings()
            store = connect(settings.redis_url, settings.data_dir)
        except (ConfigError, StoreError) as exc:
            out.write(frontend_text.health_line(False, str(exc)) + "\n")
            return UNHEALTHY
        check = worker_alive if args.worker else scheduler_alive
        try:
            ok, line = check(store.redis, socket.gethostname())
        except redis.RedisError as exc:
            ok, line = False, frontend_text.health_redis_error(str(exc))
    out.write(frontend_text.health_line(ok, line) + "\n")
    return HEALTHY if ok else UNHEALTHY


def http_ok(url: str) -> tuple[bool, str]:
    if not url.startswith(("http://", "https://")):
        return False, frontend_text.health_bad_url(url)
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - http(s) only, checked above
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, frontend_text.health_http_unreachable(url, str(reason))
    return status == 200, frontend_text.health_http_status(url, status)


def worker_alive(r: redis.Redis, hostname: str) -> tuple[bool, str]:
    """A live RQ worker of the toilbot queue whose host is ``hostname`` and process is here."""
    from rq import Queue, Worker

    workers = Worker.all(queue=Queue(QUEUE, connection=r))
    mine = [w for w in workers if w.hostname == hostname]
    alive = [w for w in mine if w.pid is not None and _process_exists(int(w.pid))]
    if alive:
        return True, frontend_text.health_worker_alive(len(alive), hostname)
    return False, frontend_text.health_worker_missing(hostname, len(workers))


def scheduler_alive(r: redis.Redis, hostname: str, now: float | None = None) -> tuple[bool, str]:
    """A scheduler replica ``<hostname>-<pid>-<id>`` seen within REPLICA_SEEN, pid here."""
    since = (time.time() if now is None else now) - REPLICA_SEEN
    seen = [text(m) for m in r.zrangebyscore(Keys.scheduler_replicas, since, "+inf")]
    alive = [
        replica
        for replica in seen
        if (parts := replica.rsplit("-", 2))[0] == hostname
        and len(parts) == 3
        and parts[1].isdigit()
        and _process_exists(int(parts[1]))
    ]
    if alive:
        return True, frontend_text.health_scheduler_alive(alive[0])
    return False, frontend_text.health_scheduler_missing(hostname, REPLICA_SEEN, len(seen))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True
