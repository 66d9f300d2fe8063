"""The scheduler's decisions on a real Redis, with the clock in the test's hand.

Each test steps `Scheduler` objects at chosen times: fire times, outages,
windows, skips, freezes, permission changes. The jobs they queue are real
job records on the real RQ queue (no worker runs them here).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from bot.config.settings import load_settings
from bot.frontends.scheduler import Scheduler, Task
from bot.frontends.slack.client import make_client
from bot.frontends.slack.schedule_notices import Announcer
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Bot, Outcome
from bot.pipeline.request import Request
from bot.platform.errors import ConfigError
from bot.platform.formatting import when
from bot.platform.store import Keys, Store
from bot.schedule.cron import Every
from tests.conftest import ADMIN, OPERATOR, VIEWER, write_config
from tests.slack.model import DEFAULT_CHANNEL_ID


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


class Clock:
    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> float:
        return float(self.now)


def make_bot(tmp_path: Path, r: redis.Redis, **overrides: object) -> Bot:
    path = write_config(tmp_path, **overrides)
    settings = load_settings({"TOILBOT_CONFIG": str(path), "TOILBOT_DATA_DIR": str(tmp_path)})
    return assemble(settings, Store(r, "test Redis")).bot


def scheduler(bot: Bot, clock: Clock, replica: str = "replica-a") -> Scheduler:
    announcer = Announcer(bot.jobs.r, None, bot.settings.timezone)
    return Scheduler(bot, bot.schedules, announcer, replica=replica, clock=clock)


def jobs_by_fire(bot: Bot) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for record in bot.jobs.recent(1000):
        if record.fire_time is not None:
            found.setdefault(record.fire_time, []).append(record.id)
    return found


def outcomes(bot: Bot, name: str) -> list[str]:
    return [h["outcome"] for h in reversed(bot.schedules.history(name, 100))]


@pytest.fixture
def bot(tmp_path: Path, r: redis.Redis) -> Bot:
    return make_bot(tmp_path, r)


def add(bot: Bot, words: str, user: str = ADMIN, at: int | None = None) -> str:
    reply = bot.handle(Request(f"schedule add {words}", user, "test"))
    assert reply.ok, reply.text
    if at is not None:  # pretend it was added at `at`
        name = reply.text.split("`")[1]
        bot.schedules.r.hset(Keys.schedule_state(name), "cursor", at)
        bot.schedules.reschedule(name, 0)  # so the next pass looks at it, from `at` on
    return reply.text


def test_each_fire_time_runs_once_even_when_two_replicas_both_think_they_lead(bot):
    """Per-(schedule, fire time) claims: a split leader cannot double-fire."""
    start = utc("2026-11-22 10:00")
    add(bot, '"status localhost" every 10s name st', at=start)
    clock = Clock(start)
    a, b = scheduler(bot, clock, "a"), scheduler(bot, clock, "b")
    for _ in range(6):
        clock.now += 10
        for replica in (a, b):  # both tick, as a split brain would
            replica.tick(bot.schedules.get("st"), clock.now)
    fires = jobs_by_fire(bot)
    assert [start + 10 * i for i in range(1, 7)] == sorted(fires)
    assert all(len(ids) == 1 for ids in fires.values())


def test_only_one_replica_leads_and_the_lead_passes_on_when_it_stops(bot):
    """SET NX PX leadership: the second replica waits, and takes over after a resign."""
    clock = Clock(utc("2026-11-22 10:00"))
    a, b = scheduler(bot, clock, "a"), scheduler(bot, clock, "b")
    assert a.step() is True
    assert b.step() is False
    assert a.step() is True  # renewing
    a.resign()
    assert b.step() is True
    assert b"b" == bot.jobs.r.get(Keys.scheduler_leader)


def test_a_run_missed_during_an_outage_runs_once_on_recovery_inside_its_window(bot):
    """Down across 03:00, back at 04:10 with a 2h window: one run now, for 03:00."""
    start = utc("2026-11-21 12:00")
    add(bot, '"status web" cron "0 3 * * *" tz UTC window 2h name nightly', at=start)
    clock = Clock(utc("2026-11-22 04:10"))
    scheduler(bot, clock).step()
    assert [utc("2026-11-22 03:00")] == list(jobs_by_fire(bot))
    assert ["queued"] == outcomes(bot, "nightly")
    job = bot.handle(Request("job 1", ADMIN, "test")).text
    assert "`status web` · by schedule `nightly` of <@U0ADMIN> · <!date^" in job
    scheduler(bot, clock, "other").step()  # a later pass changes nothing
    assert 1 == len(jobs_by_fire(bot))


def test_a_run_missed_beyond_its_window_is_skipped_and_announced(bot):
    """Back at 05:30 with a 2h window: the 03:00 run is not made up; the skip is announced."""
    start = utc("2026-11-21 12:00")
    add(bot, '"status web" cron "0 3 * * *" tz UTC window 2h name nightly', at=start)
    scheduler(bot, Clock(utc("2026-11-22 05:30"))).step()
    assert {} == jobs_by_fire(bot)
    history = bot.schedules.history("nightly", 5)
    assert "missed" == history[0]["outcome"]
    due = when(utc("2026-11-22 03:00"))  # each reader's time in Slack, the team's in a console
    assert f"Skipped 1 run(s) of schedule `nightly` due {due}: " in history[0]["detail"]
    assert "older than its 2h window" in history[0]["detail"]


def test_a_long_outage_runs_the_newest_once_and_never_a_pile(bot):
    """Every 10 minutes, down for 3 hours, window 1h: one run (the newest), one skip notice."""
    start = utc("2026-11-22 00:00")
    add(bot, '"status localhost" every 10m window 1h name often', at=start)
    scheduler(bot, Clock(utc("2026-11-22 03:05"))).step()
    assert [utc("2026-11-22 03:00")] == list(jobs_by_fire(bot))
    history = bot.schedules.history("often", 5)
    assert ["missed", "queued"] == sorted(h["outcome"] for h in history)
    missed = next(h for h in history if h["outcome"] == "missed")
    assert "Skipped 17 run(s)" in missed["detail"]


def test_paused_schedules_do_not_run_and_resuming_makes_nothing_up(bot):
    """Pause, let fire times pass, resume: nothing runs for the paused time."""
    start = utc("2026-11-22 00:00")
    add(bot, '"status localhost" every 10m name often', at=start)
    assert "paused" in bot.handle(Request("schedule pause often", ADMIN, "test")).text
    clock = Clock(start + 1800)
    scheduler(bot, clock).step()
    assert {} == jobs_by_fire(bot)
    bot.schedules.resume("often", clock.now)
    clock.now += 600
    scheduler(bot, clock).step()
    assert [start + 2400] == list(jobs_by_fire(bot))


def test_a_skip_request_skips_exactly_that_run(bot):
    """`schedule skip` marks the next run; it is skipped and announced, the one after runs."""
    # The real clock decides "next": the schedule fires every 10 minutes from now on.
    add(bot, '"status localhost" every 10m name often')
    reply = bot.handle(Request("schedule skip often", OPERATOR, "test"))
    assert "will be skipped (asked by <@U0OPER>)" in reply.text
    upcoming = bot.schedules.get("often").timing.next_after(int(datetime.now(UTC).timestamp()))
    clock = Clock(upcoming)
    scheduler(bot, clock).step()
    clock.now += 600
    scheduler(bot, clock).step()
    assert [upcoming + 600] == list(jobs_by_fire(bot))
    assert ["skipped", "queued"] == outcomes(bot, "often")
    assert "<@U0OPER> asked to skip it" in bot.schedules.history("often", 2)[1]["detail"]


def test_the_owner_who_lost_the_role_gets_a_refusal_not_a_run(tmp_path, r):
    """Permission is checked again at every fire."""
    bot = make_bot(tmp_path, r)
    start = utc("2026-11-22 00:00")
    add(bot, '"status localhost" every 10m name often', user=OPERATOR, at=start)
    demoted = make_bot(
        tmp_path / "later",
        r,
        policy={"roles": {"admin": {"permissions": ["*"], "members": [ADMIN]}}},
    )
    scheduler(demoted, Clock(start + 600)).step()
    assert {} == jobs_by_fire(demoted)
    history = demoted.schedules.history("often", 1)
    assert "refused" == history[0]["outcome"]
    assert "U0OPER" in history[0]["detail"]


def test_a_freeze_skips_scheduled_changes_and_refuses_chat_changes(tmp_path, r):
    """During a change freeze: the scheduled patch is skipped and announced; a chat patch is
    refused; check mode and read-only commands still run."""
    today = datetime.now(UTC)
    freeze = {
        "year-end": {
            "from": f"{today.year - 1}-12-18",
            "until": f"{today.year + 1}-01-04 08:00",
        }
    }
    bot = make_bot(tmp_path, r, freezes=freeze)
    start = int(today.timestamp()) // 600 * 600
    add(bot, '"patch web-01 --security-only" every 10m name patching', at=start)
    add(bot, '"status web" every 10m name looking', at=start)
    scheduler(bot, Clock(start + 600)).step()
    assert [("looking", start + 600)] == [(r.schedule, r.fire_time) for r in bot.jobs.recent(10)]
    skipped = bot.schedules.history("patching", 1)[0]
    assert "skipped" == skipped["outcome"]
    assert "change freeze `year-end` is on until" in skipped["detail"]
    held = bot.handle(Request("patch web-01", ADMIN, "test", confirmed=True))
    assert Outcome.NEEDS_APPROVAL is held.outcome
    assert "Change freeze `year-end` is on until" in held.text
    assert "needs an approved override" in held.text
    assert 1 == len(bot.jobs.recent(10))  # nothing more was queued
    assert not bot.handle(Request(f"approve {held.approval.id}", ADMIN, "test")).ok
    assert bot.handle(Request("patch web-01 --check", ADMIN, "test")).ok


def test_runs_only_inside_their_maintenance_window(tmp_path, r):
    """`during sunday-night`: a fire time outside the window is skipped and announced."""
    windows = {"sunday-night": {"cron": "0 2 * * SUN", "duration": "4h"}}
    bot = make_bot(tmp_path, r, maintenance_windows=windows)
    start = utc("2026-11-21 00:00")  # Saturday
    add(bot, '"status web" cron "0 4 * * *" tz UTC during sunday-night name w', at=start)
    clock = Clock(utc("2026-11-21 04:00"))  # Saturday 04:00: outside
    scheduler(bot, clock).step()
    clock.now = utc("2026-11-22 04:00")  # Sunday 04:00: inside 02:00-06:00
    scheduler(bot, clock).step()
    assert [utc("2026-11-22 04:00")] == list(jobs_by_fire(bot))
    assert ["skipped", "queued"] == outcomes(bot, "w")


def test_cron_in_a_timezone_fires_at_local_time_across_the_dst_change(bot):
    """03:00 Oslo every day through 2026-10-25: 01:00 UTC before, 02:00 UTC after."""
    start = utc("2026-10-23 12:00")
    add(bot, '"status web" cron "0 3 * * *" tz Europe/Oslo name oslo', at=start)
    clock = Clock(start)
    while clock.now < utc("2026-10-27 12:00"):
        clock.now += 300
        scheduler(bot, clock).step()
    fires = [datetime.fromtimestamp(f, UTC).strftime("%m-%d %H:%M") for f in jobs_by_fire(bot)]
    assert ["10-24 01:00", "10-25 02:00", "10-26 02:00", "10-27 02:00"] == sorted(fires)


def test_heads_up_goes_out_once_before_the_run(bot):
    """A 15-minute heads-up is recorded once, however many passes happen in those minutes."""
    start = utc("2026-11-22 00:00")
    add(bot, '"status web" cron "0 3 * * *" tz UTC heads-up 15m name nightly', at=start)
    clock = Clock(utc("2026-11-22 02:40"))
    scheduler(bot, clock).step()
    assert not bot.jobs.r.exists(Keys.schedule_claim("nightly", "headsup", utc("2026-11-22 03:00")))
    for minute in (45, 46, 50, 59):
        clock.now = utc(f"2026-11-22 02:{minute}")
        scheduler(bot, clock).step()
    assert bot.jobs.r.exists(Keys.schedule_claim("nightly", "headsup", utc("2026-11-22 03:00")))


@pytest.mark.parametrize(
    ("words", "fragment"),
    [
        ('"status web"', "needs a quoted command and when to run it"),
        ('"status web" at "0 3 * * *"', "Expected `cron` or `every`"),
        ('"status web" cron "0 3 * *"', "has 4 field(s); it needs 5"),
        ('"status web" cron "0 3 * * *" tz Mars/Base', "`Mars/Base` is not an IANA timezone"),
        ('"status web" every 0s', "every"),
        ('"status web" every 1h tz UTC', "`tz` goes with `cron`"),
        ('"status web" every 1h colour red', "`colour` is not a schedule option"),
        ('"status web" every 1h window', "`window` needs a value"),
        ('"status web" every 1h name Bad_Name', "cannot be a name here"),
        ('"status nowhere" every 1h', "`nowhere` is not a host or group"),
        ('"toil me" every 1h', "cannot be scheduled"),
        ('"status web" every 1h during nope', "There is no maintenance window `nope`"),
    ],
)
def test_bad_schedules_are_refused_with_the_fix(bot, words, fragment):
    """Every mistake in `schedule add` is a clear refusal; nothing is stored."""
    reply = bot.handle(Request(f"schedule add {words}", ADMIN, "test"))
    assert not reply.ok
    assert fragment in reply.text
    assert 0 == bot.jobs.r.hlen(Keys.schedules)


def test_schedule_permissions(bot):
    """A viewer may list but not add; an operator may add only what they may run."""
    assert bot.handle(Request("schedule list", VIEWER, "test")).ok
    denied = bot.handle(Request('schedule add "status web" every 1h', VIEWER, "test"))
    assert not denied.ok
    assert "schedule" in denied.text
    assert not bot.handle(Request('schedule add "toil me" every 1h', OPERATOR, "test")).ok
    assert bot.handle(Request('schedule add "status web" every 1h', OPERATOR, "test")).ok


def test_list_show_pause_resume_remove(bot):
    """The schedule commands answer in words a person reads at 3 a.m."""
    text = add(bot, '"status web" cron "0 3 * * SUN" tz Europe/Oslo window 2h')
    assert 'Schedule `status-web` added: `status web` cron "0 3 * * SUN" Europe/Oslo' in text
    assert "No scheduler is running" in text
    listing = bot.handle(Request("schedule list", ADMIN, "test")).text
    assert "`status-web`" in listing
    assert "CET" in listing
    shown = bot.handle(Request("schedule show status-web", ADMIN, "test")).text
    assert "window 2h" in shown
    assert "Next runs:" in shown
    assert "paused" in bot.handle(Request("schedule pause status-web", ADMIN, "test")).text
    assert "already paused" in bot.handle(Request("schedule pause status-web", ADMIN, "test")).text
    assert "resumed" in bot.handle(Request("schedule resume status-web", ADMIN, "test")).text
    assert "removed" in bot.handle(Request("schedule remove status-web", ADMIN, "test")).text
    missing = bot.handle(Request("schedule show status-web", ADMIN, "test"))
    assert "There is no schedule `status-web`" in missing.text


def test_schedules_declared_in_toilbot_yaml(tmp_path, r):
    """Config schedules are listed, run, and cannot be removed from chat."""
    schedules = {
        "web-sunday": {
            "command": "status web",
            "cron": "0 3 * * SUN",
            "timezone": "Europe/Oslo",
            "window": "2h",
            "owner": ADMIN,
        }
    }
    bot = make_bot(tmp_path, r, schedules=schedules)
    assert "`web-sunday`" in bot.handle(Request("schedule list", ADMIN, "test")).text
    refused = bot.handle(Request("schedule remove web-sunday", ADMIN, "test"))
    assert "declared in" in refused.text
    assert not refused.ok


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ({"command": "status nowhere", "every": "1h", "owner": ADMIN}, "schedules.s.command"),
        ({"command": "status web", "owner": ADMIN}, "needs exactly one of cron or every"),
        ({"command": "status web", "cron": "0 3 * *", "owner": ADMIN}, "schedules.s.cron"),
        ({"command": "status web", "every": "1h", "owner": "bob"}, "schedules.s.owner"),
        ({"command": "status web", "every": "1h", "owner": ADMIN, "during": "x"}, "no maintenance"),
    ],
)
def test_bad_config_schedules_name_the_key(tmp_path, r, schedule, fragment):
    """A broken schedule in toilbot.yaml stops start-up with the key and the fix."""
    with pytest.raises(ConfigError) as caught:
        make_bot(tmp_path, r, schedules={"s": schedule})
    assert fragment in str(caught.value)


def test_tasks_run_once_per_fire_time_on_any_replica(bot):
    """toilbot's own work (the weekly summary) follows the same once-only rules."""
    ran: list[int] = []
    task = Task("toilbot.test", Every(3600), 600, lambda fire: ran.append(fire) or "done")
    start = utc("2026-11-22 00:00")
    clock = Clock(start)
    a = Scheduler(
        bot, bot.schedules, Announcer(bot.jobs.r, None, "UTC"), clock=clock, tasks=(task,)
    )
    b = Scheduler(
        bot, bot.schedules, Announcer(bot.jobs.r, None, "UTC"), clock=clock, tasks=(task,)
    )
    a.tick_task(task, start)  # first sight: nothing is due
    clock.now = utc("2026-11-22 01:05")
    a.tick_task(task, clock.now)
    b.tick_task(task, clock.now)
    clock.now = utc("2026-11-22 03:30")  # 02:00 missed (outside 10 min), 03:00 too late as well
    b.tick_task(task, clock.now)
    assert [utc("2026-11-22 01:00")] == ran
    assert ["done", "missed", "missed"] == outcomes(bot, "toilbot.test")


def test_slack_smart_quotes_are_read_as_quotes(bot):
    """Slack turns "..." into “...”; the schedule still gets the whole quoted command."""
    reply = bot.handle(
        Request("schedule add \u201cstatus web\u201d every 1h name quoted", ADMIN, "test")
    )
    assert reply.ok, reply.text
    assert "status web" == bot.schedules.get("quoted").command


def test_a_command_that_needs_approval_cannot_be_scheduled(bot):
    """Nobody is there to approve a 3 a.m. run: such a schedule is refused when added."""
    reply = bot.handle(Request('schedule add "guarded web-01" every 1h', ADMIN, "test"))
    assert not reply.ok
    assert "needs two-person approval for every run" in reply.text
    assert 0 == bot.jobs.r.hlen(Keys.schedules)


def test_help_schedule_explains_the_options(bot):
    """`help schedule` lists the forms and the options a person can use."""
    text = bot.handle(Request("help schedule", VIEWER, "test")).text
    assert 'schedule add "<command>" every <90s|30m|1h>' in text
    assert "window <2h>" in text and "heads-up <15m>" in text


def test_skips_are_announced_in_the_schedules_channel(bot, slack, monkeypatch):
    """A run missed beyond its window is announced in #ops through the real Slack client."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))
    start = utc("2026-11-21 12:00")
    add(bot, '"status web" cron "0 3 * * *" tz UTC window 2h channel #ops name nightly', at=start)
    announcer = Announcer(bot.jobs.r, client, "UTC")
    clock = Clock(utc("2026-11-22 05:30"))
    Scheduler(bot, bot.schedules, announcer, clock=clock).step()
    [notice] = [m for m in slack.messages(DEFAULT_CHANNEL_ID) if "Skipped" in m.text]
    due = f"<!date^{utc('2026-11-22 03:00')}^{{date_short_pretty}} {{time}}|2026-11-22 03:00 UTC>"
    assert f"Skipped 1 run(s) of schedule `nightly` due {due}: " in notice.text
