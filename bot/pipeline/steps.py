"""The route of a command through ``Bot.handle``, one step after the other::

    rate_limit -> parse -> authorize -> builtin -> freeze_gate -> confirm_or_approve -> submit

Each step takes (bot, request, state) and returns either a Reply, which ends the
request, or the state the next step starts from (bolt-python's middleware list,
structlog's processor chain). A step may also raise a CommandError or JobError:
``Bot.handle`` turns it into a refusal. The last step always answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.pipeline import text
from bot.pipeline.parse import BuiltinCall, Invocation
from bot.pipeline.parse import parse as parse_text
from bot.pipeline.policy.ratelimit import RateLimiter
from bot.pipeline.policy.rules import Decision, Policy
from bot.pipeline.reply import Outcome, Reply
from bot.pipeline.request import Request
from bot.pipeline.specs import Confirm
from bot.pipeline.submit import confirmation_level, submit_audited
from bot.schedule.model import Freeze

if TYPE_CHECKING:
    from bot.pipeline.bot import Bot


@dataclass(frozen=True)
class State:
    """What the steps so far found out about the request."""

    policy: Policy  # read once: every step decides on the same policy
    parsed: Invocation | BuiltinCall | None = None  # after parse
    decision: Decision | None = None  # after authorize
    freeze: Freeze | None = None  # a change freeze on now (after freeze_gate)

    @property
    def invocation(self) -> Invocation:
        if not isinstance(self.parsed, Invocation):
            raise TypeError(f"a step after `builtin` needs a command spec, not {self.parsed!r}")
        return self.parsed

    @property
    def allowed(self) -> Decision:
        if self.decision is None:
            raise TypeError("a step after `authorize` needs the policy's decision")
        return self.decision


Step = Callable[["Bot", Request, State], "Reply | State"]


def rate_limit(bot: Bot, request: Request, state: State) -> Reply | State:
    """Too many commands from one person: refused before anything is read (a confirmation
    answers a command that was already counted)."""
    rate = state.policy.rate_limit
    if rate is None or request.confirmed:
        return state
    wait = RateLimiter(bot.jobs.r).hit(request.user, rate)
    if wait is None:
        return state
    return Reply(Outcome.REFUSED, text.rate_limited(rate.text, wait))


def parse(bot: Bot, request: Request, state: State) -> Reply | State:
    """The text as a builtin call or a command spec's invocation (a ParseError says why not)."""
    parsed = parse_text(request.text, bot.specs, bot.inventory, state.policy.patterns)
    return replace(state, parsed=parsed)


def authorize(bot: Bot, request: Request, state: State) -> Reply | State:
    """The policy decides on what was parsed, for this person in this channel."""
    parsed = state.parsed
    if parsed is None:
        raise TypeError("authorize runs after parse")
    groups = bot.membership(request.user, state.policy).groups
    decision = state.policy.authorize(
        parsed, request.user, bot.inventory, groups=groups, channel=request.channel
    )
    if not decision:
        return Reply(Outcome.REFUSED, refusal(parsed, request.user, decision), decision=decision)
    return replace(state, decision=decision)


def builtin(bot: Bot, request: Request, state: State) -> Reply | State:
    """A builtin answers now, with the narrow context it may use."""
    call = state.parsed
    if not isinstance(call, BuiltinCall):
        return state
    if call.builtin.where:
        call = replace(call, channel=request.channel)
    answer = call.builtin(bot.context(request, state.policy), call)
    if isinstance(answer, Reply):
        return answer
    return Reply(Outcome.ANSWERED, answer, decision=state.allowed)


def freeze_gate(bot: Bot, request: Request, state: State) -> Reply | State:
    """During a change freeze a scheduled change does not run; one typed by a person needs an
    approved override (``confirm_or_approve``)."""
    freeze = bot.settings.schedule.freeze_at(time.time())
    invocation = state.invocation
    if request.scheduled is not None and freeze is not None and invocation.changes_hosts:
        answer = text.frozen(invocation.normalized(), freeze.name, freeze.end)
        return Reply(Outcome.REFUSED, answer, decision=state.allowed, freeze=freeze)
    return replace(state, freeze=freeze)


def confirm_or_approve(bot: Bot, request: Request, state: State) -> Reply | State:
    """Ask the requester to confirm, or record an approval request for someone else."""
    invocation, decision = state.invocation, state.allowed
    command = invocation.normalized()
    level = confirmation_level(invocation, decision, state.freeze)
    if level is Confirm.APPROVE:
        if request.scheduled is not None:  # nobody is there to approve a 3 a.m. run
            answer = text.scheduled_needs_approval(command)
            return Reply(Outcome.REFUSED, answer, decision=decision)
        approval = bot.approvals.create(
            invocation,
            request.user,
            request.source,
            expiry=bot.settings.approvals.expiry,
            quorum=invocation.spec.quorum or bot.settings.approvals.quorum,
            notify=request.reply_to.to_json() if request.reply_to else None,
        )
        answer = text.approval_requested(approval.id, command, approval.quorum, approval.expires_at)
        freeze = state.freeze
        if freeze is not None and invocation.changes_hosts:
            answer = text.freeze_override(freeze.name, freeze.end, answer)
        return Reply(Outcome.NEEDS_APPROVAL, answer, decision=decision, approval=approval)
    if level is Confirm.CONFIRM and not request.confirmed:
        answer = text.confirm_prompt(command, list(invocation.hosts))
        return Reply(Outcome.NEEDS_CONFIRMATION, answer, decision=decision)
    return state


def submit(bot: Bot, request: Request, state: State) -> Reply | State:
    """Queue the job, audited before any worker can see it."""
    record = submit_audited(
        bot.jobs,
        state.invocation,
        state.allowed,
        user=request.user,
        source=request.source,
        queue=request.queue,
        reply_to=request.reply_to,
        scheduled=request.scheduled,
        detail={"confirmed": request.confirmed},
    )
    answer = text.queued(record.id, record.command, len(record.hosts), record.check_mode)
    return Reply(Outcome.QUEUED, answer, job=record, decision=state.allowed)


STEPS: tuple[Step, ...] = (
    rate_limit,
    parse,
    authorize,
    builtin,
    freeze_gate,
    confirm_or_approve,
    submit,
)


def run(bot: Bot, request: Request, steps: Sequence[Step] = STEPS) -> Reply:
    """``request`` through ``steps`` until one answers."""
    state = State(policy=bot.policy)
    for step in steps:
        outcome = step(bot, request, state)
        if isinstance(outcome, Reply):
            return outcome
        state = outcome
    raise RuntimeError(f"no step answered {request.text!r}: the last step must answer")


def refusal(parsed: Invocation | BuiltinCall, user: str, decision: Decision) -> str:
    """Why the policy said no, in words."""
    if isinstance(parsed, BuiltinCall):
        name, hosts = parsed.builtin.name, 0
    else:
        name, hosts = parsed.spec.name, len(parsed.hosts)
    if decision.max_hosts is not None:
        return text.too_many_hosts(name, hosts, decision.max_hosts, decision.rule)
    if decision.misses:
        command = name if isinstance(parsed, BuiltinCall) else parsed.normalized()
        return text.not_allowed(user, command, decision.rule)
    return text.denied(user, name, decision.permission or "")
