"""A running job's lease, kept alive by a thread of its own, and self-fencing when it is lost.

The job's own thread runs Ansible and may wait on anything (a slow Slack, DNS,
Redis); none of that may stop the lease from being renewed, or a live job is
declared dead and its hosts handed to another change. So the lease and the
host locks are renewed here, every third of the lease, in one Lua call that
also proves the job still holds them (its record still ``running``, every lock
still its own). It renews five times a lease, so one late renewal on a busy
machine is no reason to stop a job.

Fencing: if renewing fails (Redis unreachable, the job reaped, a lock lost) for
two thirds of the lease, or a renewal shows the job no longer holds what it ran with,
the job's processes are killed right here (``on_lost``), before the lease can run
out: the reaper only releases the locks once the lease has expired, which is
after this side has stopped. A second watchdog thread makes the decision on its
own clock, so a renewal stuck inside a Redis call cannot delay it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import cast

import redis

from bot.execution.records import JobStatus
from bot.platform.store import Keys

log = logging.getLogger(__name__)

# KEYS[1] the job record, KEYS[2] its lease, KEYS[3..] its host locks.
# ARGV[1] the lease holder, ARGV[2] the job id, ARGV[3] the lease in ms.
# Returns -1 when the job is no longer running, else how many of its locks it still holds.
_RENEW = f"""
if redis.call('HGET', KEYS[1], 'status') ~= '{JobStatus.RUNNING.value}' then return -1 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
local held = 0
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[2] then
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
    held = held + 1
  end
end
return held
"""


class Heartbeat:
    """Renews job ``job_id``'s lease and locks until ``stop``; calls ``on_lost`` once if lost."""

    def __init__(
        self,
        r: redis.Redis,
        job_id: int,
        holder: str,
        hosts: Sequence[str],
        lease_seconds: int,
        on_lost: Callable[[str], None],
    ) -> None:
        self.r = r
        self.job_id = job_id
        self.holder = holder
        self.hosts = tuple(hosts)
        self.lease = lease_seconds
        self.on_lost = on_lost
        self.lost: str | None = None  # why, once lost
        self._renew = r.register_script(_RENEW)
        self._last_ok = time.monotonic()
        self._stopped = threading.Event()
        self._lost_once = threading.Lock()
        self._threads = (
            threading.Thread(target=self._renew_loop, name=f"lease-{job_id}", daemon=True),
            threading.Thread(target=self._watch_loop, name=f"fence-{job_id}", daemon=True),
        )

    def renew(self) -> bool:
        """Renew now; False (and fenced) if the job no longer holds its record or locks."""
        keys = [Keys.job(self.job_id), Keys.job_lease(self.job_id)]
        keys += [Keys.host_lock(h) for h in self.hosts]
        held = int(
            cast(int, self._renew(keys=keys, args=[self.holder, self.job_id, self.lease * 1000]))
        )
        if held < 0:
            self._lose("the job is no longer running in its record (reaped or ended elsewhere)")
            return False
        if held < len(self.hosts):
            self._lose(f"{len(self.hosts) - held} of its host locks passed to another job")
            return False
        self._last_ok = time.monotonic()
        return True

    def start(self) -> Heartbeat:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _renew_loop(self) -> None:
        interval = max(0.2, self.lease / 5)
        while not self._stopped.wait(interval) and self.lost is None:
            try:
                self.renew()
            except redis.RedisError as exc:
                log.warning("job %s: could not renew its lease (%s)", self.job_id, exc)

    def _watch_loop(self) -> None:
        limit = self.lease * 2 / 3  # the last third: time to stop before the lease expires
        while not self._stopped.wait(min(1.0, self.lease / 10)) and self.lost is None:
            silent = time.monotonic() - self._last_ok
            if silent > limit:
                self._lose(f"its lease could not be renewed for {silent:.0f}s")

    def _lose(self, why: str) -> None:
        with self._lost_once:
            if self.lost is not None or self._stopped.is_set():
                return
            self.lost = why
        log.error("job %s lost its lease: %s; stopping its Ansible run", self.job_id, why)
        try:
            self.on_lost(why)
        except Exception:
            log.exception("job %s: stopping its run after losing the lease failed", self.job_id)
