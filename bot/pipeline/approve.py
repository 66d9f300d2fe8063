"""Approving and denying a request: the checks, the vote, and at the quorum exactly the
stored command queued (`approve <id>`, `deny <id> [reason]` and the Slack buttons)."""

from __future__ import annotations

import time

from bot.pipeline import text
from bot.pipeline.approvals import ApprovalRequest, ApprovalState, Vote, command_hash
from bot.pipeline.context import Context
from bot.pipeline.parse import Invocation
from bot.pipeline.reply import Outcome, Reply
from bot.pipeline.request import ReplyTo
from bot.pipeline.submit import submit_audited
from bot.platform.errors import CommandError, JobError


def approve(context: Context, request_id: int) -> Reply:
    """The requester of ``context`` approves a request; at its quorum exactly the stored
    command is queued (on the context's queue)."""
    approvals, user = context.approvals, context.user
    request = approvals.get(request_id)
    if request is None:
        return Reply(Outcome.REFUSED, text.no_such_approval(request_id))
    if user == request.requester:
        return Reply(Outcome.REFUSED, text.cannot_approve_own())
    decision = context.policy.decide(user, "approve")
    if not decision:
        return Reply(Outcome.REFUSED, text.not_an_approver(user), decision=decision)
    if request.state.open and time.time() >= request.expires_at:
        approvals.expire(request_id)  # recorded and announced now, not at the next sweep
        request.state = ApprovalState.EXPIRED
    if request.state is ApprovalState.EXPIRED:
        return Reply(Outcome.REFUSED, text.approval_expired(request_id, request.expires_at))
    if not request.state.open:
        return Reply(
            Outcome.REFUSED,
            text.approval_closed(request_id, request.state.value, request.job_id),
        )
    invocation, problem = _resolve_again(context, request)
    if invocation is None or problem is not None:
        approvals.fail(request_id, problem or "")
        return Reply(Outcome.REFUSED, text.approval_stale(request_id, problem or ""))
    step = approvals.approve(request_id, user)
    now = step.request or request
    vote = Vote(step.code)
    if vote is Vote.COUNTED:
        answer = text.approval_counted(request_id, len(now.approvers), now.quorum)
        return Reply(Outcome.ANSWERED, answer, decision=decision, approval=now)
    if vote is Vote.AGAIN:
        answer = text.approval_already_counted(request_id, len(now.approvers), now.quorum)
        return Reply(Outcome.ANSWERED, answer, decision=decision, approval=now)
    if vote is not Vote.APPROVED:
        answer = {
            Vote.OWN: text.cannot_approve_own(),
            Vote.EXPIRED: text.approval_expired(request_id, now.expires_at),
            Vote.MISSING: text.no_such_approval(request_id),
        }.get(vote) or text.approval_closed(request_id, now.state.value, now.job_id)
        return Reply(Outcome.REFUSED, answer, decision=decision, approval=now)
    try:
        record = submit_audited(
            context.jobs,
            invocation,
            decision,
            user=now.requester,
            source=now.source,
            queue=context.request.queue,
            reply_to=ReplyTo.from_json(now.notify),
            detail={"approval": now.id, "approvers": now.approvers, "digest": now.digest},
        )
    except JobError as exc:
        approvals.fail(request_id, str(exc))
        return Reply(Outcome.REFUSED, text.approval_stale(request_id, str(exc)))
    done = approvals.executed(request_id, record.id).request
    answer = text.queued(record.id, record.command, len(record.hosts), record.check_mode)
    return Reply(Outcome.QUEUED, answer, job=record, decision=decision, approval=done)


def _resolve_again(
    context: Context, request: ApprovalRequest
) -> tuple[Invocation | None, str | None]:
    """The stored command resolved now; a problem if it is not exactly what was asked."""
    try:
        parsed = context.parse(request.command)
    except CommandError as exc:
        return None, text.command_unresolvable(str(exc))
    if not isinstance(parsed, Invocation) or parsed.spec.name != request.spec:
        return None, text.command_unresolvable(request.command)
    if sorted(parsed.hosts) != sorted(request.hosts):
        return parsed, text.command_changed(request.hosts, parsed.hosts)
    if command_hash(parsed) != request.digest:
        return parsed, text.command_hash_changed(request.short_digest)
    reply_to = ReplyTo.from_json(request.notify)
    where = reply_to.where() if reply_to else None
    allowed = context.authorize(parsed, request.requester, where)
    if not allowed:
        return parsed, text.requester_lost_permission(allowed.rule)
    return parsed, None


def deny(context: Context, request_id: int, reason: str) -> Reply:
    """An approver refuses a request: it ends, and nothing runs."""
    approvals, user = context.approvals, context.user
    request = approvals.get(request_id)
    if request is None:
        return Reply(Outcome.REFUSED, text.no_such_approval(request_id))
    decision = context.policy.decide(user, "approve")
    if not decision:
        return Reply(Outcome.REFUSED, text.not_an_approver(user), decision=decision)
    step = approvals.deny(request_id, user, reason)
    now = step.request or request
    if step.done:
        return Reply(Outcome.ANSWERED, text.approval_denied(request_id), approval=now)
    if step.code == "expired" or now.state is ApprovalState.EXPIRED:
        answer = text.approval_expired(request_id, now.expires_at)
    else:
        answer = text.approval_closed(request_id, now.state.value, now.job_id)
    return Reply(Outcome.REFUSED, answer, decision=decision, approval=now)
