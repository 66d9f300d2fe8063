"""The one way through: text from a person -> parse -> authorize -> confirm -> enqueue or answer.

Every front end (console, exec, Slack) calls ``Bot.handle`` and renders the Reply.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from bot import handlers, messages
from bot.approvals import ApprovalRequest, Approvals, ApprovalState, Vote, command_hash
from bot.config import Settings
from bot.errors import CommandError, JobError
from bot.inventory import Inventory, load_inventory
from bot.jobs import JobRecord, Jobs
from bot.parse import BuiltinCall, Invocation, parse
from bot.policy import Decision
from bot.specs import CommandSpec, Confirm, load_specs
from bot.store import QUEUE, Store

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    ANSWERED = "answered"  # a reply, nothing queued
    QUEUED = "queued"  # a job was queued
    NEEDS_CONFIRMATION = "needs_confirmation"  # ask the requester, then call again confirmed
    NEEDS_APPROVAL = "needs_approval"  # an approval request was recorded; someone else approves
    REFUSED = "refused"  # parse error, denial, unknown job...


@dataclass
class Reply:
    outcome: Outcome
    text: str
    job: JobRecord | None = None
    decision: Decision | None = None
    approval: ApprovalRequest | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.REFUSED


@dataclass
class Bot:
    settings: Settings
    specs: dict[str, CommandSpec]
    inventory: Inventory
    jobs: Jobs
    approvals: Approvals = field(init=False)

    def __post_init__(self) -> None:
        self.approvals = Approvals(self.jobs.r)

    @classmethod
    def load(cls, settings: Settings, store: Store) -> Bot:
        """Everything validated once: specs, inventory; a problem is a ConfigError."""
        specs = load_specs(settings.commands_dir, settings.playbooks_dir)
        inventory = load_inventory(settings.inventory_path)
        return cls(
            settings,
            specs,
            inventory,
            Jobs(store.redis, settings.jobs.keep, settings.jobs.output_lines),
        )

    def handle(
        self,
        text: str,
        user: str,
        source: str,
        *,
        confirmed: bool = False,
        queue: str = QUEUE,
        notify: dict[str, str] | None = None,
    ) -> Reply:
        """Answer ``text`` from ``user``; a job goes on ``queue`` and reports to ``notify``."""
        try:
            return self._handle(text, user, source, confirmed, queue, notify)
        except CommandError as exc:
            return Reply(Outcome.REFUSED, str(exc))
        except JobError as exc:
            return Reply(Outcome.REFUSED, str(exc))
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception(
                "unexpected error handling %r for %s (reference %s)", text, user, reference
            )
            return Reply(Outcome.REFUSED, messages.internal_error(reference))

    def _handle(
        self,
        text: str,
        user: str,
        source: str,
        confirmed: bool,
        queue: str,
        notify: dict[str, str] | None,
    ) -> Reply:
        parsed = parse(text, self.specs, self.inventory)
        permission = (
            parsed.builtin.permission if isinstance(parsed, BuiltinCall) else parsed.spec.permission
        )
        hosts = 0 if isinstance(parsed, BuiltinCall) else len(parsed.hosts)
        decision = self.settings.policy.decide(user, permission, hosts)
        if not decision:
            name = parsed.builtin.name if isinstance(parsed, BuiltinCall) else parsed.spec.name
            text = (
                messages.too_many_hosts(name, hosts, decision.max_hosts, decision.rule)
                if decision.max_hosts is not None
                else messages.denied(user, name, permission or "")
            )
            return Reply(Outcome.REFUSED, text, decision=decision)
        if isinstance(parsed, BuiltinCall):
            answer = handlers.run(self, parsed, user, queue)
            if isinstance(answer, Reply):
                return answer
            return Reply(Outcome.ANSWERED, answer, decision=decision)
        return self._submit(parsed, user, source, confirmed, decision, queue, notify)

    def _submit(
        self,
        invocation: Invocation,
        user: str,
        source: str,
        confirmed: bool,
        decision: Decision,
        queue: str,
        notify: dict[str, str] | None,
    ) -> Reply:
        command = invocation.normalized()
        level = self.confirmation_level(invocation, user)
        if level is Confirm.APPROVE:
            request = self.approvals.create(
                invocation,
                user,
                source,
                expiry=self.settings.approvals.expiry,
                quorum=invocation.spec.quorum or self.settings.approvals.quorum,
                notify=notify,
            )
            text = messages.approval_requested(
                request.id, command, request.quorum, request.expires_at
            )
            return Reply(Outcome.NEEDS_APPROVAL, text, decision=decision, approval=request)
        if level is Confirm.CONFIRM and not confirmed:
            return Reply(
                Outcome.NEEDS_CONFIRMATION,
                messages.confirm_prompt(command, list(invocation.hosts)),
                decision=decision,
            )
        record = self.jobs.submit(invocation, user, source, queue, notify)
        text = messages.queued(record.id, command, len(record.hosts), record.check_mode)
        return Reply(Outcome.QUEUED, text, job=record, decision=decision)

    def confirmation_level(self, invocation: Invocation, user: str) -> Confirm:
        """THE one place that decides what a run needs before it is queued.

        Today: nothing in check mode, else the spec's level. (The policy scope's
        level and change freezes belong here too.)
        """
        if invocation.check_mode:
            return Confirm.NONE
        return invocation.spec.confirm

    # --- approvals ------------------------------------------------------------

    def approve(self, request_id: int, user: str, queue: str = QUEUE) -> Reply:
        """``user`` approves a request; at its quorum exactly the stored command is queued."""
        request = self.approvals.get(request_id)
        if request is None:
            return Reply(Outcome.REFUSED, messages.no_such_approval(request_id))
        if user == request.requester:
            return Reply(Outcome.REFUSED, messages.cannot_approve_own())
        decision = self.settings.policy.decide(user, "approve")
        if not decision:
            return Reply(Outcome.REFUSED, messages.not_an_approver(user), decision=decision)
        if request.state.open and time.time() >= request.expires_at:
            self.approvals.expire(request_id)  # recorded and announced now, not at the next sweep
            request.state = ApprovalState.EXPIRED
        if request.state is ApprovalState.EXPIRED:
            return Reply(Outcome.REFUSED, messages.approval_expired(request_id, request.expires_at))
        if not request.state.open:
            return Reply(
                Outcome.REFUSED,
                messages.approval_closed(request_id, request.state.value, request.job_id),
            )
        invocation, problem = self._resolve_again(request)
        if invocation is None or problem is not None:
            self.approvals.fail(request_id, problem or "")
            return Reply(Outcome.REFUSED, messages.approval_stale(request_id, problem or ""))
        step = self.approvals.approve(request_id, user)
        now = step.request or request
        vote = Vote(step.code)
        if vote is Vote.COUNTED:
            text = messages.approval_counted(request_id, len(now.approvers), now.quorum)
            return Reply(Outcome.ANSWERED, text, decision=decision, approval=now)
        if vote is Vote.AGAIN:
            text = messages.approval_already_counted(request_id, len(now.approvers), now.quorum)
            return Reply(Outcome.ANSWERED, text, decision=decision, approval=now)
        if vote is not Vote.APPROVED:
            text = {
                Vote.OWN: messages.cannot_approve_own(),
                Vote.EXPIRED: messages.approval_expired(request_id, now.expires_at),
                Vote.MISSING: messages.no_such_approval(request_id),
            }.get(vote) or messages.approval_closed(request_id, now.state.value, now.job_id)
            return Reply(Outcome.REFUSED, text, decision=decision, approval=now)
        try:
            record = self.jobs.submit(invocation, now.requester, now.source, queue, now.notify)
        except JobError as exc:
            self.approvals.fail(request_id, str(exc))
            return Reply(Outcome.REFUSED, messages.approval_stale(request_id, str(exc)))
        done = self.approvals.executed(request_id, record.id).request
        text = messages.queued(record.id, record.command, len(record.hosts), record.check_mode)
        return Reply(Outcome.QUEUED, text, job=record, decision=decision, approval=done)

    def _resolve_again(self, request: ApprovalRequest) -> tuple[Invocation | None, str | None]:
        """The stored command resolved now; a problem if it is not exactly what was asked."""
        try:
            parsed = parse(request.command, self.specs, self.inventory)
        except CommandError as exc:
            return None, messages.command_unresolvable(str(exc))
        if not isinstance(parsed, Invocation) or parsed.spec.name != request.spec:
            return None, messages.command_unresolvable(request.command)
        if sorted(parsed.hosts) != sorted(request.hosts):
            return parsed, messages.command_changed(request.hosts, parsed.hosts)
        if command_hash(parsed) != request.digest:
            return parsed, messages.command_hash_changed(request.short_digest)
        allowed = self.settings.policy.decide(
            request.requester, parsed.spec.permission, len(parsed.hosts)
        )
        if not allowed:
            return parsed, messages.requester_lost_permission(allowed.rule)
        return parsed, None

    def deny(self, request_id: int, user: str, reason: str) -> Reply:
        """An approver refuses a request: it ends, and nothing runs."""
        request = self.approvals.get(request_id)
        if request is None:
            return Reply(Outcome.REFUSED, messages.no_such_approval(request_id))
        decision = self.settings.policy.decide(user, "approve")
        if not decision:
            return Reply(Outcome.REFUSED, messages.not_an_approver(user), decision=decision)
        step = self.approvals.deny(request_id, user, reason)
        now = step.request or request
        if step.done:
            return Reply(Outcome.ANSWERED, messages.approval_denied(request_id), approval=now)
        if step.code == "expired" or now.state is ApprovalState.EXPIRED:
            text = messages.approval_expired(request_id, now.expires_at)
        else:
            text = messages.approval_closed(request_id, now.state.value, now.job_id)
        return Reply(Outcome.REFUSED, text, decision=decision, approval=now)
