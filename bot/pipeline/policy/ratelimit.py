"""Per-user rate limit on commands: a sliding window of recent commands in Redis."""

from __future__ import annotations

import time
import uuid

import redis

from bot.pipeline.policy.rules import Rate
from bot.platform.store import Keys

# Atomic: drop entries older than the window; count; add this one if under the limit,
# else answer how long until the oldest leaves the window.
_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  return '-1'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RateLimiter:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r
        self._script = r.register_script(_SCRIPT)

    def hit(self, user: str, rate: Rate) -> float | None:
        """Count one command of ``user``; None if allowed, else seconds until it would be."""
        now = time.time()
        answer = self._script(
            keys=[Keys.rate(user)], args=[now, rate.seconds, rate.count, uuid.uuid4().hex]
        )
        wait = float(answer.decode() if isinstance(answer, bytes) else answer)
        return None if wait < 0 else wait
