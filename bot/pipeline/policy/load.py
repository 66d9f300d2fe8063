"""The ``policy`` section of toilbot.yaml read into roles and rules (``rules.py``); a mistake
is a ConfigError naming its key and the fix."""

from __future__ import annotations

from bot.pipeline.inventory import pattern_problem
from bot.pipeline.policy.rules import Policy, Rate, Role, Rule, value_text
from bot.pipeline.specs import PARAM_NAME, Confirm
from bot.platform.ids import USER_ID
from bot.platform.schema import Node

GROUP_ID = r"S[A-Z0-9]{2,20}"
PERMISSION = r"[a-z*][a-z0-9_.*-]*"
COMMAND_GLOB = r"[a-z*][a-z0-9*-]{0,30}"
CHANNEL_REF = r"#[a-z0-9][a-z0-9_-]{0,79}|[CGD][A-Z0-9]{2,20}"
TARGET_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"


def load_policy(node: Node) -> Policy:
    node.check_keys({"roles", "patterns", "rate_limit", "groups_ttl"})
    roles = []
    for name, role_node in node.child("roles").items():
        Node(role_node.path, role_node.key, name).text(
            r"[a-z][a-z0-9_-]*", "use a lower-case role name"
        )
        roles.append(_role(name, role_node))
    patterns = []
    for element in node.child("patterns", []).elements():
        pattern = element.text()
        problem = pattern_problem(pattern)
        if problem:
            raise element.error(
                f"{pattern!r} cannot be resolved by toilbot: {problem}",
                "remove it, or write it with names, * and ? globs, ',' and !x or &x terms",
            )
        patterns.append(pattern)
    return Policy(
        roles=tuple(roles),
        patterns=frozenset(patterns),
        rate_limit=_rate(node.child("rate_limit", "30/min")),
        groups_ttl=node.child("groups_ttl", "60s").duration(),
    )


def _role(name: str, node: Node) -> Role:
    node.check_keys({"permissions", "members", "max_hosts", "allow"})
    permissions = tuple(
        node.child("permissions", []).text_list(
            PERMISSION, "use permission names such as patch, or *"
        )
    )
    members = node.child("members", []).text_list(
        f"{USER_ID}|{GROUP_ID}",
        "use Slack user ids such as U024BE7LH (profile > Copy member ID) or user-group ids "
        "such as S0614TZR7",
    )
    rules = tuple(
        _rule(f"{node.key}.allow[{i}]", rule_node)
        for i, rule_node in enumerate(node.child("allow", []).elements())
    )
    if not permissions and not rules and node.child("permissions", None).value is None:
        raise node.error("grants nothing", "add permissions: [...] or allow: [...]")
    return Role(
        name=name,
        permissions=permissions,
        members=frozenset(m for m in members if not m.startswith("S")),
        max_hosts=_cap(node),
        groups=frozenset(m for m in members if m.startswith("S")),
        rules=rules,
    )


def _cap(node: Node) -> int | None:
    cap = node.child("max_hosts", None)
    return None if cap.value is None else cap.number(1, 100_000)


def _rule(key: str, node: Node) -> Rule:
    node.check_keys(
        {"permission", "command", "targets", "args", "channels", "confirm", "max_hosts"}
    )
    has = {k for k in ("permission", "command") if k in node.mapping()}
    if len(has) != 1:
        raise node.error(
            "needs exactly one of permission or command",
            "write permission: restart (what `help restart` says it needs) or command: restart",
        )
    permission = command = None
    if "permission" in has:
        permission = node.child("permission").text(PERMISSION, "use a permission name or glob")
    else:
        command = node.child("command").text(COMMAND_GLOB, "use a command name or glob")
    targets = tuple(
        node.child("targets", []).text_list(TARGET_NAME, "use host or group names of the inventory")
    )
    args = []
    for name, values in node.child("args", {}).items():
        Node(values.path, values.key, name).text(PARAM_NAME, "use an argument name")
        raw = values.value if isinstance(values.value, list) else [values.value]
        texts = []
        for i, value in enumerate(raw):
            if isinstance(value, dict | list) or value is None or value == "":
                raise Node(values.path, f"{values.key}[{i}]", value).error(
                    "must be a value", "list allowed values, e.g. [nginx, cron]"
                )
            texts.append(value_text(value))
        args.append((name, frozenset(texts)))
    channels = tuple(
        c.lower() if c.startswith("#") else c
        for c in node.child("channels", []).text_list(
            CHANNEL_REF, "write a channel name such as #ops or an id such as C0123"
        )
    )
    confirm_node = node.child("confirm", None)
    confirm = (
        None
        if confirm_node.value is None
        else Confirm(confirm_node.choice(tuple(c.value for c in Confirm)))
    )
    return Rule(
        key=key,
        permission=permission,
        command=command,
        targets=targets,
        args=tuple(args),
        channels=channels,
        confirm=None if confirm is Confirm.NONE else confirm,
        max_hosts=_cap(node),
    )


def _rate(node: Node) -> Rate | None:
    if node.value in ("off", False, None):
        return None
    text = node.text(
        r"[1-9][0-9]{0,5}/(s|sec|second|m|min|minute|h|hour)",
        "write a number of commands per second, minute or hour, e.g. 30/min, or off",
    )
    count, unit = text.split("/")
    seconds = {"s": 1, "m": 60, "h": 3600}[unit[0]]
    return Rate(int(count), seconds, text)
