"""A command from text to per-host results: parse, policy, confirmation, submit, the run."""

from __future__ import annotations

import re

import pytest
import redis

from bot.execution.records import HostStatus, JobStatus
from bot.platform.audit import Audit
from tests.conftest import ADMIN, NOBODY, OPERATOR, VIEWER


def audited(r: redis.Redis) -> list[tuple[str, str]]:
    """(action, user) of every audit entry, oldest first."""
    return [(e.data["action"], e.data["user"]) for e in Audit(r).entries()]


def test_a_command_runs_on_the_hosts_it_resolves_to_and_reports_each(harness, fake, r):
    """`status web` queues one job for web-01 and web-02, the runner gets exactly those hosts
    and values, and the job ends succeeded with each host's result shown and stored."""
    out = harness.say("status web", OPERATOR)
    assert 0 == harness.last_exit
    assert "Job 1 queued: `status web` on 2 hosts." in out
    assert "  web-01: ok (1/2 hosts done)\n  web-02: ok (2/2 hosts done)\n" in out
    assert re.search(r"✅ Job 1 succeeded on 2 hosts in \d+s\n", out), out
    [request] = fake.requests
    assert ("status.yml", ["web-01", "web-02"], {"targets": "web"}, False) == (
        request.playbook.name,
        request.hosts,
        request.values,
        request.check_mode,
    )
    record = harness.bot.jobs.get(1)
    assert (JobStatus.SUCCEEDED, OPERATOR, None) == (record.status, record.user, record.reason)
    assert {"web-01": HostStatus.OK, "web-02": HostStatus.OK} == {
        host: result.status for host, result in record.results.items()
    }
    assert [("command.accepted", OPERATOR), ("job.finished", OPERATOR)] == audited(r)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("statsu web", "There is no command `statsu`. Did you mean `status`"),
        ("status nowhere", "<targets>: `nowhere` is not a host or group in the inventory."),
        ("restart apache on web-01", "<service>: `apache` is not allowed (allowed: nginx,"),
        ("patch web-01 --serial 0", "<serial>: `0` is not a whole number from 1 to 100."),
    ],
)
def test_mistakes_are_refused_before_anything_is_queued(harness, fake, r, text, fragment):
    """A typo, an unknown host, a service off the allowlist or a bad number is answered with
    the fix; nothing is queued or run, and the refusal is audited."""
    out = harness.say(text, OPERATOR)
    assert 2 == harness.last_exit
    assert fragment in out
    assert 0 == r.zcard("toilbot:jobs")
    assert [] == fake.requests
    assert [("command.parse_error", OPERATOR)] == audited(r)


@pytest.mark.parametrize(("user", "text"), [(VIEWER, "patch web-01"), (NOBODY, "status web")])
def test_the_policy_refuses_what_no_role_grants(harness, fake, r, user, text):
    """Without a role granting the command's permission the answer names the permission and
    where to grant it; nothing runs."""
    out = harness.say(text, user)
    permission = text.split()[0]
    assert 2 == harness.last_exit
    assert f"You (<@{user}>) may not run `{permission}`: it needs the `{permission}`" in out
    assert "toilbot.yaml (policy.roles)" in out
    assert [] == fake.requests
    [entry] = [e.data for e in Audit(r).entries()]
    assert ("command.denied", user, f"no role of {user} grants {permission}") == (
        entry["action"],
        entry["user"],
        entry["rule"],
    )


def test_a_change_runs_only_once_its_requester_confirms(harness, fake, r):
    """`patch` asks first: declined, nothing runs; confirmed, it runs and changes the host."""
    declined = harness.say("patch web-01", OPERATOR, confirm=False)
    assert 2 == harness.last_exit
    assert "`patch web-01` needs confirmation and was not run. Nothing changed." in declined
    assert ([], 0) == (fake.requests, r.zcard("toilbot:jobs"))
    confirmed = harness.say("patch web-01", OPERATOR, confirm=True)
    assert 0 == harness.last_exit
    assert "Job 1 queued: `patch web-01` on 1 host." in confirmed
    assert re.search(r"✅ Job 1 succeeded on 1 host in \d+s — 1 changed\n", confirmed)
    result = harness.bot.jobs.get(1).results["web-01"]
    assert (HostStatus.CHANGED, 1) == (result.status, result.changed)
    assert [
        ("confirmation.asked", OPERATOR),
        ("confirmation.declined", OPERATOR),
        ("confirmation.asked", OPERATOR),
        ("confirmation.confirmed", OPERATOR),
        ("command.accepted", OPERATOR),
        ("job.finished", OPERATOR),
    ] == audited(r)


def test_check_mode_changes_nothing_and_needs_no_confirmation(harness, fake):
    """`--check` reaches the runner as check mode, is queued without asking, changes nothing."""
    out = harness.say("patch db-01 --check", OPERATOR, confirm=False)
    assert 0 == harness.last_exit
    assert "Job 1 queued: `patch db-01 --check` on 1 host in check mode" in out
    assert "  db-01: ok (1/1 hosts done)" in out
    [request] = fake.requests
    assert (True, ["db-01"]) == (request.check_mode, request.hosts)
    record = harness.bot.jobs.get(1)
    assert (True, HostStatus.OK, 0) == (
        record.check_mode,
        record.results["db-01"].status,
        record.results["db-01"].changed,
    )


def test_a_failed_or_unreachable_host_fails_the_job_with_its_reason(harness, fake):
    """A host whose task fails, or that cannot be reached, fails the job; the others' results
    stand, and the transcript shows the failing task, its message and the output."""
    fake.fail("web-02", "disk full")
    out = harness.say("patch web", OPERATOR)
    assert 1 == harness.last_exit
    assert "  web-02: failed at 'Apply': disk full (" in out
    assert "web-02  FAILED      at task 'Apply': disk full" in out
    assert re.search(r"❌ Job 1 failed on web-02 at 'Apply' after \d+s — 1 failed, 1 changed", out)
    assert "Last lines of output:" in out and "  | failed: [web-02]" in out
    record = harness.bot.jobs.get(1)
    assert (JobStatus.FAILED, "1 host did not succeed") == (record.status, record.reason)
    assert {"web-01": HostStatus.CHANGED, "web-02": HostStatus.FAILED} == {
        host: result.status for host, result in record.results.items()
    }
    assert ("Apply", "disk full") == (
        record.results["web-02"].failed_task,
        record.results["web-02"].message,
    )
    fake.unreachable["db-01"] = "ssh: connect to host db-01: Connection refused"
    harness.say("patch db-01", OPERATOR)
    assert 1 == harness.last_exit
    assert HostStatus.UNREACHABLE == harness.bot.jobs.get(2).results["db-01"].status


def test_a_running_job_holds_its_hosts_until_it_is_cancelled(harness, fake, r):
    """While a job runs, its hosts refuse another change and `jobs` shows it running; only
    someone with `cancel` stops it, the runner sees the cancel, and the hosts are free again."""
    answers: dict[str, str] = {}

    def meanwhile() -> None:
        for text, user in [("patch web-01", ADMIN), ("jobs", VIEWER), ("cancel 1", VIEWER)]:
            answers[f"{user} {text}"] = harness.say(text, user)
        answers["cancel"] = harness.say("cancel 1", OPERATOR)

    fake.hold_until_cancelled, fake.while_running = True, meanwhile
    out = harness.say("patch web", OPERATOR)
    assert 1 == harness.last_exit
    locked = answers[f"{ADMIN} patch web-01"]
    assert "web-01 is locked by job 1 (`patch web`, running, started by U0OPER)" in locked
    assert "1  running" in answers[f"{VIEWER} jobs"]
    assert "needs the `cancel` permission" in answers[f"{VIEWER} cancel 1"]
    assert "Cancelling job 1: the Ansible run is being stopped." in answers["cancel"]
    assert re.search(r"⏹️ Job 1 was cancelled by <?@U0OPER>? on 2 hosts after \d+s — 2 not run", out)
    record = harness.bot.jobs.get(1)
    assert (JobStatus.CANCELED, "cancelled by U0OPER") == (record.status, record.reason)
    assert {HostStatus.NOT_RUN} == {result.status for result in record.results.values()}
    assert ("job.cancel", OPERATOR) in audited(r)
    fake.hold_until_cancelled, fake.while_running = False, None
    again = harness.say("patch web-01", ADMIN)
    assert 0 == harness.last_exit and "succeeded on 1 host in" in again
    assert "web-01: changed" in again


def test_a_flag_typed_with_a_phones_dash_runs_as_the_flag(harness, fake):
    """`patch web-01 —check` (iOS turned `--` into an em dash) runs `patch web-01 --check` in
    check mode; an unknown name after the dash is answered with the flag it may have meant."""
    out = harness.say("patch web-01 \u2014check", OPERATOR)
    assert 0 == harness.last_exit
    assert "Job 1 queued: `patch web-01 --check` on 1 host in check mode" in out
    [request] = fake.requests
    assert (["web-01"], True) == (request.hosts, request.check_mode)
    refused = harness.say("patch web-01 \u2014chek", OPERATOR)
    assert 2 == harness.last_exit
    assert "`\u2014chek` is not an option of this command. Did you mean `--check`" in refused


def test_only_a_job_that_did_the_work_counts_as_toil_saved(harness, fake, r):
    """A failed job and a `--check` run cost their requester hands-on time like any job, but
    saved nobody the manual task: only the succeeded real run is credited as saved."""
    import time

    from bot.toil.ledger import Ledger

    fake.fail("web-02", "disk full")
    harness.say("patch web-02", OPERATOR)  # fails
    harness.say("patch db-01 --check", OPERATOR, confirm=False)  # a dry run
    harness.say("patch db-01", OPERATOR)  # does the work
    ledger = Ledger(r)
    window = (time.time() - 3600, time.time() + 60)
    assert 3 == len(ledger.between(*window))  # hands-on time for every job
    [saved] = ledger.saved_between(*window)
    assert (3, "patch") == (saved["job"], saved["spec"])
    assert saved["seconds"] > 0
