"""The registry keeps the scheduler's index (next look per schedule) in step with every change,
on a real Redis."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import redis

from bot.platform.store import Keys
from bot.schedule.cron import Every, parse_cron
from bot.schedule.model import Schedule
from bot.schedule.registry import Registry, ScheduleError

OWNER = "U0ADMIN"


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def schedule(name: str, *, cron: str = "0 3 * * *", heads_up: int = 0, at: str = "") -> Schedule:
    return Schedule(
        name=name,
        command="status web",
        timing=parse_cron(cron, "UTC"),
        window=3600,
        owner=OWNER,
        channel=None,
        heads_up=heads_up,
        during=None,
        origin="chat",
        created_at=utc(at or "2026-11-22 12:00"),
    )


def look(r: redis.Redis, name: str) -> float | None:
    return r.zscore(Keys.schedules_due, name)


def test_adding_indexes_the_next_fire_time_or_the_heads_up_before_it(r):
    """A new schedule is looked at first at its next fire time, or its heads-up if it has one."""
    registry = Registry(r)
    registry.add(schedule("plain"))
    registry.add(schedule("warned", heads_up=900))
    assert utc("2026-11-23 03:00") == look(r, "plain")
    assert utc("2026-11-23 02:45") == look(r, "warned")


def test_pause_parks_resume_reindexes_from_now_remove_drops(r):
    """Paused: never due; resumed: its next fire after the resume; removed: gone from the index."""
    registry = Registry(r)
    registry.add(schedule("nightly"))
    assert registry.pause("nightly", OWNER)
    assert math.inf == look(r, "nightly")
    assert registry.resume("nightly", utc("2026-11-25 04:00"))
    assert utc("2026-11-26 03:00") == look(r, "nightly")
    registry.remove("nightly")
    assert look(r, "nightly") is None


def test_editing_makes_the_next_pass_look_at_it(r):
    """A changed definition is looked at at once, so a new timing cannot be missed."""
    registry = Registry(r)
    registry.add(schedule("nightly"))
    registry.replace(schedule("nightly", cron="*/5 * * * *"))
    assert 0 == look(r, "nightly")
    assert "*/5 * * * *" == registry.get("nightly").timing.expression  # type: ignore[union-attr]


def test_a_refused_add_never_moves_the_existing_schedules_look_later(r):
    """Adding a taken name is refused and leaves the existing schedule's next look as early."""
    registry = Registry(r)
    registry.add(schedule("nightly"))
    with pytest.raises(ScheduleError):
        registry.add(schedule("nightly", cron="0 3 1 * *"))  # monthly: a later first fire
    assert utc("2026-11-23 03:00") == look(r, "nightly")


def test_a_look_written_back_while_paused_or_after_removal_does_not_revive_it(r):
    """The write-back after a pass respects a pause or removal that happened meanwhile."""
    registry = Registry(r)
    registry.add(schedule("paused"))
    registry.add(schedule("removed"))
    registry.pause("paused", OWNER)
    registry.remove("removed")
    registry.reschedule("paused", utc("2026-11-23 03:00"))
    registry.reschedule("removed", utc("2026-11-23 03:00"))
    assert math.inf == look(r, "paused")
    assert look(r, "removed") is None


def test_due_reads_only_what_is_due_and_drops_entries_that_are_no_schedule(r):
    """`due` returns the schedules whose look has come, by name; a stale entry is removed."""
    registry = Registry(r)
    registry.add_many([schedule(f"n{i}") for i in range(5)])
    registry.add(replace(schedule("often"), timing=Every(60)))
    r.zadd(Keys.schedules_due, {"gone": 0})  # removed by a version without the index
    due = registry.due(utc("2026-11-22 12:01"))
    assert ["often"] == [s.name for s in due]
    assert look(r, "gone") is None


def test_schedules_stored_without_an_index_are_indexed_by_one_scan(r):
    """Schedules from the previous version (no index entry) are all due on the first pass."""
    registry = Registry(r)
    registry.add_many([schedule(f"old{i}") for i in range(3)])
    r.delete(Keys.schedules_due)  # what the previous version left: definitions, no index
    due = registry.due(utc("2026-11-22 12:01"))
    assert ["old0", "old1", "old2"] == [s.name for s in due]
    assert 3 == r.zcard(Keys.schedules_due)


def test_configured_schedules_are_looked_at_after_each_start(r):
    """toilbot.yaml may have changed: its schedules are due in a new leader's first pass."""
    configured = {"from-yaml": schedule("from-yaml")}
    Registry(r, configured).index_configured()
    assert 0 == look(r, "from-yaml")


def test_a_schedule_added_inside_its_heads_up_is_looked_at_at_once(r):
    """Added 5 minutes before a run with a 15-minute heads-up: the heads-up is due now."""
    registry = Registry(r)
    registry.add(schedule("soon", heads_up=900, at="2026-11-23 02:55"))
    assert utc("2026-11-23 02:55") == look(r, "soon")
