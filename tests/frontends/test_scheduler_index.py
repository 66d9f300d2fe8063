"""A scheduler pass reads only the schedules due (real Redis, the test's clock): what it sends to
Redis does not grow with the schedules stored, and the exactly-once rules still hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from bot.pipeline.bot import Bot
from bot.platform.store import Keys
from bot.schedule.cron import parse_cron
from bot.schedule.model import Schedule
from tests.conftest import ADMIN
from tests.frontends.test_scheduler import Clock, add, jobs_by_fire, make_bot, scheduler, utc


@pytest.fixture
def bot(tmp_path: Path, r: redis.Redis) -> Bot:
    return make_bot(tmp_path, r)


def commands_during(r: redis.Redis, action: Callable[[], object]) -> list[str]:
    """Every command Redis executed while ``action`` ran (MONITOR, ended by a marker)."""
    with r.monitor() as monitor:
        action()
        r.echo("end-of-pass")
        seen = []
        while "end-of-pass" not in (command := str(monitor.next_command()["command"])):
            if not command.upper().startswith(("HELLO", "CLIENT")):  # a new connection's set-up
                seen.append(command)
    return seen


def nightly(name: str) -> Schedule:
    return Schedule(
        name=name,
        command="status web",
        timing=parse_cron("0 3 * * *", "UTC"),
        window=3600,
        owner=ADMIN,
        channel=None,
        heads_up=0,
        during=None,
        origin="chat",
        created_at=utc("2026-11-22 09:00"),  # next fire: 03:00 tomorrow
    )


def store(bot: Bot, count: int, first: int = 0) -> list[str]:
    names = [f"night-{n:04d}" for n in range(first, first + count)]
    bot.schedules.add_many([nightly(name) for name in names])
    return names


def test_a_pass_reads_only_the_due_schedules(bot):
    """With 200 schedules stored and 2 due, no command names any of the 200 or reads them all."""
    start = utc("2026-11-22 10:00")
    stored = store(bot, 200)
    for name in ("due-a", "due-b"):
        add(bot, f'"status localhost" every 10s name {name}', at=start)
    clock = Clock(start)
    a = scheduler(bot, clock)
    a.step()  # a leader's first pass
    clock.now += 10
    commands = commands_during(bot.jobs.r, a.step)
    assert [start + 10] == list(jobs_by_fire(bot))
    assert 2 == len(jobs_by_fire(bot)[start + 10])
    assert [] == [name for name in stored if any(name in c for c in commands)]
    assert all(any(name in c for c in commands) for name in ("due-a", "due-b"))
    reads_all = [c for c in commands if c.upper().startswith(("HGETALL", "HKEYS", "HVALS"))]
    assert [] == [c for c in reads_all if c.split()[1] == Keys.schedules]


def test_a_pass_sends_as_many_commands_with_2000_schedules_stored_as_with_20(bot):
    """Nothing due: the commands of a pass are the same whatever the number stored."""
    clock = Clock(utc("2026-11-22 10:00"))
    a = scheduler(bot, clock)
    store(bot, 20)
    a.step()
    few = commands_during(bot.jobs.r, a.step)
    store(bot, 1980, first=20)
    many = commands_during(bot.jobs.r, a.step)
    assert len(few) == len(many)
    assert [c.split()[0].upper() for c in few] == [c.split()[0].upper() for c in many]


def test_a_schedule_stored_by_the_previous_version_fires_after_the_upgrade(bot):
    """No index entry (the previous version wrote none): the first pass scans once and it runs;
    later passes do not scan again."""
    start = utc("2026-11-22 10:00")
    add(bot, '"status localhost" every 10s name legacy', at=start)
    stored = store(bot, 50)
    bot.jobs.r.delete(Keys.schedules_due)  # the upgrade: definitions and cursors, no index
    clock = Clock(start + 10)
    a = scheduler(bot, clock)
    first = commands_during(bot.jobs.r, a.step)
    assert [start + 10] == list(jobs_by_fire(bot))
    assert any(c.upper().startswith("HKEYS") for c in first)
    assert 51 == bot.jobs.r.zcard(Keys.schedules_due)
    clock.now += 10
    second = commands_during(bot.jobs.r, a.step)
    assert [start + 10, start + 20] == sorted(jobs_by_fire(bot))
    assert not any(c.upper().startswith("HKEYS") for c in second)
    assert [] == [name for name in stored if any(name in c for c in second)]


def test_jumping_from_one_indexed_look_to_the_next_fires_at_local_time_across_dst(bot):
    """Oslo 02:30 daily through spring-forward and fall-back, the clock set each time to the
    indexed next look: one run a day, at the local time (03:00 on the day 02:30 is skipped)."""
    periods = (("2026-03-27 12:00", "2026-03-31 00:00"), ("2026-10-23 12:00", "2026-10-27 00:00"))
    for first, last in periods:
        name = f"dst-{first[5:7]}"
        add(bot, f'"status web" cron "30 2 * * *" tz Europe/Oslo name {name}', at=utc(first))
        clock = Clock(utc(first))
        looks = 0
        while (wake := bot.schedules.r.zscore(Keys.schedules_due, name)) < utc(last):
            clock.now = max(clock.now, int(wake))
            leader = scheduler(bot, clock, f"replica-{looks % 2}")
            assert leader.step()
            leader.resign()  # a leader change at every look
            looks += 1
        assert 1 + 3 * 2 == looks  # the first pass, then each day's heads-up (15m) and run
    fires = sorted(
        datetime.fromtimestamp(fire, UTC).strftime("%m-%d %H:%M") for fire in jobs_by_fire(bot)
    )
    spring = ["03-28 01:30", "03-29 01:00", "03-30 00:30"]
    autumn = ["10-24 00:30", "10-25 00:30", "10-26 01:30"]
    assert spring + autumn == fires


def test_a_new_leader_takes_over_every_fire_time_exactly_once(bot):
    """Leader A dies without resigning; B leads after the lease, runs what A left, nothing twice,
    and A, back and still believing it leads, runs nothing again."""
    start = utc("2026-11-22 10:00")
    add(bot, '"status localhost" every 10s window 1m name tick', at=start)
    clock = Clock(start)
    a, b = scheduler(bot, clock, "a"), scheduler(bot, clock, "b")
    for _ in range(3):
        clock.now += 10
        assert a.step()
    bot.jobs.r.delete(Keys.scheduler_leader)  # A is gone and its lease ran out
    clock.now += bot.settings.schedule.lease_seconds + 1
    assert b.step()
    clock.now += 10
    assert b.step()
    a.tick(bot.schedules.get("tick"), clock.now)  # split brain: A still thinks it leads
    fires = jobs_by_fire(bot)
    assert sorted(fires) == [start + 10 * i for i in range(1, 6)]
    assert all(len(ids) == 1 for ids in fires.values())


def test_a_changed_toilbot_yaml_schedule_is_looked_at_by_the_next_leader(tmp_path: Path, r):
    """The config schedule's index entry is refreshed at start-up, so a new timing runs."""
    config = {"command": "status web", "every": "24h", "owner": ADMIN, "heads_up": 0}
    old = make_bot(tmp_path, r, schedules={"cfg": config})
    clock = Clock(utc("2026-11-22 10:00"))
    first = scheduler(old, clock)
    first.step()
    first.resign()  # stopped for the upgrade
    assert utc("2026-11-23 00:00") == r.zscore(Keys.schedules_due, "cfg")
    new = make_bot(tmp_path / "later", r, schedules={"cfg": {**config, "every": "10m"}})
    clock.now = utc("2026-11-22 10:10")
    scheduler(new, clock, "replica-b").step()
    assert [utc("2026-11-22 10:10")] == list(jobs_by_fire(new))
    assert utc("2026-11-22 10:20") == r.zscore(Keys.schedules_due, "cfg")


def test_a_paused_schedule_is_not_looked_at_until_resumed(bot):
    """Paused: its entry is parked at +inf, so passes skip it; resumed, it runs from then on."""
    start = utc("2026-11-22 00:00")
    add(bot, '"status localhost" every 10m name often', at=start)
    bot.schedules.pause("often", ADMIN)
    clock = Clock(start + 1800)
    leader = scheduler(bot, clock)
    leader.step()  # a leader's first pass also drops parked entries that are no schedule
    commands = commands_during(bot.jobs.r, leader.step)
    assert not any("often" in c for c in commands)
    bot.schedules.resume("often", clock.now)
    clock.now += 600
    scheduler(bot, clock).step()
    assert [start + 2400] == list(jobs_by_fire(bot))
