"""The one way through: text from a person -> parse -> authorize -> confirm -> enqueue or answer.

Every front end (console, exec, Slack) calls ``Bot.handle`` and renders the Reply.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from bot import handlers, messages
from bot.config import Settings
from bot.errors import CommandError, JobError, ParseError
from bot.inventory import Inventory, load_inventory
from bot.jobs import JobRecord, Jobs
from bot.parse import BuiltinCall, Channel, Invocation, parse
from bot.policy import Decision, Policy
from bot.policyfile import PolicyFile
from bot.ratelimit import RateLimiter
from bot.schedule.model import Freeze
from bot.schedule.registry import Registry
from bot.specs import CommandSpec, Confirm, load_specs
from bot.store import QUEUE, Store
from bot.usergroups import GroupDirectory, Membership, NoGroups

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    ANSWERED = "answered"  # a reply, nothing queued
    QUEUED = "queued"  # a job was queued
    NEEDS_CONFIRMATION = "needs_confirmation"  # ask the requester, then call again confirmed
    REFUSED = "refused"  # parse error, denial, unknown job...


@dataclass
class Reply:
    outcome: Outcome
    text: str
    job: JobRecord | None = None
    decision: Decision | None = None
    freeze: Freeze | None = None  # refused because a change freeze is on

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
        return cls(
            settings,
            specs,
            inventory,
            Jobs(store.redis, settings.jobs.keep, settings.jobs.output_lines),
            Registry(store.redis, configured),
            PolicyFile(settings.config_path, settings.policy, inventory, specs),
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
        try:
            return self._handle(
                text, user, source, confirmed, queue, notify, Channel.of(channel), scheduled
            )
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
            return Reply(Outcome.ANSWERED, handlers.run(self, parsed, user), decision=decision)
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
        spec = invocation.spec
        command = invocation.normalized()
        freeze = self.settings.schedule.freeze_at(time.time())
        if freeze is not None and invocation.changes_hosts:
            # A freeze lets changes through only with an approved override.
            text = messages.frozen(command, freeze.name, freeze.end, self.settings.timezone)
            return Reply(Outcome.REFUSED, text, decision=decision, freeze=freeze)
        if spec.confirm is Confirm.APPROVE and not invocation.check_mode:
            return Reply(Outcome.REFUSED, messages.approval_unavailable(command), decision=decision)
        if spec.confirm is Confirm.CONFIRM and not invocation.check_mode and not confirmed:
            return Reply(
                Outcome.NEEDS_CONFIRMATION,
                messages.confirm_prompt(command, list(invocation.hosts)),
                decision=decision,
            )
        record = self.jobs.submit(invocation, user, source, queue, notify, scheduled)
        text = messages.queued(record.id, command, len(record.hosts), record.check_mode)
        return Reply(Outcome.QUEUED, text, job=record, decision=decision)


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
