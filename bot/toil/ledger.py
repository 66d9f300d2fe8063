"""The ledger in Redis: entries indexed by start time, one open timer per person, undo.

A week's report reads only the entries that start in that week or within
``MAX_ENTRY`` before it (no entry is longer), never the whole history.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any, cast

import redis

from bot.platform.errors import CommandError
from bot.platform.store import Keys, text, texts
from bot.toil.model import Entry, Kind, Source

MAX_ENTRY = 24 * 3600  # one entry covers at most a day
DEFAULT_LIMIT = 4 * 3600  # a timer counts this long unless the person says they are still at it
UNDO_DEPTH = 20


class LedgerError(CommandError):
    """A change the ledger refuses; the message says why."""


@dataclass(frozen=True)
class Timer:
    kind: Kind
    category: str
    note: str
    started: float
    tz: str
    until: float | None = None  # counts up to here; None: ``started`` + the configured limit

    def counts_until(self, limit: float) -> float:
        return self.until if self.until is not None else self.started + limit

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind.value,
                "category": self.category,
                "note": self.note,
                "started": self.started,
                "tz": self.tz,
                "until": self.until,
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Timer:
        data = json.loads(raw)
        until = data.get("until")
        return cls(
            Kind(data["kind"]),
            data["category"],
            data["note"],
            float(data["started"]),
            data["tz"],
            float(until) if until is not None else None,
        )


class Ledger:
    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    # --- entries -------------------------------------------------------------

    def add(
        self,
        user: str,
        kind: Kind,
        category: str,
        start: float,
        end: float,
        tz: str,
        source: Source,
        note: str = "",
    ) -> Entry:
        if end <= start:
            raise LedgerError("the end of an entry must come after its start")
        if end - start > MAX_ENTRY:
            raise LedgerError("an entry covers at most 24 hours; log longer work day by day")
        entry = Entry(
            id=int(self.r.incr(Keys.toil_seq)),
            user=user,
            kind=kind,
            category=category,
            start=start,
            end=end,
            tz=tz,
            source=source,
            note=note,
            created_at=time.time(),
        )
        self._save(entry)
        self._remember(user, {"do": "add", "id": entry.id})
        return entry

    def add_many(
        self, items: list[tuple[str, Kind, str, float, float, str, Source, str]]
    ) -> list[Entry]:
        """Many entries at once, all or none (one MULTI/EXEC); ids follow the list's order."""
        for _user, _kind, _category, start, end, *_ in items:
            if end <= start or end - start > MAX_ENTRY:
                raise LedgerError("every entry must end after it starts, within 24 hours")
        if not items:
            return []
        first = int(self.r.incrby(Keys.toil_seq, len(items))) - len(items) + 1
        now = time.time()
        entries = [
            Entry(first + i, user, kind, category, start, end, tz, source, note, created_at=now)
            for i, (user, kind, category, start, end, tz, source, note) in enumerate(items)
        ]
        pipe = self.r.pipeline(transaction=True)
        for entry in entries:
            pipe.set(Keys.toil_entry(entry.id), json.dumps(entry.to_json()))
            pipe.zadd(Keys.toil_entries, {str(entry.id): entry.start})
        pipe.execute()
        return entries

    def get(self, entry_id: int) -> Entry | None:
        raw = self.r.get(Keys.toil_entry(entry_id))
        return Entry.from_json(json.loads(text(raw))) if raw is not None else None

    def edit(self, user: str, entry_id: int, **changes: Any) -> Entry:
        entry = self.get(entry_id)
        if entry is None or entry.deleted or entry.user != user:
            raise LedgerError(f"you have no entry {entry_id}")
        before = entry.to_json()
        before.pop("revisions")
        for name, value in changes.items():
            setattr(entry, name, value)
        if entry.end <= entry.start or entry.end - entry.start > MAX_ENTRY:
            raise LedgerError("the edited entry must end after it starts, within 24 hours")
        entry.revisions.append({**before, "replaced_at": time.time()})
        entry.created_at = time.time()  # an edit is the newest word on that time
        self._save(entry)
        self._remember(user, {"do": "edit", "id": entry_id})
        return entry

    def undo(self, user: str) -> str | None:
        """Take back the person's last add or edit; returns what was undone."""
        raw = self.r.lpop(Keys.toil_undo(user))
        if raw is None:
            return None
        action = json.loads(text(raw))
        entry = self.get(int(action["id"]))
        if entry is None:
            return None
        if action["do"] == "add":
            entry.deleted = True
        elif entry.revisions:
            previous = entry.revisions.pop()
            previous.pop("replaced_at", None)
            entry = Entry.from_json({**previous, "revisions": entry.revisions})
        self._save(entry)
        return f"{action['do']} of entry {entry.id}"

    def between(self, start: float, end: float, user: str | None = None) -> list[Entry]:
        """Entries overlapping [start, end): one index range and one MGET, whatever the history."""
        ids = texts(self.r.zrangebyscore(Keys.toil_entries, start - MAX_ENTRY, end))
        if not ids:
            return []
        found = []
        for raw in self.r.mget([Keys.toil_entry(int(i)) for i in ids]):
            if raw is None:
                continue
            entry = Entry.from_json(json.loads(text(raw)))
            if entry.deleted or entry.end <= start or entry.start >= end:
                continue
            if user is None or entry.user == user:
                found.append(entry)
        return found

    def _save(self, entry: Entry) -> None:
        pipe = self.r.pipeline()
        pipe.set(Keys.toil_entry(entry.id), json.dumps(entry.to_json()))
        pipe.zadd(Keys.toil_entries, {str(entry.id): entry.start})
        pipe.execute()

    def _remember(self, user: str, action: dict[str, Any]) -> None:
        pipe = self.r.pipeline()
        pipe.lpush(Keys.toil_undo(user), json.dumps(action))
        pipe.ltrim(Keys.toil_undo(user), 0, UNDO_DEPTH - 1)
        pipe.execute()

    # --- automation ------------------------------------------------------------

    def record_job(
        self,
        user: str,
        job_id: int,
        spec: str,
        category: str,
        finished: float,
        hands_on: float,
        manual: float,
        tz: str,
    ) -> Entry:
        """A bot job: the requester's hands-on time as operating, the toil saved kept apart
        (nothing saved when ``manual`` is 0: the job did not do the manual task)."""
        entry = self.add(
            user,
            Kind.OPERATING,
            category,
            finished - hands_on,
            finished,
            tz,
            Source.BOT,
            f"job {job_id}: {spec}",
        )
        saved = {
            "job": job_id,
            "user": user,
            "spec": spec,
            "seconds": max(0.0, manual - hands_on),
            "hands_on": hands_on,
        }
        if manual > 0:
            self.r.zadd(Keys.toil_saved, {json.dumps(saved): finished})
        return entry

    def saved_between(self, start: float, end: float) -> list[dict[str, Any]]:
        """Toil saved by automation: reported on its own, never added to any hours."""
        return [json.loads(raw) for raw in texts(self.r.zrangebyscore(Keys.toil_saved, start, end))]

    # --- timers -----------------------------------------------------------------

    def timer(self, user: str) -> Timer | None:
        raw = self.r.get(Keys.toil_timer(user))
        return Timer.from_json(text(raw)) if raw is not None else None

    def start(
        self,
        user: str,
        kind: Kind,
        category: str,
        note: str,
        tz: str,
        now: float | None = None,
        limit: float = DEFAULT_LIMIT,
    ) -> tuple[Timer, Entry | None]:
        """Start a timer; an open one is stopped first (one timer per person)."""
        now = time.time() if now is None else now
        stopped = self.stop(user, now, limit)
        timer = Timer(kind, category, note, now, tz)
        pipe = self.r.pipeline()
        pipe.set(Keys.toil_timer(user), timer.to_json())
        pipe.zadd(Keys.toil_timers, {user: timer.counts_until(limit)})
        pipe.execute()
        return timer, stopped

    def stop(
        self, user: str, now: float | None = None, limit: float = DEFAULT_LIMIT
    ) -> Entry | None:
        """Close the open timer into an entry; it counts up to its limit unless kept going."""
        now = time.time() if now is None else now
        pipe = self.r.pipeline()
        pipe.getdel(Keys.toil_timer(user))
        pipe.zrem(Keys.toil_timers, user)
        raw, _ = pipe.execute()
        if raw is None:
            return None
        timer = Timer.from_json(text(raw))
        end = min(now, timer.counts_until(limit), timer.started + MAX_ENTRY)
        if end - timer.started < 60:
            return None  # under a minute: nothing worth recording
        return self.add(
            user, timer.kind, timer.category, timer.started, end, timer.tz, Source.TIMER, timer.note
        )

    def keep(self, user: str, started: float, now: float, limit: float) -> Timer | None:
        """ "Still working": the timer counts on for another ``limit`` from now.

        ``started`` names the timer the person was asked about; a newer one is left alone.
        """
        timer = self.timer(user)
        if timer is None or timer.started != started:
            return None
        until = min(now + limit, timer.started + MAX_ENTRY)
        kept = dataclasses.replace(timer, until=until)
        pipe = self.r.pipeline()
        pipe.set(Keys.toil_timer(user), kept.to_json())
        pipe.zadd(Keys.toil_timers, {user: until})
        pipe.execute()
        return kept

    def overdue(self, now: float) -> list[tuple[str, float]]:
        """Timers counting no longer: (user, since when), oldest first."""
        found = self.r.zrangebyscore(Keys.toil_timers, 0, now, withscores=True)
        return [(text(pair[0]), float(pair[1])) for pair in cast(list[tuple[Any, Any]], found)]

    def claim_overdue(self, user: str) -> bool:
        """True for exactly one caller per overdue timer (so it is asked once, by one worker)."""
        return bool(self.r.zrem(Keys.toil_timers, user)) and self.timer(user) is not None
