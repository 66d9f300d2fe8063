"""The one way through: text from a person -> parse -> authorize -> confirm -> enqueue or answer.

Every front end (console, exec, Slack) calls ``Bot.handle`` and renders the Reply.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

from bot import handlers, messages
from bot.audit import Audit, AuditAction
from bot.config import Settings
from bot.errors import AuditError, CommandError, JobError, ParseError
from bot.inventory import Inventory, load_inventory
from bot.jobs import JobRecord, Jobs
from bot.parse import BuiltinCall, Invocation, parse
from bot.policy import Decision
from bot.specs import CommandSpec, Confirm, load_specs
from bot.store import QUEUE, Store

log = logging.getLogger(__name__)
AUDIT_TEXT = 1000  # characters of a command or reply kept in its audit entry


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

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.REFUSED


@dataclass
class Bot:
    settings: Settings
    specs: dict[str, CommandSpec]
    inventory: Inventory
    jobs: Jobs

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
        refused, detail = AuditAction.COMMAND_REFUSED, {}
        try:
            reply = self._handle(text, user, source, confirmed, queue, notify)
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
        spec = invocation.spec
        command = invocation.normalized()
        if spec.confirm is Confirm.APPROVE and not invocation.check_mode:
            return Reply(Outcome.REFUSED, messages.approval_unavailable(command), decision=decision)
        if spec.confirm is Confirm.CONFIRM and not invocation.check_mode and not confirmed:
            return Reply(
                Outcome.NEEDS_CONFIRMATION,
                messages.confirm_prompt(command, list(invocation.hosts)),
                decision=decision,
            )

        def audited(record: JobRecord) -> None:
            self.audit.record(
                AuditAction.COMMAND_ACCEPTED,
                user=user,
                source=source,
                channel=(notify or {}).get("channel"),
                command=command,
                decision=_verdict(decision),
                rule=decision.rule,
                job=record.id,
                detail={
                    "hosts": record.hosts,
                    "check_mode": record.check_mode,
                    "confirmed": confirmed,
                },
            )

        record = self.jobs.submit(invocation, user, source, queue, notify, before_queue=audited)
        text = messages.queued(record.id, command, len(record.hosts), record.check_mode)
        return Reply(Outcome.QUEUED, text, job=record, decision=decision)


def _verdict(decision: Decision) -> str:
    return "allowed" if decision.allowed else "denied"
