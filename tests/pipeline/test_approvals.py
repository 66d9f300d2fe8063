"""Two-person approval on the real pipeline: requests bound to one exact command, real jobs."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from bot.config.settings import Settings, load_settings
from bot.execution.jobs import Jobs
from bot.execution.records import HostStatus
from bot.frontends.wiring import assemble
from bot.pipeline.approvals import Approvals, ApprovalState
from bot.pipeline.bot import Outcome
from bot.pipeline.request import Request
from bot.platform.audit import Audit
from bot.platform.store import Keys, Store
from tests.conftest import ADMIN, OPERATOR, VIEWER, toilbot_cli, write_config
from tests.harness import Harness
from tests.pipeline.approval_setup import LEAD1, LEAD2, approval_config


@pytest.fixture
def approvals_config() -> dict[str, Any]:
    return {}


@pytest.fixture
def config_path(tmp_path: Path, approvals_config: dict[str, Any]) -> Path:
    return approval_config(tmp_path, approvals_config)


def jobs(r: redis.Redis) -> Jobs:
    return Jobs(r)


def request_of(r: redis.Redis, request_id: int):
    found = Approvals(r).get(request_id)
    assert found is not None
    return found


def test_the_requester_cannot_approve_their_own_command(harness, r):
    """Asking queues nothing; the requester's own `approve` is refused, approver or not."""
    asked = harness.say("guarded web-01", ADMIN)
    assert 4 == harness.last_exit
    assert "Approval request 1 is waiting" in asked and "`approve 1`" in asked
    assert "You cannot approve your own command" in harness.say("approve 1", ADMIN)
    harness.say("guarded web-02", OPERATOR)
    assert "You cannot approve your own command" in harness.say("approve 2", OPERATOR)
    assert 0 == r.zcard("toilbot:jobs")
    assert ApprovalState.PENDING == request_of(r, 1).state


def test_an_approver_runs_exactly_the_approved_command(harness, r):
    """The approver's `approve` queues the stored invocation: same command, hosts and values."""
    harness.say("guarded web --level high", OPERATOR)
    out = harness.say("approve 1", LEAD1)
    assert "Job 1 queued: `guarded web --level high` on 2 hosts." in out
    record = jobs(r).get(1)
    assert ("guarded web --level high", ["web-01", "web-02"]) == (record.command, record.hosts)
    assert {"targets": "web", "level": "high", "check": False} == record.values
    assert OPERATOR == record.user  # the job is the requester's
    assert {"web-01": "high", "web-02": "high"} == {
        h: res.report["level"] for h, res in record.results.items()
    }
    assert all(res.status is HostStatus.OK for res in record.results.values())
    request = request_of(r, 1)
    assert (ApprovalState.EXECUTED, 1, [LEAD1]) == (
        request.state,
        request.job_id,
        request.approvers,
    )


@pytest.mark.parametrize("approvals_config", [{"expiry": 1}])
def test_an_approval_after_the_expiry_does_nothing(harness, r):
    """Past its expiry a request runs nothing when approved, says so, and is marked expired."""
    harness.say("guarded web-01", OPERATOR)
    time.sleep(1.2)
    out = harness.say("approve 1", LEAD1)
    assert "Approval request 1 expired at" in out and "nothing was run" in out
    assert 2 == harness.last_exit
    assert 0 == r.zcard("toilbot:jobs")
    assert ApprovalState.EXPIRED == request_of(r, 1).state
    assert "No commands are waiting for approval." in harness.say("approvals", LEAD1)


def test_a_changed_command_needs_a_new_approval(harness, r):
    """Other flags or hosts make a new request; the old approval never runs them, nor twice."""
    harness.say("guarded web-01", OPERATOR)
    assert "Job 1 queued" in harness.say("approve 1", LEAD1)
    for changed in ("guarded web-01 --level high", "guarded web-02"):
        out = harness.say(changed, OPERATOR)
        assert 4 == harness.last_exit, out
    assert "already executed (job 1)" in harness.say("approve 1", LEAD2)
    assert 1 == r.zcard("toilbot:jobs")
    digests = {request_of(r, i).digest for i in (1, 2, 3)}
    assert 3 == len(digests)


def test_an_inventory_change_after_the_request_needs_a_new_approval(
    harness, r, settings: Settings, config_path: Path
):
    """If the group now resolves to other hosts, approving refuses and ends the request."""
    harness.say("guarded web", OPERATOR)
    inventory_path = config_path.parent / "hosts.yml"
    inventory = yaml.safe_load(inventory_path.read_text())
    web = inventory["all"]["children"]["web"]["hosts"]
    web["web-03"] = web["web-01"]
    inventory_path.write_text(yaml.safe_dump(inventory))
    restarted = Harness.start(settings, Store(r, "test Redis"))  # the bot reloads the inventory
    out = restarted.say("approve 1", LEAD1)
    assert "resolves to web-01, web-02, web-03 instead of web-01, web-02" in out
    assert "needs a new approval" in out
    assert 0 == r.zcard("toilbot:jobs")
    assert ApprovalState.FAILED == request_of(r, 1).state


def test_a_tampered_request_does_not_run(harness, r):
    """A stored command that no longer matches the approved hash is refused."""
    harness.say("guarded web-01", OPERATOR)
    r.hset("toilbot:approval:1", "command", "guarded web-01 --level high")
    out = harness.say("approve 1", LEAD1)
    assert "no longer matches the approved one" in out
    assert 0 == r.zcard("toilbot:jobs")


@pytest.mark.parametrize("approvals_config", [{"quorum": 2}])
def test_a_quorum_of_two_needs_two_distinct_approvers(harness, r):
    """With quorum 2 one approver counts once; the second distinct approver runs it."""
    harness.say("guarded web-01", OPERATOR)
    assert "(1 of 2); 1 more approver needed" in harness.say("approve 1", LEAD1)
    assert "You already approved request 1 (1 of 2)" in harness.say("approve 1", LEAD1)
    assert 0 == r.zcard("toilbot:jobs")
    listing = harness.say("approvals", LEAD2)
    assert "1  `guarded web-01` by <@U0OPER> · 1 of 2 · expires <!date^" in listing
    assert "Job 1 queued" in harness.say("approve 1", LEAD2)
    assert [LEAD1, LEAD2] == request_of(r, 1).approvers


def test_a_spec_can_ask_for_more_approvers(harness, r):
    """`quorum: 2` in a spec overrides the default of one approver."""
    harness.say("guarded-pair web-01", OPERATOR)
    assert "(1 of 2)" in harness.say("approve 1", LEAD1)
    assert 0 == r.zcard("toilbot:jobs")


def test_deny_ends_the_request(harness, r):
    """An approver's deny ends it with the reason; later approvals run nothing."""
    harness.say("guarded web-01", OPERATOR)
    assert "may not approve or deny" in harness.say("deny 1", VIEWER)
    assert "Approval request 1 is denied" in harness.say("deny 1 not during the freeze", LEAD1)
    assert "already denied" in harness.say("approve 1", LEAD2)
    request = request_of(r, 1)
    assert (ApprovalState.DENIED, LEAD1, "not during the freeze") == (
        request.state,
        request.decided_by,
        request.reason,
    )
    assert 0 == r.zcard("toilbot:jobs")


def test_people_without_the_approve_permission_cannot_approve(harness, r):
    """Approving needs the `approve` permission; an unknown request id is a clear answer."""
    harness.say("guarded web-01", ADMIN)
    assert "may not approve or deny commands" in harness.say("approve 1", OPERATOR)
    assert "There is no approval request 9" in harness.say("approve 9", LEAD1)
    assert "is not an approval request number" in harness.say("approve x", LEAD1)
    assert 0 == r.zcard("toilbot:jobs")


def test_check_mode_needs_no_approval(harness, r):
    """A run in check mode changes nothing, so it is queued at once."""
    out = harness.say("guarded web-01 --check", OPERATOR)
    assert "Job 1 queued: `guarded web-01 --check` on 1 host in check mode" in out
    assert 0 == r.zcard("toilbot:approvals")


def test_exec_prints_the_request_and_how_to_get_it_approved(env, r):
    """`toilbot exec` of a command that needs approval exits 4 with the request id."""
    proc = toilbot_cli(env, "exec", "--user", OPERATOR, "guarded web-01")
    assert 4 == proc.returncode, proc.stderr
    assert "Approval request 1 is waiting until " in proc.stdout  # the team's time: UTC here
    assert re.search(r"waiting until \w{3} \d{4}-\d\d-\d\d \d\d:\d\d UTC; ", proc.stdout)
    assert "or types approve 1." in proc.stdout
    as_json = toilbot_cli(env, "exec", "--user", OPERATOR, "--json", "guarded web-02")
    body = json.loads(as_json.stdout)
    assert ("needs_approval", 2, ["web-02"]) == (
        body["outcome"],
        body["approval"]["id"],
        body["approval"]["hosts"],
    )
    approved = toilbot_cli(env, "exec", "--user", LEAD1, "--json", "approve 2")
    assert 0 == approved.returncode, approved.stderr
    assert ["web-02"] == json.loads(approved.stdout)["job"]["hosts"]


def test_racing_clicks_decide_once(harness, r):
    """Many approvers and a denier clicking at once: exactly one outcome, recorded once."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.pipeline.parse import parse

    invocation = parse("guarded web-01", harness.bot.specs, harness.bot.inventory)
    store = Approvals(r)
    for _ in range(20):
        made = store.create(invocation, OPERATOR, "test", expiry=60, quorum=1)
        voters = [f"U0LEAD{i}" for i in range(6)]
        with ThreadPoolExecutor(len(voters) + 1) as pool:
            denied = pool.submit(Approvals(r).deny, made.id, "U0LEADX", "no")
            voted = [pool.submit(Approvals(r).approve, made.id, u) for u in voters]
            votes = [f.result().code for f in voted]
            denial = denied.result().code
        winners = votes.count("approved") + (denial == "ok")
        assert 1 == winners, (votes, denial)
        final = request_of(r, made.id)
        assert final.state in (ApprovalState.APPROVED, ApprovalState.DENIED)
        assert len(final.approvers) <= 1
    assert 0 == r.zcard("toilbot:approvals:pending")


def test_approvals_schedules_and_policy_reloads_are_audited(harness, r, config_path, env):
    """The audit log holds the request, the refused self-approval, the approval, the denial, a
    schedule change and a policy reload; editing or deleting one makes `audit verify` name it."""
    harness.say("guarded web-01", OPERATOR)
    harness.say("approve 1", OPERATOR)
    harness.say("approve 1", LEAD1)
    harness.say("guarded web-02", OPERATOR)
    harness.say("deny 2 not tonight", LEAD2)
    harness.say('schedule add "status web" every 1h name hourly', ADMIN)
    config = yaml.safe_load(config_path.read_text())
    config["policy"]["roles"]["viewer"]["members"].append("U0NEWVIEW")
    config_path.write_text(yaml.safe_dump(config))
    harness.say("whoami", ADMIN)  # the next command re-reads the changed policy
    entries = [e.data for e in Audit(r).entries()]
    seen = [(e["action"], e["user"]) for e in entries]
    for expected in [
        ("approval.requested", OPERATOR),
        ("command.refused", OPERATOR),  # approving one's own command
        ("approval.approved", LEAD1),
        ("command.accepted", OPERATOR),  # the job, as the requester's
        ("approval.denied", LEAD2),
        ("schedule.added", ADMIN),
        ("policy.reloaded", "toilbot"),
    ]:
        assert expected in seen, expected
    accepted = next(e for e in entries if e["action"] == "command.accepted")
    assert (1, "guarded web-01", 1, [LEAD1]) == (
        accepted["job"],
        accepted["command"],
        accepted["detail"]["approval"],
        accepted["detail"]["approvers"],
    )
    ok = toilbot_cli(env, "audit", "verify")
    assert 0 == ok.returncode, ok.stdout + ok.stderr
    victim = next(e for e in Audit(r).entries() if e.data["action"] == "approval.denied")
    r.xdel(Keys.audit, victim.id)
    broken = toilbot_cli(env, "audit", "verify")
    assert 1 == broken.returncode
    assert "deleted" in broken.stdout
    assert f"seq {victim.data['seq']}" in broken.stdout


PROD_POLICY = {
    "roles": {
        "operator": {
            "members": [OPERATOR],
            "permissions": ["jobs"],
            "allow": [
                {"permission": "patch", "targets": ["web"]},
                {"permission": "patch", "targets": ["db"], "confirm": "approve"},
            ],
        },
        "lead": {"permissions": ["approve", "jobs"], "members": [LEAD1, LEAD2]},
    }
}
IDLE = "approval-test-nobody-serves-this"  # jobs are queued, never run: no real patching here


def test_a_prod_patch_needs_approval_from_the_policy_scope(tmp_path, r):
    """The rule for `db` (prod here) asks for approval although `patch` itself only asks for
    confirmation: the requester cannot approve; an approver runs exactly the approved command;
    a changed command needs a new approval; check mode needs none."""
    settings = load_settings({"TOILBOT_CONFIG": str(write_config(tmp_path, policy=PROD_POLICY))})
    bot = assemble(settings, Store(r, "test Redis")).bot
    staging = bot.handle(Request("patch web-01", OPERATOR, "test", confirmed=True, queue=IDLE))
    assert Outcome.QUEUED is staging.outcome  # web: no approval
    asked = bot.handle(
        Request("patch db-01 --security-only", OPERATOR, "test", confirmed=True, queue=IDLE)
    )
    assert Outcome.NEEDS_APPROVAL is asked.outcome
    request = asked.approval.id
    assert (
        "cannot approve your own"
        in bot.handle(Request(f"approve {request}", OPERATOR, "test", queue=IDLE)).text
    )
    other = bot.handle(Request("patch db-01", OPERATOR, "test", confirmed=True, queue=IDLE))
    assert Outcome.NEEDS_APPROVAL is other.outcome and other.approval.id != request
    approved = bot.handle(Request(f"approve {request}", LEAD1, "test", queue=IDLE))
    assert Outcome.QUEUED is approved.outcome, approved.text
    job = bot.jobs.get(approved.job.id)
    assert ("patch db-01 --security-only", ["db-01"], OPERATOR) == (
        job.command,
        job.hosts,
        job.user,
    )
    assert 2 == len(bot.jobs.recent(10))  # web-01's and the approved one; not `patch db-01`
    check = bot.handle(Request("patch db-01 --check", OPERATOR, "test", queue=IDLE))
    assert Outcome.QUEUED is check.outcome
