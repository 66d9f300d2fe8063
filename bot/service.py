"""The one way through: text from a person -> parse -> authorize -> confirm -> enqueue or answer.

Every front end (console, exec, Slack) calls ``Bot.handle`` and renders the Reply.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from bot import handlers, messages
from bot.config import Settings
from bot.errors import CommandError, JobError, ParseError
from bot.inventory import Inventory, load_inventory
from bot.jobs import JobRecord, Jobs
from bot.parse import BuiltinCall, Invocation, parse
from bot.policy import Decision
from bot.schedule.model import Freeze
from bot.schedule.registry import Registry
from bot.specs import CommandSpec, Confirm, load_specs
from bot.store import QUEUE, Store

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

    @classmethod
    def load(cls, settings: Settings, store: Store) -> Bot:
        """Everything validated once: specs, inventory, schedules; a problem is a ConfigError."""
        specs = load_specs(settings.commands_dir, settings.playbooks_dir)
        inventory = load_inventory(settings.inventory_path)
        configured = {}
        for name, (schedule, node) in settings.schedule.configured.items():
            try:
                parsed = parse(schedule.command, specs, inventory)
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
        scheduled: tuple[str, int] | None = None,
    ) -> Reply:
        """Answer ``text`` from ``user``; a job goes on ``queue`` and reports to ``notify``.

        ``scheduled`` is (schedule name, fire time) when the scheduler runs it.
        """
        try:
            return self._handle(text, user, source, confirmed, queue, notify, scheduled)
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
        scheduled: tuple[str, int] | None,
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
