"""The stand a fault is injected into: every part real, every figure measured from outside.

A Redis server of its own (append-only file on, so it can be SIGKILLed and restarted with
what it acknowledged), the local Slack, `toilbot serve` and `toilbot worker` processes,
and four local hosts whose `probe` change logs its own start and end. What the stand
counts at the end (``Stand.tally``) is what a person would find afterwards:
jobs acknowledged in Slack whose record is missing or never ended, job messages that never
got their final state or came twice, changes that overlapped on one host (from the hosts'
own logs), processes of ended jobs still alive, and toilbot's secrets in a playbook's
environment or on disk.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from bot.execution import proctree
from tests.conftest import ADMIN, OPERATOR, start_toilbot, stop_toilbot, wait_for, write_config
from tests.slack import SlackEmulator
from tests.slack.chat import SlackChat
from tests.slack.signing import DEFAULT_SIGNING_SECRET
from tests.slack_fixtures import free_port, listening

HOSTS = ("web-01", "web-02", "db-01", "localhost")
AUDIT_KEY = "fault-suite-audit-key-0123456789abcdef"
FINAL_WORDS = ("succeeded", "failed", "cancelled", "canceled", "timed out")


class RedisServer:
    """redis-server on a Unix socket with AOF (appendfsync always): killed and restarted."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sock = directory / "redis.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.sock}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", "0", "--unixsocket", str(self.sock), "--save", ""),
                *("--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(unix_socket_path=str(self.sock))
        wait_for(lambda: _pings(client), 15, "redis-server to answer")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@dataclass
class Tally:
    """What one scenario left behind; every column but ``jobs`` should be zero."""

    scenario: str
    faults: int = 0
    jobs: int = 0
    lost: int = 0
    final_missing: int = 0
    duplicated: int = 0
    overlaps: int = 0
    alive: int = 0
    secrets: int = 0
    unanswered: int = 0  # commands Slack would have shown as failed
    tracebacks: int = 0  # in what toilbot's processes printed: a fault is a log line
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (
            not any((self.lost, self.final_missing, self.duplicated, self.overlaps, self.alive))
            and not self.secrets
        )


class Stand:
    """One scenario's world; use as a context manager."""

    def __init__(self, name: str, *, workers: int = 1, lease: int = 10) -> None:
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix=f"toilbot-faults-{name}-"))
        self.redis = RedisServer(self.root)
        self.workers_wanted = workers
        self.lease = lease
        self.slack: SlackEmulator | None = None
        self.chat: SlackChat | None = None
        self.serve: subprocess.Popen[str] | None = None
        self.workers: list[subprocess.Popen[str]] = []
        self.schedulers: list[subprocess.Popen[str]] = []
        self.acknowledged: set[int] = set()
        self.refused: list[str] = []
        self.tally = Tally(name)
        self.logs: list[str] = []

    # --- the parts -----------------------------------------------------------------

    def __enter__(self) -> Stand:
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)  # nothing of a half-started stand stays running
            raise

    def _start(self) -> Stand:
        self.redis.start()
        config = write_config(
            self.root,
            jobs={"lease_seconds": self.lease, "forks": 5},
            scheduler={"lease_seconds": 3},
        )
        self.markers = self.root / "markers"
        self.slack = SlackEmulator().__enter__()
        for user in (ADMIN, OPERATOR):
            self.slack.add_user(user)
        self.env = {
            k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")
        }
        self.env.update(
            REDIS_URL=self.redis.url,
            TOILBOT_CONFIG=str(config),
            TOILBOT_DATA_DIR=str(self.root / "data"),
            TOILBOT_AUDIT_KEY=AUDIT_KEY,
            SLACK_BOT_TOKEN=self.slack.bot_token,
            SLACK_APP_TOKEN=self.slack.app_token,
            SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET,
            SLACK_API_URL=self.slack.base_url,
        )
        self.secrets = (self.slack.bot_token, DEFAULT_SIGNING_SECRET, AUDIT_KEY)
        port = free_port()
        self.serve = start_toilbot(
            self.env, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"
        )
        wait_for(lambda: listening(port) or self.serve.poll() is not None, 30, "serve")
        self.chat = SlackChat(self.slack, f"http://127.0.0.1:{port}/slack/events").__enter__()
        for _ in range(self.workers_wanted):
            self.add_worker()
        self.chat.ops("help", as_=ADMIN)  # the server's worker has booted
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop_processes()
        finally:
            self._stop_parts()

    def _stop_processes(self) -> None:
        for proc in [*self.workers, *self.schedulers, self.serve]:
            if proc is None:
                continue
            try:
                self.logs.append(stop_toilbot(proc, signal.SIGTERM))
            finally:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)  # whatever of it is left
        for output in self.logs:
            found = output.count("Traceback (most recent call last)")
            self.tally.tracebacks += found
            if found:
                start = output.index("Traceback (most recent call last)")
                self.tally.notes.append("traceback: " + output[start : start + 1500])

    def _stop_parts(self) -> None:
        if self.chat is not None:
            self.chat.__exit__(None, None, None)
        if self.slack is not None:
            self.slack.__exit__(None, None, None)
        self.redis.stop()
        if not os.environ.get("TOILBOT_FAULTS_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    def retire(self, worker: subprocess.Popen[str]) -> None:
        """A worker killed by the scenario: what it printed counts too."""
        self.workers.remove(worker)
        self.logs.append(stop_toilbot(worker, signal.SIGKILL))

    def add_scheduler(self) -> subprocess.Popen[str]:
        proc = start_toilbot(self.env, "scheduler")
        self.schedulers.append(proc)
        return proc

    def scheduled(self, name: str) -> dict[int, int]:
        """Job id -> fire time of every job schedule ``name`` started."""
        found = {}
        for key in self.r.scan_iter("toilbot:job:*"):
            parts = key.decode().split(":")
            if len(parts) == 3 and parts[2].isdigit():
                schedule, fire = self.r.hmget(key, "schedule", "fire_time")
                if schedule and schedule.decode() == name and fire:
                    found[int(parts[2])] = int(fire)
        return found

    def add_worker(self) -> subprocess.Popen[str]:
        proc = start_toilbot(self.env, "worker")
        self.workers.append(proc)
        return proc

    @property
    def r(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.redis.sock))

    # --- what people do ----------------------------------------------------------------

    def change(self, host: str, seconds: int = 6) -> int | None:
        """`/ops probe <host>` from Slack; the job id if it was acknowledged."""
        assert self.chat is not None
        try:
            answer = self.chat.ops(f"probe {host} --seconds {seconds}", as_=ADMIN).text
        except httpx.HTTPError as exc:  # Slack would show "failed with the error ..."
            self.tally.unanswered += 1
            self.tally.notes.append(f"`probe {host}` got no answer ({exc!r})")
            return None
        found = re.search(r"Job (\d+) queued", answer)
        if found is None:
            self.refused.append(answer)
            return None
        self.acknowledged.add(int(found.group(1)))
        return int(found.group(1))

    def started(self, job_id: int, timeout: float = 60) -> None:
        """Wait until the job's change has started on its host."""
        wait_for(lambda: any(s[0] == job_id for s in self._starts()), timeout, f"job {job_id}")

    def running_horse(self, job_id: int) -> int:
        worker = self.r.hget(f"toilbot:job:{job_id}", "worker")
        assert worker, f"job {job_id} has no worker yet"
        return int(worker.decode().rsplit(":", 1)[1])

    # --- what is left ----------------------------------------------------------------

    def settle(self, timeout: float = 120) -> Tally:
        """Wait for every acknowledged job to end (and its message), then count."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._all_final():
            time.sleep(0.5)
        time.sleep(2)  # late duplicates would arrive now
        self._count()
        return self.tally

    def _status(self, job_id: int) -> str | None:
        try:
            raw = self.r.hget(f"toilbot:job:{job_id}", "status")
        except redis.RedisError:
            return None
        return raw.decode() if raw else None

    def _job_messages(self, job_id: int) -> list[Any]:
        assert self.slack is not None
        pattern = re.compile(rf"\bJob {job_id}\b")
        return [
            m
            for m in self.slack.messages()
            if m.thread_ts in (None, m.ts) and pattern.search(m.text or "")
        ]

    def _final(self, message: Any) -> bool:
        text = (message.text or "").lower()
        cancel = any(b.get("type") == "actions" for b in message.blocks or [])
        return any(w in text for w in FINAL_WORDS) and not cancel

    def _all_final(self) -> bool:
        for job_id in self.acknowledged:
            status = self._status(job_id)
            if status in (None, "queued", "running"):
                return False
            if not any(self._final(m) for m in self._job_messages(job_id)):
                return False
        return True

    def _starts(self) -> list[tuple[int, str, float, float | None, str]]:
        """(job, host, start, end or None, mark) from the hosts' own logs."""
        spans: list[tuple[int, str, float, float | None, str]] = []
        for log in self.markers.glob("*.log"):
            opened: dict[str, float] = {}
            ended: dict[str, float] = {}
            for line in log.read_text().splitlines():
                kind, mark, moment = line.split()
                (opened if kind == "start" else ended)[mark] = float(moment)
            for mark, start in opened.items():
                job = int(mark.split("@")[0]) if "@" in mark else -1
                spans.append((job, log.stem, start, ended.get(mark), mark))
        return spans

    def _count(self) -> None:
        t = self.tally
        t.jobs = len(self.acknowledged)
        for job_id in sorted(self.acknowledged):
            status = self._status(job_id)
            if status in (None, "queued", "running"):
                t.lost += 1
                t.notes.append(f"job {job_id} is {status or 'missing'}")
            messages = self._job_messages(job_id)
            if not any(self._final(m) for m in messages):
                t.final_missing += 1
                t.notes.append(f"job {job_id}: no final message ({[m.text for m in messages]})")
            if len(messages) > 1:
                t.duplicated += len(messages) - 1
                t.notes.append(f"job {job_id}: {len(messages)} messages")
        spans = self._starts()
        for host in HOSTS:
            mine = sorted((s for s in spans if s[1] == host), key=lambda s: s[2])
            for i, before in enumerate(mine):
                end = before[3] if before[3] is not None else self._finished_at(before[0])
                for after in mine[i + 1 :]:
                    if end is not None and end > after[2]:
                        t.overlaps += 1
                        t.notes.append(f"{host}: job {after[0]} began before job {before[0]} ended")
        for _job, _host, _start, _end, mark in spans:
            alive = proctree.marked(mark)
            t.alive += len(alive)
        for dump in self.markers.glob("*.env.*"):
            content = dump.read_text(errors="replace")
            t.secrets += sum(secret in content for secret in self.secrets)
        t.secrets += self._secrets_on_disk()

    def _finished_at(self, job_id: int) -> float | None:
        with contextlib.suppress(redis.RedisError, TypeError, ValueError):
            raw = self.r.hget(f"toilbot:job:{job_id}", "finished_at")
            return float(raw) if raw else None
        return None

    def _secrets_on_disk(self) -> int:
        """toilbot's data directory and Redis's own files (what toilbot wrote to Redis)."""
        found = 0
        for path in self.root.rglob("*"):
            if path.suffix == ".sock" or path.is_relative_to(self.markers):
                continue
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 10_000_000:
                content = path.read_bytes()
                found += sum(s.encode() in content for s in self.secrets)
        return found
