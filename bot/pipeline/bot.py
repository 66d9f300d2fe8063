"""The one way through: text from a person -> parse -> authorize -> confirm -> enqueue or answer.

Every front end (console, exec, Slack) calls ``Bot.handle`` and renders the Reply.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot import messages
from bot.execution.jobs import JobRecord, Jobs
from bot.pipeline.approvals import ApprovalRequest, Approvals, ApprovalState, Vote, command_hash
from bot.pipeline.builtins import handlers
from bot.pipeline.inventory import Inventory, load_inventory
from bot.pipeline.parse import BuiltinCall, Channel, Invocation, parse
from bot.pipeline.policy.file import PolicyFile
from bot.pipeline.policy.groups import GroupDirectory, Membership, NoGroups
from bot.pipeline.policy.ratelimit import RateLimiter
from bot.pipeline.policy.rules import Decision, Policy
from bot.pipeline.settings import Settings
from bot.pipeline.specs import CommandSpec, Confirm, load_specs
from bot.platform.audit import Audit, AuditAction
from bot.platform.errors import AuditError, CommandError, JobError, ParseError
from bot.platform.store import QUEUE, Store
from bot.schedule.model import Freeze
from bot.schedule.registry import Registry

log = logging.getLogger(__name__)
AUDIT_TEXT = 1000  # characters of a command or reply kept in its audit entry


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
    freeze: Freeze | None = None  # refused because a change freeze is on
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
    schedules: Registry
    policies: PolicyFile | None = None  # the policy, reloaded when toilbot.yaml changes
    groups: GroupDirectory = field(default_factory=NoGroups)  # Slack user groups
    approvals: Approvals = field(init=False)

    def __post_init__(self) -> None:
        self.approvals = Approvals(self.jobs.r, self.jobs.audit)

    @classmethod
    def load(cls, settings: Settings, store: Store) -> Bot:
        """Everything validated once: specs, inventory, policy, schedules; a problem is a
        ConfigError."""
        specs = load_specs(settings.commands_dir, settings.playbooks_dir)
        inventory = load_inventory(settings.inventory_path)
        settings.policy.validate(inventory, specs, str(settings.config_path))
        configured = {}
        for name, (schedule, node) in settings.schedule.configured.items():
            try:
                parsed = parse(schedule.command, specs, inventory, settings.policy.patterns)
            except ParseError as exc:
                raise node.child("command").error(
                    str(exc), "write a command `help` lists"
                ) from None
            if isinstance(parsed, BuiltinCall):
                raise node.child("command").error(
                    f"{schedule.command!r} is not a command that runs a playbook",
                    "schedule a command such as `patch web --security-only`",
                )
            configured[name] = schedule
        jobs = Jobs(store.redis, settings.jobs.keep, settings.jobs.output_lines)
        return cls(
            settings,
            specs,
            inventory,
            jobs,
            Registry(store.redis, configured),
            PolicyFile(settings.config_path, settings.policy, inventory, specs, jobs.audit),
        )

    @property
    def policy(self) -> Policy:
        """The policy in force (re-read when toilbot.yaml changed)."""
        return self.policies.current() if self.policies else self.settings.policy

    def membership(self, user: str, policy: Policy | None = None) -> Membership:
        """The Slack user groups of the policy that ``user`` is in."""
        policy = policy or self.policy
        if not policy.group_ids:
            return Membership(frozenset())
        return self.groups.membership(user, policy.group_ids, policy.groups_ttl)

    def handle(
        self,
        text: str,
        user: str,
        source: str,
        *,
        confirmed: bool = False,
        queue: str = QUEUE,
        notify: dict[str, str] | None = None,
        channel: Channel | str | None = None,
        scheduled: tuple[str, int] | None = None,
    ) -> Reply:
        """Answer ``text`` from ``user``; a job goes on ``queue`` and reports to ``notify``.

        ``channel``: the Slack channel it came from (a Channel, "#name" or an id); None
        outside Slack (console, exec), where rules limited to channels never apply.
        ``scheduled`` is (schedule name, fire time) when the scheduler runs it.
        """
        refused, detail = AuditAction.COMMAND_REFUSED, {}
        try:
            reply = self._handle(
                text, user, source, confirmed, queue, notify, Channel.of(channel), scheduled
            )
        except ParseError as exc:
            reply, refused = Reply(Outcome.REFUSED, str(exc)), AuditAction.COMMAND_PARSE_ERROR
        except (CommandError, JobError) as exc:
            reply = Reply(Outcome.REFUSED, str(exc))
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception(
                "unexpected error handling %r for %s (reference %s)", text, user, reference
            )
            reply = Reply(Outcome.REFUSED, messages.internal_error(reference))
            refused, detail = AuditAction.COMMAND_ERROR, {"reference": reference}
        return self._audited(reply, refused, detail, text, user, source, notify)

    @property
    def audit(self) -> Audit:
        return self.jobs.audit

    def _audited(
        self,
        reply: Reply,
        refused: AuditAction,
        detail: dict[str, str],
        text: str,
        user: str,
        source: str,
        notify: dict[str, str] | None,
    ) -> Reply:
        """Record the attempt (a queued job was recorded before it was queued).

        A refusal or an answer whose entry cannot be written says so in the reply.
        """
        if reply.outcome is Outcome.QUEUED:
            return reply
        decision = reply.decision
        if reply.outcome is Outcome.ANSWERED:
            action = AuditAction.COMMAND_ANSWERED
        elif reply.outcome is Outcome.NEEDS_CONFIRMATION:
            action = AuditAction.CONFIRMATION_ASKED
        elif decision is not None and not decision.allowed:
            action = AuditAction.COMMAND_DENIED
        else:
            action = refused
        try:
            self.audit.record(
                action,
                user=user,
                source=source,
                channel=(notify or {}).get("channel"),
                command=text.strip()[:AUDIT_TEXT],
                decision=None if decision is None else _verdict(decision),
                rule=None if decision is None else decision.rule,
                outcome=reply.text[:AUDIT_TEXT] if reply.outcome is Outcome.REFUSED else None,
                detail=detail,
            )
        except AuditError as exc:
            log.error("audit entry %s for %r by %s not written: %s", action, text, user, exc)
            return replace(reply, text=reply.text + messages.audit_not_written(str(exc)))
        return reply

    def record_confirmation(
        self, confirmed: bool, text: str, user: str, source: str, channel: str | None = None
    ) -> None:
        """The requester's answer to a confirmation prompt (logged if it cannot be written:
        the run that follows is audited before it is queued)."""
        self.audit.try_record(
            AuditAction.CONFIRMATION_CONFIRMED if confirmed else AuditAction.CONFIRMATION_DECLINED,
            user=user,
            source=source,
            channel=channel,
            command=text.strip()[:AUDIT_TEXT],
        )

    def _handle(
        self,
        text: str,
        user: str,
        source: str,
        confirmed: bool,
        queue: str,
        notify: dict[str, str] | None,
        channel: Channel | None,
        scheduled: tuple[str, int] | None,
    ) -> Reply:
        policy = self.policy
        if policy.rate_limit is not None and not confirmed:
            wait = RateLimiter(self.jobs.r).hit(user, policy.rate_limit)
            if wait is not None:
                return Reply(Outcome.REFUSED, messages.rate_limited(policy.rate_limit.text, wait))
        parsed = parse(text, self.specs, self.inventory, policy.patterns)
        groups = self.membership(user, policy).groups
        decision = policy.authorize(parsed, user, self.inventory, groups=groups, channel=channel)
        if not decision:
            return Reply(Outcome.REFUSED, _refusal(parsed, user, decision), decision=decision)
        if isinstance(parsed, BuiltinCall):
            if parsed.builtin.where:
                parsed = dataclasses.replace(parsed, channel=channel)
            answer = handlers.run(self, parsed, user, queue)
            if isinstance(answer, Reply):
                return answer
            return Reply(Outcome.ANSWERED, answer, decision=decision)
        return self._submit(parsed, user, source, confirmed, decision, queue, notify, scheduled)

    def _submit(
        self,
        invocation: Invocation,
        user: str,
        source: str,
        confirmed: bool,
        decision: Decision,
        queue: str,
        notify: dict[str, str] | None,
        scheduled: tuple[str, int] | None,
    ) -> Reply:
        command = invocation.normalized()
        freeze = self.settings.schedule.freeze_at(time.time())
        if scheduled is not None and freeze is not None and invocation.changes_hosts:
            text = messages.frozen(command, freeze.name, freeze.end, self.settings.timezone)
            return Reply(Outcome.REFUSED, text, decision=decision, freeze=freeze)
        level = self.confirmation_level(invocation, decision, freeze)
        if level is Confirm.APPROVE:
            if scheduled is not None:  # nobody is there to approve a 3 a.m. run
                text = messages.scheduled_needs_approval(command)
                return Reply(Outcome.REFUSED, text, decision=decision)
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
            if freeze is not None and invocation.changes_hosts:
                text = messages.freeze_override(
                    freeze.name, freeze.end, self.settings.timezone, text
                )
            return Reply(Outcome.NEEDS_APPROVAL, text, decision=decision, approval=request)
        if level is Confirm.CONFIRM and not confirmed:
            return Reply(
                Outcome.NEEDS_CONFIRMATION,
                messages.confirm_prompt(command, list(invocation.hosts)),
                decision=decision,
            )

        record = self._queue(
            invocation, user, source, queue, notify, scheduled, decision, {"confirmed": confirmed}
        )
        text = messages.queued(record.id, command, len(record.hosts), record.check_mode)
        return Reply(Outcome.QUEUED, text, job=record, decision=decision)

    def _queue(
        self,
        invocation: Invocation,
        user: str,
        source: str,
        queue: str,
        notify: dict[str, str] | None,
        scheduled: tuple[str, int] | None,
        decision: Decision,
        detail: dict[str, object],
    ) -> JobRecord:
        """Submit the job; its command.accepted entry is written before any worker sees it."""

        def audited(record: JobRecord) -> None:
            self.audit.record(
                AuditAction.COMMAND_ACCEPTED,
                user=user,
                source=source,
                channel=(notify or {}).get("channel"),
                command=record.command,
                decision=_verdict(decision),
                rule=decision.rule,
                job=record.id,
                detail={"hosts": record.hosts, "check_mode": record.check_mode, **detail},
            )

        return self.jobs.submit(
            invocation, user, source, queue, notify, scheduled, before_queue=audited
        )

    def confirmation_level(
        self, invocation: Invocation, decision: Decision, freeze: Freeze | None = None
    ) -> Confirm:
        """THE one place that decides what a run needs before it is queued: nothing in check
        mode; else the strictest of the spec's level, the policy rule's, and approval for a
        change during a freeze (the override)."""
        if invocation.check_mode:
            return Confirm.NONE
        levels = [invocation.spec.confirm, decision.confirm or Confirm.NONE]
        if freeze is not None and invocation.changes_hosts:
            levels.append(Confirm.APPROVE)
        order = (Confirm.NONE, Confirm.CONFIRM, Confirm.APPROVE)
        return max(levels, key=order.index)

    # --- approvals ------------------------------------------------------------

    def approve(self, request_id: int, user: str, queue: str = QUEUE) -> Reply:
        """``user`` approves a request; at its quorum exactly the stored command is queued."""
        request = self.approvals.get(request_id)
        if request is None:
            return Reply(Outcome.REFUSED, messages.no_such_approval(request_id))
        if user == request.requester:
            return Reply(Outcome.REFUSED, messages.cannot_approve_own())
        decision = self.policy.decide(user, "approve")
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
            record = self._queue(
                invocation,
                now.requester,
                now.source,
                queue,
                now.notify,
                None,
                decision,
                {"approval": now.id, "approvers": now.approvers, "digest": now.digest},
            )
        except JobError as exc:
            self.approvals.fail(request_id, str(exc))
            return Reply(Outcome.REFUSED, messages.approval_stale(request_id, str(exc)))
        done = self.approvals.executed(request_id, record.id).request
        text = messages.queued(record.id, record.command, len(record.hosts), record.check_mode)
        return Reply(Outcome.QUEUED, text, job=record, decision=decision, approval=done)

    def _resolve_again(self, request: ApprovalRequest) -> tuple[Invocation | None, str | None]:
        """The stored command resolved now; a problem if it is not exactly what was asked."""
        try:
            parsed = parse(request.command, self.specs, self.inventory, self.policy.patterns)
        except CommandError as exc:
            return None, messages.command_unresolvable(str(exc))
        if not isinstance(parsed, Invocation) or parsed.spec.name != request.spec:
            return None, messages.command_unresolvable(request.command)
        if sorted(parsed.hosts) != sorted(request.hosts):
            return parsed, messages.command_changed(request.hosts, parsed.hosts)
        if command_hash(parsed) != request.digest:
            return parsed, messages.command_hash_changed(request.short_digest)
        policy = self.policy
        notify = request.notify or {}
        allowed = policy.authorize(
            parsed,
            request.requester,
            self.inventory,
            groups=self.membership(request.requester, policy).groups,
            channel=Channel(notify.get("channel") or None, notify.get("channel_name"))
            if notify.get("channel")
            else None,
        )
        if not allowed:
            return parsed, messages.requester_lost_permission(allowed.rule)
        return parsed, None

    def deny(self, request_id: int, user: str, reason: str) -> Reply:
        """An approver refuses a request: it ends, and nothing runs."""
        request = self.approvals.get(request_id)
        if request is None:
            return Reply(Outcome.REFUSED, messages.no_such_approval(request_id))
        decision = self.policy.decide(user, "approve")
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


def _refusal(parsed: Invocation | BuiltinCall, user: str, decision: Decision) -> str:
    if isinstance(parsed, BuiltinCall):
        name, hosts = parsed.builtin.name, 0
    else:
        name, hosts = parsed.spec.name, len(parsed.hosts)
    if decision.max_hosts is not None:
        return messages.too_many_hosts(name, hosts, decision.max_hosts, decision.rule)
    if decision.misses:
        command = name if isinstance(parsed, BuiltinCall) else parsed.normalized()
        return messages.not_allowed(user, command, decision.rule)
    return messages.denied(user, name, decision.permission or "")


def _verdict(decision: Decision) -> str:
    return "allowed" if decision.allowed else "denied"
