"""What the policy says about its rules: why a rule allows a command or not, and user groups.

Only ``bot.pipeline.policy`` imports this module; the refusals and `whoami`/`can` answers built
from these phrases are in ``bot.pipeline.text``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.platform.formatting import echoed


def rule_text(
    what: str,
    targets: Sequence[str],
    args: Sequence[tuple[str, Sequence[str]]],
    channels: Sequence[str],
    confirm: str | None,
    max_hosts: int | None,
) -> str:
    parts = [what]
    if targets:
        parts.append(f"on {', '.join(targets)}")
    for name, values in args:
        parts.append(f"with {name} {' or '.join(values)}")
    text = " ".join(parts)
    if channels:
        text += f", from {' or '.join(channels)}"
    if max_hosts is not None:
        text += f", at most {max_hosts} hosts"
    if confirm == "approve":
        text += ", needs approval by a second person"
    elif confirm == "confirm":
        text += ", needs confirmation"
    return text


def rule_no_permission() -> str:
    return "needs no permission"


def rule_grants(role: str, granted: str) -> str:
    return f"role {role} grants {granted}"


def rule_allows(role: str, rule: str, key: str) -> str:
    return f"role {role} allows {rule} ({key})"


def rule_capped(roles: str, cap: int) -> str:
    return f"role {roles} allows at most {cap} hosts per command"


def rule_none_grants(user: str, permission: str) -> str:
    return f"no role of {user} grants {permission}"


def rule_none_holds(misses: Sequence[str]) -> str:
    return "no rule allows it: " + "; ".join(misses)


def rule_miss(role: str, rule: str, problem: str) -> str:
    return f"role {role} allows {rule}, but {problem}"


def rule_needs_channel(channels: Sequence[str], here: str | None) -> str:
    where = (
        "console and exec are outside Slack, so they have no channel"
        if here is None
        else f"this came from {here}"
    )
    return f"only from {' or '.join(channels)} ({where})"


def rule_needs_targets(command: str) -> str:
    return f"`{command}` has no targets, and this rule covers commands on its targets only"


def rule_outside_targets(outside: Sequence[str], targets: Sequence[str]) -> str:
    shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    return f"{shown} {'is' if len(outside) == 1 else 'are'} not in {', '.join(targets)}"


def rule_needs_argument(command: str, name: str) -> str:
    return f"`{command}` has no argument {name}"


def rule_argument_not_allowed(name: str, given: str, allowed: Sequence[str]) -> str:
    return f"{name} is {echoed(given)}, not {' or '.join(allowed)}"


def groups_unavailable() -> str:
    return (
        "Slack is not configured here, so Slack user groups resolve to nobody "
        "(roles given to a user group do not apply)"
    )
