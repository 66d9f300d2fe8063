"""Keeping job records bounded: the oldest finished records beyond ``jobs.keep`` are deleted.

``Jobs.recent`` lists the newest ``keep`` jobs; a queued or running job is never
deleted, however old. Every submit trims, so a trim costs what it removes and
nothing for the jobs waiting: ``Jobs.finish`` adds a job to ``Keys.finished``
(a sorted set ordered like ``Keys.jobs``, by created time then id) in the
pipeline that ends it, and the trim reads only that set, in one Lua call.

Records that ended under the previous version are in no finished set. They are
migrated lazily: the same call walks ``Keys.jobs`` ``SWEEP_BATCH`` ids at a
time (server-side, no round trips) and adds the ones neither queued nor
running; a pass ends at the newest job and starts again ``SWEEP_EVERY`` seconds
after it began, so records ended meanwhile by a process of the previous version
(a rolling upgrade) are trimmed too. Two records with the same created time at
a batch boundary may wait for the next pass.
"""

from __future__ import annotations

import redis

from bot.platform.store import Keys

TRIM_LIMIT = 1000  # finished records one trim removes at most (the next submits go on)
SWEEP_BATCH = 100  # job ids the sweep for records of the previous version looks at per trim
SWEEP_EVERY = 86400  # seconds between two sweeps

# Trim finished records beyond ``keep``, oldest first; queued and running ones are never in
# the finished set, so the cost is what is removed, whatever the backlog. Both sets are ordered
# by (created time, id), so the finished records beyond ``keep`` are a prefix of the finished
# set. First, a bounded step of the sweep that adds records ended by a previous version (no
# finished set then) to it. The record's other keys are named from ARGV (one Redis, no cluster).
_TRIM = """
local jobs, finished, running, sweep = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local keep, limit, batch = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cursor = redis.call('GET', sweep)
if cursor ~= 'done' then
  local low = cursor and ('(' .. cursor) or '-inf'
  local found = redis.call('ZRANGEBYSCORE', jobs, low, '+inf', 'WITHSCORES', 'LIMIT', 0, batch)
  for i = 1, #found, 2 do
    if redis.call('SISMEMBER', running, found[i]) == 0 then
      redis.call('ZADD', finished, found[i + 1], found[i])
    end
  end
  local after = 'done'
  if #found == 2 * batch then after = found[#found] end
  if cursor then redis.call('SET', sweep, after, 'KEEPTTL')
  else redis.call('SET', sweep, after, 'EX', ARGV[4]) end
end
local excess = redis.call('ZCARD', jobs) - keep
local removed = 0
if excess <= 0 then return removed end
for _, id in ipairs(redis.call('ZRANGE', finished, 0, limit - 1)) do
  local rank = redis.call('ZRANK', jobs, id)
  if rank and rank >= excess then break end
  if rank and redis.call('SISMEMBER', running, id) == 0 then
    local gone = {}
    for i = 5, #ARGV do gone[#gone + 1] = string.gsub(ARGV[i], '{id}', id) end
    redis.call('DEL', unpack(gone))
    redis.call('ZREM', jobs, id)
    excess = excess - 1
    removed = removed + 1
  end
  redis.call('ZREM', finished, id)
  if excess <= 0 then break end
end
return removed
"""
# The keys of one job record, for the trim script ("{id}" stands for the job id).
_RECORD_KEYS = [
    f(0).replace(":0", ":{id}", 1)
    for f in (Keys.job, Keys.job_hosts, Keys.job_output, Keys.job_events)
]


class Retention:
    """The trim of finished job records on one Redis."""

    def __init__(self, r: redis.Redis) -> None:
        self._trim = r.register_script(_TRIM)

    def trim(self, keep: int) -> int:
        """Delete the oldest finished records beyond the newest ``keep``; returns how many."""
        return int(
            self._trim(
                keys=[Keys.jobs, Keys.finished, Keys.running, Keys.finished_sweep],
                args=[keep, TRIM_LIMIT, SWEEP_BATCH, SWEEP_EVERY, *_RECORD_KEYS],
            )
        )
