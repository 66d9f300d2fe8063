"""Schedules and their state in Redis: definitions, pause, cursor, claims, skips, history.

Definitions made in chat live in one hash; those declared in toilbot.yaml are
passed in and cannot be removed from chat. Per schedule, the *cursor* is the
last fire time already decided (run, skipped or missed); it only moves
forward. A *claim* (SET NX) makes each fire time's run, and each notice,
happen once even if two replicas both believe they lead.
"""

from __future__ import annotations

import json
import time
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
        pipe.hsetnx(Keys.schedules, schedule.name, json.dumps(schedule.to_json()))
        pipe.hset(Keys.schedule_state(schedule.name), "cursor", schedule.created_at)
        added, _ = pipe.execute()
        if not added:
            raise ScheduleError(schedule_text.schedule_name_taken(schedule.name, in_config=False))

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
        pipe.execute()
        return schedule

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
        self.r.hset(Keys.schedule_state(name), "paused_at", time.time())
        return True

    def resume(self, name: str, now: int) -> bool:
        """False if it was not paused. Runs missed while paused are not made up."""
        self.get(name)
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(Keys.schedule_state(name), "paused_by", "paused_at")
        pipe.hset(Keys.schedule_state(name), "cursor", now)
        removed, _ = pipe.execute()
        return bool(removed)

    def start_cursor(self, name: str, now: int) -> int:
        """The cursor, set to ``now`` the first time a scheduler sees this schedule."""
        self.r.hsetnx(Keys.schedule_state(name), "cursor", now)
        return int(float(text(self.r.hget(Keys.schedule_state(name), "cursor"))))

    def advance(self, name: str, fire: int) -> None:
        self._advance(keys=[Keys.schedule_state(name)], args=[fire])

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
