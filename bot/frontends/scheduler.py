"""The scheduler loop: one leader among any number of replicas fires each run once.

Every replica runs :meth:`Scheduler.step` about once a second. A replica
leads while it holds ``Keys.scheduler_leader`` (SET NX PX, renewed at each
step); a leader killed with SIGKILL is replaced within the lease. Only the
leader looks at schedules, and even two replicas that both believe they lead
cannot run a fire time twice: each run is *claimed* with SET NX per
(schedule, fire time) before anything is queued.

A pass costs what is due, not what is stored: the leader reads only the
schedules whose next look (fire time or heads-up, kept in a sorted set by the
registry) has come, and writes each one's next look back after deciding it.
A new leader first marks the schedules of toilbot.yaml due, since the file
may have changed.

For each schedule looked at, the leader takes the fire times between its
cursor (the last fire time decided) and now:

- late by less than the handover grace (two leases): run, each of them: a
  leader change is not an outage;
- otherwise only the newest, and only if it is still inside the schedule's
  window; every other one is skipped and the skip is announced once. No pile
  of catch-up runs, ever.

A run is also skipped (and announced) when someone pressed Skip, when a
change freeze is on, or when it falls outside its maintenance window. The
owner's permission is checked again at every run by the normal pipeline
(``Bot.handle``); a refusal is announced, not run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

from bot.frontends import text as frontend_text
from bot.frontends.slack.schedule_notices import Announcer
from bot.pipeline.bot import Bot, Outcome
from bot.pipeline.request import Channel, ReplyTo, Request
from bot.platform.audit import AuditAction
from bot.platform.metrics import set_leader
from bot.platform.store import QUEUE, Keys
from bot.platform.unreachable import log_failure
from bot.schedule.cron import Timing
from bot.schedule.model import Schedule
from bot.schedule.registry import REPLICA_SEEN, Registry

log = logging.getLogger(__name__)
MAX_MISSED = 1000  # fire times counted one by one in a skip notice; beyond, "more than"

_LEAD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Task:
    """toilbot's own recurring work (the weekly toil summary): once per fire time, like a
    schedule, but a Python function instead of a chat command."""

    name: str  # has a dot, so no chat schedule can share its keys
    timing: Timing
    window: int
    run: Callable[[int], str]  # fire time -> what it did, for the history


def replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Scheduler:
    def __init__(
        self,
        bot: Bot,
        registry: Registry,
        announcer: Announcer,
        *,
        replica: str | None = None,
        clock: Callable[[], float] = time.time,
        tasks: tuple[Task, ...] = (),
    ) -> None:
        self.tasks = tasks
        self.bot = bot
        self.registry = registry
        self.announcer = announcer
        self.r = registry.r
        self.settings = bot.settings.schedule
        self.lease = self.settings.lease_seconds
        self.grace = 2 * self.lease
        self.replica = replica or replica_id()
        self.clock = clock
        self._lead = self.r.register_script(_LEAD)
        self._resign = self.r.register_script(_RESIGN)
        self._indexed = False  # toilbot.yaml's schedules put in the index, once per process

    # --- the loop ----------------------------------------------------------

    def run(self, stopped: threading.Event) -> None:
        """Step about once a second until ``stopped``; hand leadership over on the way out."""
        interval = min(1.0, self.lease / 4)
        log.info("scheduler %s started (lease %ss)", self.replica, self.lease)
        failures = 0  # in a row: Redis down is waited out with a backoff, up to 8 intervals
        try:
            while True:
                try:
                    self.step()
                    failures = 0
                except Exception:  # Redis down, a bad schedule: log, keep the loop alive
                    log_failure(log, "scheduler step failed")
                    failures += 1
                if stopped.wait(interval * min(2 ** max(failures - 1, 0), 8)):
                    break
        finally:
            self.resign()

    def step(self) -> bool:
        """One pass; True if this replica led it."""
        now = int(self.clock())
        self.r.zadd(Keys.scheduler_replicas, {self.replica: now})
        self.r.zremrangebyscore(Keys.scheduler_replicas, 0, now - REPLICA_SEEN * 10)
        led = self.lead()
        set_leader(led)
        if not led:
            return False
        if not self._indexed:
            self.registry.index_configured()
            self._indexed = True
        for schedule in self.registry.due(now):
            try:
                self.tick(schedule, now)
            except Exception:
                log_failure(log, "schedule %s: pass failed", schedule.name)
        for task in self.tasks:
            try:
                self.tick_task(task, now)
            except Exception:
                log_failure(log, "task %s: pass failed", task.name)
        return True

    def lead(self) -> bool:
        return bool(
            self._lead(keys=[Keys.scheduler_leader], args=[self.replica, self.lease * 1000])
        )

    def resign(self) -> None:
        try:
            self._resign(keys=[Keys.scheduler_leader], args=[self.replica])
            set_leader(False)
            self.r.zrem(Keys.scheduler_replicas, self.replica)
        except Exception:  # Redis gone on the way out: the lease expires on its own
            log.warning("scheduler %s: could not resign", self.replica)

    # --- one schedule ------------------------------------------------------

    def tick(self, schedule: Schedule, now: int) -> None:
        name = schedule.name
        state = self.registry.state(name)
        cursor = state.cursor if state.cursor is not None else self.registry.start_cursor(name, now)
        if state.paused_by:
            self.registry.advance(name, now)
            self.registry.reschedule(name, schedule.wake_at(now))  # +inf while paused
            return
        runs, missed = self._due(schedule.timing, schedule.window, cursor, now)
        if missed:
            self._missed(schedule, missed, len(missed) > MAX_MISSED)
        for fire in runs:
            self.fire(schedule, fire, now)
        last = max([*runs, *missed], default=None)
        if last is not None:
            self.registry.advance(name, last)
        self._heads_up(schedule, now)
        self.registry.reschedule(name, schedule.wake_at(now))

    def tick_task(self, task: Task, now: int) -> None:
        """toilbot's own work: same timing rules, claims and history, no chat commands."""
        cursor = self.registry.start_cursor(task.name, now)  # set on first sight, else as is
        runs, missed = self._due(task.timing, task.window, cursor, now)
        for fire in missed:
            if self.registry.claim(task.name, "missed", fire, self.replica):
                self.registry.log(task.name, fire, "missed", "no scheduler ran in its window")
        for fire in runs:
            if not self.registry.claim(task.name, "run", fire, self.replica):
                continue
            try:
                outcome = task.run(fire)
            except Exception as exc:
                log.exception("task %s failed", task.name)
                self.registry.log(task.name, fire, "failed", str(exc))
            else:
                self.registry.log(task.name, fire, "done", outcome)
        last = max([*runs, *missed], default=None)
        if last is not None:
            self.registry.advance(task.name, last)

    def _due(
        self, timing: Timing, window: int, cursor: int, now: int
    ) -> tuple[list[int], list[int]]:
        """Fire times in (cursor, now]: those to run, and those missed for good."""
        horizon = now - window
        missed = list(islice(timing.between(cursor, horizon), MAX_MISSED + 1))
        recent = list(timing.between(max(cursor, horizon), now))
        runs = [f for f in recent if now - f <= min(self.grace, window)]
        if recent and recent[-1] not in runs:
            runs.append(recent[-1])  # the newest inside the window: once, on recovery
        missed += [f for f in recent if f not in runs]
        return runs, sorted(missed)

    def fire(self, schedule: Schedule, fire: int, now: int) -> None:
        """Run ``fire`` of ``schedule`` unless another replica already did."""
        name = schedule.name
        if not self.registry.claim(name, "run", fire, self.replica):
            return
        late = now - fire
        skipper = self.registry.skip_requested(name, fire)
        if skipper:
            self._skip(schedule, fire, frontend_text.schedule_skipped_by(name, skipper))
            return
        if schedule.during:
            window = self.settings.windows.get(schedule.during)
            if window is None or not window.contains(now):
                self._skip(
                    schedule, fire, frontend_text.schedule_outside_window(name, schedule.during)
                )
                return
        reply_to = ReplyTo(schedule.channel, user=schedule.owner) if schedule.channel else None
        request = Request(
            schedule.command,
            schedule.owner,
            "schedule",
            confirmed=True,
            queue=QUEUE,
            reply_to=reply_to,
            channel=Channel.of(schedule.channel),  # runs "in" its channel: channel rules apply
            scheduled=(name, fire),
        )
        reply = self.bot.handle(request)
        if reply.outcome is Outcome.QUEUED and reply.job is not None:
            self.registry.log(name, fire, "queued", reply.text, job=reply.job.id)
            self._audit(AuditAction.SCHEDULE_FIRED, schedule, fire, "queued", reply.job.id)
            log.info("schedule %s: fire %s late %ss -> job %s", name, fire, late, reply.job.id)
        elif reply.freeze is not None:
            text = frontend_text.schedule_frozen(name, reply.freeze.name, reply.freeze.end)
            self._skip(schedule, fire, text)
        elif reply.outcome is Outcome.ANSWERED:
            self.registry.log(name, fire, "answered", reply.text)
            self.announcer.announce(schedule, reply.text)
        else:
            text = frontend_text.schedule_refused(name, schedule.owner, reply.text)
            self.registry.log(name, fire, "refused", reply.text)
            self._audit(AuditAction.SCHEDULE_SKIPPED, schedule, fire, text)
            self.announcer.announce(schedule, text)

    # --- notices -----------------------------------------------------------

    def _audit(
        self,
        action: AuditAction,
        schedule: Schedule,
        fire: int,
        outcome: str,
        job: int | None = None,
    ) -> None:
        self.bot.audit.try_record(
            action,
            user=schedule.owner,
            source="scheduler",
            channel=schedule.channel,
            command=schedule.command,
            job=job,
            outcome=outcome,
            detail={"schedule": schedule.name, "fire": fire, "replica": self.replica},
        )

    def _skip(self, schedule: Schedule, fire: int, text: str) -> None:
        self._audit(AuditAction.SCHEDULE_SKIPPED, schedule, fire, text)
        self.registry.log(schedule.name, fire, "skipped", text)
        self.announcer.announce(schedule, text)

    def _missed(self, schedule: Schedule, fires: list[int], more: bool) -> None:
        newest = fires[-1]
        if not self.registry.claim(schedule.name, "missed", newest, self.replica):
            return
        text = frontend_text.schedule_missed(
            schedule.name,
            len(fires),
            more,
            fires[0],
            newest,
            schedule.window,
        )
        self.registry.log(schedule.name, newest, "missed", text)
        self._audit(AuditAction.SCHEDULE_SKIPPED, schedule, newest, text)
        self.announcer.announce(schedule, text)

    def _heads_up(self, schedule: Schedule, now: int) -> None:
        if not schedule.heads_up:
            return
        upcoming = schedule.timing.next_after(now)
        if upcoming is None or upcoming - schedule.heads_up > now:
            return
        following = schedule.timing.next_after(upcoming)
        if following is not None and following - upcoming <= schedule.heads_up:
            return  # runs closer together than the heads-up: a notice per run would be noise
        if not self.registry.claim(schedule.name, "headsup", upcoming, self.replica):
            return
        self.announcer.heads_up(schedule, upcoming)
