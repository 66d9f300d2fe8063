"""The one way through: a Request -> the steps (``steps.STEPS``) -> a Reply, audited.

Every front end (console, exec, Slack, the scheduler) builds a ``Request``, calls
``Bot.handle`` and renders the Reply.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace

from bot.execution.jobs import Jobs
from bot.pipeline import steps
from bot.pipeline import text as pipeline_text
from bot.pipeline.approvals import Approvals
from bot.pipeline.builtins import BUILTINS
from bot.pipeline.context import Context, membership
from bot.pipeline.inventory import Inventory
from bot.pipeline.inventory.cache import Inventories
from bot.pipeline.notices import ApprovalNotifier, NoNotices
from bot.pipeline.parse import BuiltinCall, parse
from bot.pipeline.policy.file import PolicyFile
from bot.pipeline.policy.groups import GroupDirectory, Membership, NoGroups
from bot.pipeline.policy.rules import Policy
from bot.pipeline.reply import Outcome, Reply
from bot.pipeline.request import Request
from bot.pipeline.settings import Settings
from bot.pipeline.specs import CommandSpec, load_specs
from bot.pipeline.submit import AUDIT_TEXT, verdict
from bot.platform.audit import Audit, AuditAction
from bot.platform.errors import AuditError, CommandError, JobError, ParseError
from bot.platform.store import Store
from bot.schedule.registry import Registry

__all__ = ["Bot", "Outcome", "Reply", "Request"]
log = logging.getLogger(__name__)


@dataclass
class Bot:
    settings: Settings
    specs: dict[str, CommandSpec]
    inventories: Inventories  # the resolved inventory, cached here and in Redis
    jobs: Jobs
    schedules: Registry
    policies: PolicyFile | None = None  # the policy, reloaded when toilbot.yaml changes
    groups: GroupDirectory = field(default_factory=NoGroups)  # Slack user groups
    notifier: ApprovalNotifier = field(default_factory=NoNotices)  # wired at start-up
    approvals: Approvals = field(init=False)

    def __post_init__(self) -> None:
        self.approvals = Approvals(self.jobs.r, self.jobs.audit, self.notifier)

    @classmethod
    def load(
        cls, settings: Settings, store: Store, notifier: ApprovalNotifier | None = None
    ) -> Bot:
        """Everything validated once: specs, inventory, policy, schedules; a problem is a
        ConfigError."""
        specs = load_specs(settings.commands_dir, settings.playbooks_dir)
        inventories = Inventories(settings.inventory, store.redis)
        inventory = inventories.start().inventory
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
            inventories,
            jobs,
            Registry(store.redis, configured),
            PolicyFile(
                settings.config_path, settings.policy, inventories.current, specs, jobs.audit
            ),
            notifier=notifier or NoNotices(),
        )

    @property
    def inventory(self) -> Inventory:
        """The inventory in force (``Inventories.current``: no Ansible run on the way)."""
        return self.inventories.current()

    @property
    def policy(self) -> Policy:
        """The policy in force (re-read when toilbot.yaml changed)."""
        return self.policies.current() if self.policies else self.settings.policy

    @property
    def audit(self) -> Audit:
        return self.jobs.audit

    def membership(self, user: str, policy: Policy | None = None) -> Membership:
        """The Slack user groups of the policy that ``user`` is in."""
        return membership(self.groups, user, policy or self.policy)

    def context(self, request: Request, policy: Policy) -> Context:
        """What a builtin may use while it answers ``request``."""
        return Context(
            request,
            policy,
            self.settings,
            self.specs,
            self.inventory,
            self.jobs,
            self.schedules,
            self.approvals,
            self.groups,
            BUILTINS,
            self.policies,
            self.inventories,
        )

    def handle(self, request: Request) -> Reply:
        """Answer ``request``: it goes through ``steps.STEPS`` until one answers, and every
        answer but a queued job (audited before it was queued) is audited here."""
        refused, detail = AuditAction.COMMAND_REFUSED, {}
        try:
            reply = steps.run(self, request)
        except ParseError as exc:
            reply, refused = Reply(Outcome.REFUSED, str(exc)), AuditAction.COMMAND_PARSE_ERROR
        except (CommandError, JobError) as exc:
            reply = Reply(Outcome.REFUSED, str(exc))
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception(
                "unexpected error handling %r for %s (reference %s)",
                request.text,
                request.user,
                reference,
            )
            reply = Reply(Outcome.REFUSED, pipeline_text.internal_error(reference))
            refused, detail = AuditAction.COMMAND_ERROR, {"reference": reference}
        return self._audited(request, reply, refused, detail)

    def _audited(
        self, request: Request, reply: Reply, refused: AuditAction, detail: dict[str, str]
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
                user=request.user,
                source=request.source,
                channel=request.audit_channel,
                command=request.text.strip()[:AUDIT_TEXT],
                decision=None if decision is None else verdict(decision),
                rule=None if decision is None else decision.rule,
                outcome=reply.text[:AUDIT_TEXT] if reply.outcome is Outcome.REFUSED else None,
                detail=detail,
            )
        except AuditError as exc:
            log.error(
                "audit entry %s for %r by %s not written: %s",
                action,
                request.text,
                request.user,
                exc,
            )
            return replace(reply, text=reply.text + pipeline_text.audit_not_written(str(exc)))
        return reply

    def record_confirmation(self, request: Request, confirmed: bool) -> None:
        """The requester's answer to the confirmation prompt for ``request`` (logged if it
        cannot be written: the run that follows is audited before it is queued)."""
        self.audit.try_record(
            AuditAction.CONFIRMATION_CONFIRMED if confirmed else AuditAction.CONFIRMATION_DECLINED,
            user=request.user,
            source=request.source,
            channel=request.audit_channel,
            command=request.text.strip()[:AUDIT_TEXT],
        )
