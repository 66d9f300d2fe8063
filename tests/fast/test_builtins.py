"""The builtins a person types beside commands: help, jobs, job, cancel, whoami, can, toil,
schedule; answers from the pipeline and the records they leave."""

from __future__ import annotations

import json

from bot.platform.audit import Audit
from tests.conftest import ADMIN, NOBODY, OPERATOR, VIEWER


def test_help_lists_every_command_and_explains_one(harness):
    """`help` lists the specs and the builtins to anyone; `help patch` gives its options,
    permission and confirmation level."""
    listing = harness.say("help", NOBODY)
    for usage in ("`status <targets>`", "`job <id>`", "`whoami`", "`can <@user> <command ...>`"):
        assert usage in listing
    one = harness.say("help patch", VIEWER)
    assert "  --check: list pending updates per host (old -> new version), change nothing" in one
    assert "Needs permission `patch`; confirmation: confirm; times out after 1h" in one


def test_jobs_and_job_show_what_ran_and_cancel_answers_for_a_finished_job(harness, fake):
    """`jobs` lists recent jobs, `job <id>` shows per-host results and a failed job's output,
    unknown or malformed ids are refused, and cancelling an ended job changes nothing."""
    harness.say("status db-01", OPERATOR)
    fake.fail("web-01", "no space left on device")
    harness.say("patch web-01", OPERATOR)
    listing = harness.say("jobs", VIEWER)
    assert "2  failed" in listing and "`patch web-01`" in listing
    assert "1  succeeded" in listing and "`status db-01`" in listing
    shown = harness.say("job 2", VIEWER)
    assert "web-01  FAILED      at task 'Apply': no space left on device" in shown
    assert "  | failed: [web-01]" in shown
    assert "There is no job 9. `jobs` lists recent ones." in harness.say("job 9", VIEWER)
    assert "`x` is not a job id." in harness.say("job x", VIEWER)
    assert 2 == harness.last_exit
    ended = harness.say("cancel 1", OPERATOR)
    assert "Job 1 has already ended (succeeded); there is nothing to cancel." in ended
    assert "succeeded" == harness.bot.jobs.get(1).status.value


def test_whoami_and_can_explain_the_policy(harness):
    """`whoami` lists a person's roles and permissions with where they come from; `can` says
    whether someone may run a command and which rule decides."""
    me = harness.say("whoami", VIEWER)
    assert "You are <@U0VIEW>." in me and "Roles: viewer (directly)." in me
    assert "  role viewer: status (policy.roles.viewer.permissions)" in me
    allowed = harness.say("can U0OPER restart nginx on web-01", ADMIN)
    assert "U0OPER may run `restart nginx on web-01`" in allowed
    assert "role operator grants restart" in allowed
    refused = harness.say("can U0VIEW patch web-01", ADMIN)
    assert "U0VIEW may not run `patch web-01`" in refused
    assert "no role of U0VIEW grants patch" in refused


def test_toil_logs_time_and_reports_the_week(harness, r):
    """`toil log` stores an entry in the ledger and `toil me` counts it in the week."""
    logged = harness.say("toil log 1h coding automation", OPERATOR)
    assert "Logged entry 1: 1h of coding (automation)" in logged
    entry = json.loads(r.get("toilbot:toil:entry:1"))
    assert ("U0OPER", "coding", "automation", 3600) == (
        entry["user"],
        entry["kind"],
        entry["category"],
        entry["end"] - entry["start"],
    )
    week = harness.say("toil me", OPERATOR)
    assert "operating 0h, coding 1h, overhead 0h." in week
    started = harness.say("toil start operating incident", OPERATOR)
    assert "Timer started: operating (incident)" in started


def test_schedules_are_added_listed_paused_and_removed(harness, r):
    """`schedule add` stores a schedule owned by its author; list, show, pause, resume and
    remove act on it, need the `schedule` permission to change it, and are audited."""
    added = harness.say('schedule add "status web" every 1h name hourly', OPERATOR)
    assert "Schedule `hourly` added: `status web` every 1h." in added
    stored = json.loads(r.hget("toilbot:schedules", "hourly"))
    assert ("status web", {"every": 3600}, OPERATOR) == (
        stored["command"],
        stored["timing"],
        stored["owner"],
    )
    assert "`hourly`  `status web`  every 1h" in harness.say("schedule list", VIEWER)
    assert "Owner <@U0OPER>; window 1h; heads-up 15m" in harness.say("schedule show hourly", VIEWER)
    assert "needs the `schedule` permission" in harness.say("schedule remove hourly", VIEWER)
    assert "Schedule `hourly` paused" in harness.say("schedule pause hourly", OPERATOR)
    assert "Schedule `hourly` resumed." in harness.say("schedule resume hourly", OPERATOR)
    assert "Schedule `hourly` removed" in harness.say("schedule remove hourly", OPERATOR)
    assert not r.hexists("toilbot:schedules", "hourly")
    actions = [e.data["action"] for e in Audit(r).entries() if e.data["source"] != "test"]
    assert ["schedule.added", "schedule.paused", "schedule.resumed", "schedule.removed"] == actions
