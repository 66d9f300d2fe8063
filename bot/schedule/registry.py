"""Schedules and their state in Redis: definitions, pause, cursor, claims, skips, history.

Definitions made in chat live in one hash; those declared in toilbot.yaml are
passed in and cannot be removed from chat. Per schedule, the *cursor* is the
last fire time already decided (run, skipped or missed); it only moves
forward. A *claim* (SET NX) makes each fire time's run, and each notice,
happen once even if two replicas both believe they lead.

The *index* (``Keys.schedules_due``) holds, per schedule, the moment the
scheduler must look at it next: never later than its next fire time or
heads-up (earlier is always safe: a look recomputes it), +inf while paused.
A pass reads only what is due. Schedules stored by a version without the
index are found by one full scan, when the index holds fewer entries than
there are schedules.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from bot.platform.errors import CommandError
from bot.platform.store import Keys, text, text_map, texts
from bot.platform.words import suggest
from bot.schedule import text as schedule_text
from bot.schedule.model import Schedule

HISTORY_KEEP = 200  # entries of history kept per schedule: the explicit retention
REPLICA_SEEN = 60  # seconds a scheduler's heartbeat counts as alive in `schedule list`
CLAIM_TTL = 14 * 86400  # a claim outlives any window, so a fire time is decided once

# Move the cursor forward only: a slow replica can never rewind it.
_ADVANCE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'cursor') or '0')
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[1], 'cursor', ARGV[1])
  return 1
end
return 0
"""

# After a look: the next moment to look, unless it was paused meanwhile (then +inf) or
# removed (ZADD XX adds nothing back).
_RESCHEDULE = """
local wake = ARGV[2]
if redis.call('HEXISTS', KEYS[2], 'paused_by') == 1 then
  wake = '+inf'
end
return redis.call('ZADD', KEYS[1], 'XX', wake, ARGV[1])
"""
INFINITY = "+inf"


class ScheduleError(CommandError):
    """A schedule cannot be found, added or changed."""


@dataclass(frozen=True)
class State:
    cursor: int | None  # last fire time decided; None before the first scheduler pass
    paused_by: str | None
    paused_at: float | None


class Registry:
    def __init__(self, r: redis.Redis, configured: dict[str, Schedule] | None = None) -> None:
        self.r = r
        self.configured = dict(configured or {})
        self._advance = r.register_script(_ADVANCE)
        self._reschedule = r.register_script(_RESCHEDULE)
        self._configured_only = len(self.configured)  # configured names not also in the hash

    # --- definitions -------------------------------------------------------

    def all(self) -> list[Schedule]:
        found = dict(self.configured)
        for name, raw in text_map(self.r.hgetall(Keys.schedules)).items():
            if name not in found:
                found[name] = Schedule.from_json(json.loads(raw))
        return [found[name] for name in sorted(found)]

    def get(self, name: str) -> Schedule:
        if name in self.configured:
            return self.configured[name]
        raw = self.r.hget(Keys.schedules, name)
        if raw is None:
            known = [s.name for s in self.all()]
            raise ScheduleError(schedule_text.no_such_schedule(name, suggest(name, known)))
        return Schedule.from_json(json.loads(text(raw)))

    def add(self, schedule: Schedule) -> None:
        """Store a new schedule; its first fire is the first one after now."""
        if schedule.name in self.configured:
            raise ScheduleError(schedule_text.schedule_name_taken(schedule.name, in_config=True))
        pipe = self.r.pipeline(transaction=True)
        _queue_add(pipe, schedule)
        added, _, _ = pipe.execute()
        if not added:
            raise ScheduleError(schedule_text.schedule_name_taken(schedule.name, in_config=False))

    def add_many(self, schedules: list[Schedule]) -> int:
        """Store new schedules in one round trip (an import, the benchmark); how many were new.
        Names taken are left as they are."""
        for schedule in schedules:
            if schedule.name in self.configured:
                raise ScheduleError(
                    schedule_text.schedule_name_taken(schedule.name, in_config=True)
                )
        pipe = self.r.pipeline(transaction=False)
        for schedule in schedules:
            _queue_add(pipe, schedule)
        return sum(1 for added in pipe.execute()[::3] if added)

    def free_name(self, base: str) -> str:
        taken = set(self.configured) | set(texts(self.r.hkeys(Keys.schedules)))
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def remove(self, name: str) -> Schedule:
        schedule = self.get(name)
        if name in self.configured:
            raise ScheduleError(schedule_text.schedule_in_config(name, schedule.origin))
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(Keys.schedules, name)
        pipe.delete(Keys.schedule_state(name), Keys.schedule_history(name))
        pipe.zrem(Keys.schedules_due, name)
        pipe.execute()
        return schedule

    def replace(self, schedule: Schedule) -> None:
        """Store a changed definition of a chat schedule; the next pass looks at it again."""
        if schedule.name in self.configured:
            raise ScheduleError(schedule_text.schedule_in_config(schedule.name, schedule.origin))
        self.get(schedule.name)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(Keys.schedules, schedule.name, json.dumps(schedule.to_json()))
        pipe.zadd(Keys.schedules_due, {schedule.name: 0})
        pipe.execute()

    # --- state -------------------------------------------------------------

    def state(self, name: str) -> State:
        raw = text_map(self.r.hgetall(Keys.schedule_state(name)))
        return State(
            cursor=int(float(raw["cursor"])) if raw.get("cursor") else None,
            paused_by=raw.get("paused_by") or None,
            paused_at=float(raw["paused_at"]) if raw.get("paused_at") else None,
        )

    def pause(self, name: str, user: str) -> bool:
        """False if it was paused already."""
        self.get(name)
        if not self.r.hsetnx(Keys.schedule_state(name), "paused_by", user):
            return False
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(Keys.schedule_state(name), "paused_at", time.time())
        pipe.zadd(Keys.schedules_due, {name: INFINITY}, xx=True)
        pipe.execute()
        return True

    def resume(self, name: str, now: int) -> bool:
        """False if it was not paused. Runs missed while paused are not made up."""
        schedule = self.get(name)
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(Keys.schedule_state(name), "paused_by", "paused_at")
        pipe.hset(Keys.schedule_state(name), "cursor", now)
        pipe.zadd(Keys.schedules_due, {name: schedule.wake_at(now, looked=False)})
        removed, _, _ = pipe.execute()
        return bool(removed)

    def start_cursor(self, name: str, now: int) -> int:
        """The cursor, set to ``now`` the first time a scheduler sees this schedule."""
        self.r.hsetnx(Keys.schedule_state(name), "cursor", now)
        return int(float(text(self.r.hget(Keys.schedule_state(name), "cursor"))))

    def advance(self, name: str, fire: int) -> None:
        self._advance(keys=[Keys.schedule_state(name)], args=[fire])

    # --- the index ---------------------------------------------------------

    def due(self, now: int) -> list[Schedule]:
        """The schedules to look at by ``now``, by name; one full scan first if some schedule
        is not in the index yet (stored by the previous version)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zrangebyscore(Keys.schedules_due, "-inf", now)
        pipe.zcard(Keys.schedules_due)
        pipe.hlen(Keys.schedules)
        names, indexed, stored = pipe.execute()
        if indexed < stored + self._configured_only:
            self.index_all()
            names = self.r.zrangebyscore(Keys.schedules_due, "-inf", now)
        found = self._definitions(texts(names))
        return [found[name] for name in sorted(found)]

    def reschedule(self, name: str, wake: float) -> None:
        """Look at ``name`` again at ``wake`` (at +inf if it is paused, not at all if removed)."""
        self._reschedule(
            keys=[Keys.schedules_due, Keys.schedule_state(name)],
            args=[name, INFINITY if wake == math.inf else wake],
        )

    def index_configured(self) -> None:
        """At a scheduler's start: toilbot.yaml may have changed, so its schedules are looked
        at in the next pass; paused entries that are no schedule any more are dropped."""
        names = list(self.configured)
        pipe = self.r.pipeline(transaction=False)
        pipe.hmget(Keys.schedules, names or ["-"])  # HMGET needs a field
        pipe.zrangebyscore(Keys.schedules_due, INFINITY, INFINITY)
        shadowed, parked = pipe.execute()
        self._configured_only = sum(1 for raw in shadowed[: len(names)] if raw is None)
        self._definitions(texts(parked))
        if self.configured:
            self.r.zadd(Keys.schedules_due, dict.fromkeys(self.configured, 0))

    def index_all(self) -> None:
        """The one full scan: every schedule without an entry gets one, due at once."""
        chat = set(texts(self.r.hkeys(Keys.schedules)))
        self._configured_only = len(set(self.configured) - chat)
        names = set(self.configured) | chat
        for chunk in _chunks(sorted(names), 5000):
            self.r.zadd(Keys.schedules_due, dict.fromkeys(chunk, 0), nx=True)

    def _definitions(self, names: list[str]) -> dict[str, Schedule]:
        """The schedules named (one read for all); names that are no schedule leave the index."""
        found = {name: self.configured[name] for name in names if name in self.configured}
        chat = [name for name in names if name not in found]
        if chat:
            for name, raw in zip(chat, self.r.hmget(Keys.schedules, chat), strict=True):
                if raw is not None:
                    found[name] = Schedule.from_json(json.loads(text(raw)))
        stale = [name for name in names if name not in found]
        if stale:
            self.r.zrem(Keys.schedules_due, *stale)
        return found

    def claim(self, name: str, what: str, fire: int, holder: str) -> bool:
        """True for exactly one caller per (schedule, what, fire time)."""
        return bool(
            self.r.set(Keys.schedule_claim(name, what, fire), holder, nx=True, ex=CLAIM_TTL)
        )

    def request_skip(self, name: str, fire: int, user: str) -> bool:
        return bool(self.r.set(Keys.schedule_skip(name, fire), user, nx=True, ex=CLAIM_TTL))

    def skip_requested(self, name: str, fire: int) -> str | None:
        raw = self.r.get(Keys.schedule_skip(name, fire))
        return None if raw is None else text(raw)

    # --- history -----------------------------------------------------------

    def log(self, name: str, fire: int, outcome: str, detail: str, job: int | None = None) -> None:
        entry: dict[Any, Any] = {
            "fire": fire,
            "outcome": outcome,
            "detail": detail,
            "job": "" if job is None else job,
            "at": time.time(),
        }
        self.r.xadd(Keys.schedule_history(name), entry, maxlen=HISTORY_KEEP, approximate=False)

    def history(self, name: str, count: int = 10) -> list[dict[str, str]]:
        rows = self.r.xrevrange(Keys.schedule_history(name), count=count) or []
        return [text_map(fields) for _id, fields in rows if fields]


def _queue_add(pipe: redis.client.Pipeline, schedule: Schedule) -> None:
    """Define ``schedule`` if the name is free, and index it. The index only ever moves
    earlier here (LT), so an existing schedule of that name loses no look."""
    pipe.hsetnx(Keys.schedules, schedule.name, json.dumps(schedule.to_json()))
    pipe.hset(Keys.schedule_state(schedule.name), "cursor", schedule.created_at)
    wake = schedule.wake_at(schedule.created_at, looked=False)
    pipe.zadd(Keys.schedules_due, {schedule.name: wake}, lt=True)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]
