"""toilbot's Prometheus metrics: defined here, once, and rendered for `/metrics`.

Recorded where things happen (a job's end by an observer, a Slack call by the
client, an ack by the HTTP front end, leadership by the scheduler); what lives
in Redis (queue depth, outbox depth, workers, scheduler replicas) is read when
`/metrics` is scraped, so every endpoint shows the same figures.

Multiprocess mode (``prometheus_client.multiprocess``): `toilbot serve` (the
gunicorn master, before it forks), `toilbot run` and `toilbot worker` with a
metrics port each get a fresh directory ``<data dir>/metrics/<role>-<pid>``,
removed again when they exit; directories of processes that are gone are
removed at the next start. A worker's work horses run one at a time and each
continues the previous one's file (``<worker pid>-horse``), so a worker keeps
two files however many jobs it runs. prometheus_client is imported at the
first use, after the directory is chosen.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis

from bot.platform.store import QUEUE, Keys

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram
    from prometheus_client.metrics_core import Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SHARED_ENV = "TOILBOT_METRICS_SHARED"  # set by `toilbot run` for its `serve` child
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JOB_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))
WAIT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, float("inf"))
ACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, float("inf"))
WORKER_SEEN = 15  # seconds: a worker whose heartbeat is older does not count
_owner: int | None = None  # the process whose forked children write one shared file in turn


@dataclass(frozen=True)
class MetricsSettings:
    """`metrics:` in toilbot.yaml: where workers, the scheduler and `run` serve /metrics."""

    port: int | None = None  # None: no metrics port (`serve` has /metrics on its own port)
    host: str = "0.0.0.0"  # noqa: S104 - scraped from other machines


@dataclass(frozen=True)
class Metrics:
    jobs: Counter  # command (the spec's name), outcome (final status)
    job_seconds: Histogram  # command: started -> finished
    queue_wait_seconds: Histogram  # command: queued -> started
    ack_seconds: Histogram  # kind: Slack request kind, answered by the HTTP front end
    slack_calls: Counter  # method, error ("ok" when Slack took it)
    scheduler_leader: Gauge  # 1 while this process's scheduler leads


@functools.cache
def metrics() -> Metrics:
    """The metric objects of this process, made at the first use (and again after
    ``multiprocess``: a Slack call at start-up may come first). Kept out of prometheus_client's
    default registry: ``render`` shows them."""
    from prometheus_client import Counter, Gauge, Histogram, values

    if os.environ.get(MULTIPROC_ENV):
        values.ValueClass = values.MultiProcessValue(_identity)  # type: ignore[no-untyped-call]
        os.register_at_fork(after_in_child=functools.partial(_fresh_lock, values.ValueClass))
    return Metrics(
        jobs=Counter(
            "toilbot_jobs",
            "Jobs that ended, by command and outcome",
            ["command", "outcome"],
            registry=None,
        ),
        job_seconds=Histogram(
            "toilbot_job_duration_seconds",
            "Running time of jobs",
            ["command"],
            buckets=JOB_BUCKETS,
            registry=None,
        ),
        queue_wait_seconds=Histogram(
            "toilbot_job_queue_wait_seconds",
            "Time jobs waited in the queue for a worker",
            ["command"],
            buckets=WAIT_BUCKETS,
            registry=None,
        ),
        ack_seconds=Histogram(
            "toilbot_slack_ack_seconds",
            "Time to answer a Slack request (the ack), by kind",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=None,
        ),
        slack_calls=Counter(
            "toilbot_slack_api_calls",
            "Slack Web API calls by method and error",
            ["method", "error"],
            registry=None,
        ),
        scheduler_leader=Gauge(
            "toilbot_scheduler_leader",
            "1 while this process's scheduler leads",
            multiprocess_mode="livesum",
            registry=None,
        ),
    )


def _identity() -> str:
    """The file name part of this process: its pid, or the shared one of a worker's horses."""
    pid = os.getpid()
    if _owner is not None and pid != _owner:
        return f"{_owner}-horse"
    return str(pid)


def _fresh_lock(value_class: Any) -> None:
    """After a fork: prometheus_client's lock may have been held by another thread of the
    parent (a Slack call from a sweep), and no thread of the child would ever release it."""
    inc = value_class.inc
    for name, cell in zip(inc.__code__.co_freevars, inc.__closure__ or (), strict=False):
        if name == "lock":
            cell.cell_contents = threading.Lock()


# --- the directory ------------------------------------------------------------


def multiprocess(data_dir: Path, role: str, *, horses: bool = False) -> Path:
    """Multiprocess mode for this process and its children; returns the directory.

    ``horses``: children forked by this process run one at a time (an RQ worker's work
    horses) and share one file. A `serve` started by `toilbot run` uses its parent's.
    """
    global _owner
    given = os.environ.get(MULTIPROC_ENV)
    if given and os.environ.get(SHARED_ENV) == given:
        return Path(given)
    base = data_dir / "metrics"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in base.iterdir():  # left by processes killed before they could remove them
        _, _, pid = old.name.rpartition("-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    directory = base / f"{role}-{os.getpid()}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700)
    os.environ[MULTIPROC_ENV] = str(directory)
    metrics.cache_clear()  # made before (in memory)? Made again, into the directory
    if horses:
        _owner = os.getpid()
    atexit.register(_remove, directory, os.getpid())
    return directory


def _remove(directory: Path, owner: int) -> None:
    if os.getpid() == owner:  # not in forked children (gunicorn workers, horses)
        shutil.rmtree(directory, ignore_errors=True)


def child_env() -> dict[str, str]:
    """The environment of a child that writes into this process's directory."""
    env = dict(os.environ)
    if env.get(MULTIPROC_ENV):
        env[SHARED_ENV] = env[MULTIPROC_ENV]
    return env


def worker_gone(pid: int) -> None:
    """A gunicorn worker exited: its live gauges leave the sum."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# --- rendering ----------------------------------------------------------------


def render(r: redis.Redis | None) -> bytes:
    """The text exposition: this process's (or all processes') metrics, then Redis's."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess as mp

        metrics()  # this process's files exist: every family shows, from zero
        mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        own = generate_latest(registry)
    else:
        for metric in vars(metrics()).values():
            registry.register(metric)
        own = generate_latest(REGISTRY) + generate_latest(registry)
    if r is None:
        return own
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(RedisCollector(r))
    return own + generate_latest(scraped)


class RedisCollector:
    """What Redis knows, read at each scrape in one round trip."""

    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def collect(self) -> Iterator[Metric]:
        import time

        from prometheus_client.core import GaugeMetricFamily

        now = time.time()
        up = GaugeMetricFamily("toilbot_redis_up", "1 if Redis answered this scrape")
        try:
            pipe = self.r.pipeline(transaction=False)
            pipe.llen(f"rq:queue:{QUEUE}")
            pipe.scard(Keys.running)
            pipe.zcard(Keys.slack_outbox)
            pipe.zcount(Keys.workers, now - WORKER_SEEN, "+inf")
            pipe.exists(Keys.scheduler_leader)
            pipe.zcount(Keys.scheduler_replicas, now - WORKER_SEEN, "+inf")
            depth, in_flight, outbox, workers, leader, replicas = pipe.execute()
        except (redis.RedisError, OSError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, doc, value in (
            ("toilbot_queue_depth", "Jobs waiting in the worker queue", depth),
            ("toilbot_jobs_in_flight", "Jobs queued or running", in_flight),
            ("toilbot_slack_outbox_depth", "Slack deliveries waiting in the outbox", outbox),
            ("toilbot_workers", "Workers with a recent heartbeat", workers),
            ("toilbot_scheduler_has_leader", "1 if a scheduler replica leads", leader),
            ("toilbot_scheduler_replicas", "Scheduler replicas with a recent heartbeat", replicas),
        ):
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], float(value))
            yield family


def set_leader(is_leader: bool) -> None:
    metrics().scheduler_leader.set(1 if is_leader else 0)
