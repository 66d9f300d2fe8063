"""`whoami` and `can <@user> <command ...>`: what the policy allows, and the rule that decides."""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import replace

from bot.pipeline import text
from bot.pipeline.builtins.registry import builtin
from bot.pipeline.context import Context
from bot.pipeline.parse import BuiltinCall
from bot.platform.errors import ParseError
from bot.platform.ids import USER_ID

_MENTION = re.compile(r"<@(" + USER_ID + r")(?:\|[^>]*)?>|(" + USER_ID + r")")


def _clock(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def _policy_line(context: Context) -> str:
    """Where the policy in force was read, and whether a newer version was refused."""
    path = str(context.settings.config_path)
    if context.policies is None:
        return text.policy_loaded(path, "start-up")
    state = context.policies.state  # the file was re-read at the start of this request
    if state.error is not None:
        return text.policy_stale(path, _clock(state.error_at or 0), state.error)
    return text.policy_loaded(path, _clock(state.loaded_at))


@builtin(
    name="whoami",
    summary="Your roles, user groups and what the policy allows you",
    usage="whoami",
    permission=None,
)
def whoami(context: Context, call: BuiltinCall) -> str:
    policy, user = context.policy, context.user
    membership = context.membership(user)
    roles = [
        (role.name, role.via(user, membership.groups))
        for role in policy.roles
        if role.holds(user, membership.groups)
    ]
    rules = [
        f"role {role.name}: {replace(rule, max_hosts=rule.max_hosts or role.max_hosts).describe()}"
        f" ({rule.key})"
        for role in policy.roles
        if role.holds(user, membership.groups)
        for rule in role.all_rules()
    ]
    return text.whoami(
        user,
        sorted(membership.groups),
        membership.notes,
        roles,
        rules,
        policy.rate_limit.text if policy.rate_limit else None,
        _policy_line(context),
    )


@builtin(
    name="can",
    summary="Whether a person may run a command here, and the rule that decides",
    usage="can <@user> <command ...>",
    permission=None,
    free_words=True,
    where=True,
)
def can(context: Context, call: BuiltinCall) -> str:
    match = _MENTION.fullmatch(call.words[0]) if call.words else None
    if match is None or len(call.words) < 2:
        raise ParseError(text.can_usage())
    who = match.group(1) or match.group(2)
    parsed = context.parse(shlex.join(call.words[1:]))
    membership = context.membership(who)
    decision = context.policy.authorize(
        parsed, who, context.inventory, groups=membership.groups, channel=call.channel
    )
    command = parsed.builtin.name if isinstance(parsed, BuiltinCall) else parsed.normalized()
    rule = decision.rule
    if decision.confirm is not None:
        rule += f"; confirmation: {decision.confirm.value}"
    where = text.where_text(call.channel.label() if call.channel else None)
    return text.can_answer(who, command, where, decision.allowed, rule, membership.notes)
