"""Two-person approval through the pipeline: a request bound to one command, run by approval."""

from __future__ import annotations

import redis

from bot.execution.records import HostStatus, JobStatus
from bot.pipeline.approvals import Approvals, ApprovalState
from bot.platform.audit import Audit
from tests.conftest import OPERATOR, VIEWER
from tests.fast.conftest import LEAD1, LEAD2


def request_of(r: redis.Redis, request_id: int):
    found = Approvals(r).get(request_id)
    assert found is not None
    return found


def test_an_approver_runs_exactly_the_command_that_was_asked_for(harness, fake, r):
    """Asking queues nothing; the requester and a non-approver cannot approve; an approver's
    `approve` runs the stored command, hosts and values as the requester's job."""
    asked = harness.say("guarded web --level high", OPERATOR)
    assert 4 == harness.last_exit
    assert "Approval request 1 is waiting" in asked and "`approve 1`" in asked
    assert "You cannot approve your own command" in harness.say("approve 1", OPERATOR)
    assert "may not approve or deny commands" in harness.say("approve 1", VIEWER)
    assert ([], 0) == (fake.requests, r.zcard("toilbot:jobs"))
    out = harness.say("approve 1", LEAD1)
    assert "Job 1 queued: `guarded web --level high` on 2 hosts." in out
    assert "✅ Job 1 succeeded on 2 hosts in " in out
    [request] = fake.requests
    assert (["web-01", "web-02"], {"targets": "web", "level": "high", "check": False}) == (
        request.hosts,
        request.values,
    )
    record = harness.bot.jobs.get(1)
    assert (OPERATOR, JobStatus.SUCCEEDED) == (record.user, record.status)
    assert {HostStatus.CHANGED} == {result.status for result in record.results.values()}
    approval = request_of(r, 1)
    assert (ApprovalState.EXECUTED, 1, [LEAD1]) == (
        approval.state,
        approval.job_id,
        approval.approvers,
    )
    seen = [(e.data["action"], e.data["user"]) for e in Audit(r).entries()]
    for expected in [
        ("approval.requested", OPERATOR),
        ("approval.approved", LEAD1),
        ("command.accepted", OPERATOR),
        ("job.finished", OPERATOR),
    ]:
        assert expected in seen, expected


def test_an_approval_covers_only_the_command_it_was_given_for(harness, fake, r):
    """Other hosts or flags make a new request; the executed approval never runs twice."""
    harness.say("guarded web-01", OPERATOR)
    assert "Job 1 succeeded" in harness.say("approve 1", LEAD1)
    for changed in ("guarded web-02", "guarded web-01 --level high"):
        assert "Approval request" in harness.say(changed, OPERATOR)
        assert 4 == harness.last_exit
    assert "already executed (job 1)" in harness.say("approve 1", LEAD2)
    assert [["web-01"]] == [request.hosts for request in fake.requests]
    assert 3 == len({request_of(r, i).digest for i in (1, 2, 3)})


def test_a_denial_ends_the_request_and_a_quorum_needs_distinct_approvers(harness, fake, r):
    """`deny` ends a request with its reason; with a quorum of two one approver counts once
    and the second distinct approver runs it."""
    harness.say("guarded web-01", OPERATOR)
    assert "Approval request 1 is denied" in harness.say("deny 1 not during the freeze", LEAD1)
    assert "already denied" in harness.say("approve 1", LEAD2)
    denied = request_of(r, 1)
    assert (ApprovalState.DENIED, LEAD1, "not during the freeze") == (
        denied.state,
        denied.decided_by,
        denied.reason,
    )
    harness.say("guarded-pair web-02", OPERATOR)
    assert "(1 of 2); 1 more approver needed" in harness.say("approve 2", LEAD1)
    assert "You already approved request 2 (1 of 2)" in harness.say("approve 2", LEAD1)
    assert "2  `guarded-pair web-02` by <@U0OPER> · 1 of 2" in harness.say("approvals", LEAD2)
    assert [] == fake.requests
    assert "Job 1 succeeded" in harness.say("approve 2", LEAD2)
    assert [["web-02"]] == [request.hosts for request in fake.requests]
    assert [LEAD1, LEAD2] == request_of(r, 2).approvers
