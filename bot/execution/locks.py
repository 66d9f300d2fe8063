"""Host locks: a host being changed by one job cannot be targeted by another until it ends.

A lock is a Redis key per host holding the job id, with a TTL: long enough
to cover the queue wait at submit, then a short lease the worker renews while
the job runs, so a dead worker's locks lapse by themselves. Every ending
(success, failure, cancel, timeout, reaped) releases them at once.
All hosts of a job are taken together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import redis

from bot.platform.store import Keys, text

# Take every lock or none: returns {index, holder} of the first conflict, or {}.
_ACQUIRE = """
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder and holder ~= ARGV[1] then return {i, holder} end
end
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return {}
"""
# Extend (ARGV[2] ms) or release (ARGV[2] == 0) the locks this job holds, never another's.
_EXTEND_OR_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    if ARGV[2] == '0' then redis.call('DEL', key) else redis.call('PEXPIRE', key, ARGV[2]) end
  end
end
return 1
"""


@dataclass(frozen=True)
class Conflict:
    host: str
    job_id: int


class HostLocks:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r
        self._acquire = r.register_script(_ACQUIRE)
        self._extend = r.register_script(_EXTEND_OR_RELEASE)

    def acquire(self, job_id: int, hosts: Sequence[str], seconds: int) -> Conflict | None:
        if not hosts:
            return None
        keys = [Keys.host_lock(h) for h in hosts]
        found = cast(list[object], self._acquire(keys=keys, args=[job_id, seconds * 1000]))
        if not found:
            return None
        index, holder = found
        return Conflict(host=hosts[int(cast(int, index)) - 1], job_id=int(text(holder)))

    def renew(self, job_id: int, hosts: Sequence[str], seconds: int) -> None:
        if hosts:
            self._extend(keys=[Keys.host_lock(h) for h in hosts], args=[job_id, seconds * 1000])

    def release(
        self, job_id: int, hosts: Sequence[str], pipeline: redis.client.Pipeline | None = None
    ) -> None:
        """Release the locks ``job_id`` holds; with ``pipeline``, as part of the caller's."""
        if hosts:
            keys = [Keys.host_lock(h) for h in hosts]
            self._extend(keys=keys, args=[job_id, 0], client=pipeline)

    def holder(self, host: str) -> int | None:
        value = self.r.get(Keys.host_lock(host))
        return int(text(value)) if value is not None else None
