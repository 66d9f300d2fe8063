"""Who may run what: roles with scoped rules from toilbot.yaml, deny by default. Pure.

A role has members (Slack users ``U…``/``W…`` and Slack user groups ``S…``)
and rules. A rule allows commands by the permission they need or by their
name (globs), under conditions on what was parsed:

* ``targets``: every host the command resolved to lies in one of these
  inventory groups or hosts (a command without targets never matches);
* ``args``: each named argument has one of the listed values (compared as
  text; a command without that argument never matches);
* ``channels``: the command came from one of these Slack channels (``#name``
  or an id); outside Slack (console, exec) there is no channel, so such a
  rule never matches there;
* ``max_hosts``: at most this many hosts (the role's cap unless the rule sets one).

The simple form ``permissions: [status, jobs]`` is a rule per permission with
no conditions. When several rules allow a command, the one asking for the
least confirmation decides (``confirm: confirm|approve`` on a rule adds a
confirmation level, exposed as ``Decision.confirm``). Every Decision names
the rule that allowed it, or why each candidate rule did not.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot import messages
from bot.pipeline.inventory import Inventory, pattern_problem
from bot.pipeline.parse import BuiltinCall, Channel, Invocation, Value
from bot.pipeline.specs import PARAM_NAME, CommandSpec, Confirm, ParamType
from bot.platform.errors import ConfigError
from bot.platform.ids import USER_ID
from bot.platform.schema import Node

GROUP_ID = r"S[A-Z0-9]{2,20}"
PERMISSION = r"[a-z*][a-z0-9_.*-]*"
COMMAND_GLOB = r"[a-z*][a-z0-9*-]{0,30}"
CHANNEL_REF = r"#[a-z0-9][a-z0-9_-]{0,79}|[CGD][A-Z0-9]{2,20}"
TARGET_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
_STRICTNESS = {None: 0, Confirm.NONE: 0, Confirm.CONFIRM: 1, Confirm.APPROVE: 2}


def value_text(value: Value) -> str:
    """How an argument value is compared with a rule's ``args``: true/false, digits, text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Rule:
    key: str  # where it is written, e.g. policy.roles.operator.allow[1]
    permission: str | None = None  # glob on the permission the command needs
    command: str | None = None  # glob on the command's name
    targets: tuple[str, ...] = ()  # inventory groups/hosts; () = any hosts
    args: tuple[tuple[str, frozenset[str]], ...] = ()  # argument -> allowed values as text
    channels: tuple[str, ...] = ()  # "#name" or ids; () = anywhere, console and exec included
    confirm: Confirm | None = None  # a confirmation level this rule adds
    max_hosts: int | None = None  # overrides the role's cap
    simple: bool = False  # from `permissions:` (no conditions)

    def applies_to(self, command: str, permission: str) -> bool:
        if self.permission is not None:
            return fnmatch.fnmatchcase(permission, self.permission)
        return fnmatch.fnmatchcase(command, self.command or "")

    def describe(self) -> str:
        """The rule in words, e.g. "restart on prod with service nginx, from #ops"."""
        what = self.permission if self.permission is not None else f"command {self.command}"
        return messages.rule_text(
            what or "",
            list(self.targets),
            [(name, sorted(values)) for name, values in self.args],
            list(self.channels),
            self.confirm.value if self.confirm else None,
            self.max_hosts,
        )

    def problem(self, request: Request, inventory: Inventory | None) -> str | None:
        """Why this rule does not hold for ``request``, or None when it does."""
        if self.channels:
            channel = request.channel
            if channel is None:
                return messages.rule_needs_channel(list(self.channels), None)
            if not any(_channel_is(channel, ref) for ref in self.channels):
                return messages.rule_needs_channel(list(self.channels), channel.label())
        if self.targets:
            if not request.has_targets:
                return messages.rule_needs_targets(request.command)
            allowed: set[str] = set()
            for target in self.targets:
                allowed |= set((inventory.resolve(target) if inventory else None) or ())
            outside = [h for h in request.hosts if h not in allowed]
            if outside:
                return messages.rule_outside_targets(outside, list(self.targets))
        for name, values in self.args:
            if name not in request.values:
                return messages.rule_needs_argument(request.command, name)
            given = value_text(request.values[name])
            if given not in values:
                return messages.rule_argument_not_allowed(name, given, sorted(values))
        return None


def _channel_is(channel: Channel, ref: str) -> bool:
    if ref.startswith("#"):
        return channel.name is not None and channel.name.lower() == ref[1:]
    return channel.id == ref


@dataclass(frozen=True)
class Role:
    name: str
    permissions: tuple[str, ...]  # the simple form: names or globs ("patch", "*")
    members: frozenset[str]  # Slack user ids
    max_hosts: int | None = None  # blast radius: hosts one command may touch
    groups: frozenset[str] = frozenset()  # Slack user-group ids whose members have this role
    rules: tuple[Rule, ...] = ()  # scoped rules (`allow:`), after the simple ones

    def all_rules(self) -> tuple[Rule, ...]:
        simple = tuple(
            Rule(key=f"policy.roles.{self.name}.permissions", permission=p, simple=True)
            for p in self.permissions
        )
        return simple + self.rules

    def holds(self, user: str, groups: frozenset[str]) -> bool:
        return user in self.members or bool(self.groups & groups)

    def via(self, user: str, groups: frozenset[str]) -> list[str]:
        """How ``user`` has this role: "directly" and/or the user groups."""
        found = ["directly"] if user in self.members else []
        return found + sorted(self.groups & groups)


@dataclass(frozen=True)
class Request:
    """What the policy decides on: who, from where, which command with which values and hosts."""

    user: str
    command: str  # its name: a spec's or a builtin's
    permission: str | None  # None: anyone may run it
    values: Mapping[str, Value] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    has_targets: bool = False  # the command takes targets (hosts resolved from the inventory)
    groups: frozenset[str] = frozenset()  # Slack user groups the user is in
    channel: Channel | None = None  # None: outside Slack (console, exec)
    host_count: int | None = None  # for decide(): a count without names

    @classmethod
    def of(
        cls,
        parsed: Invocation | BuiltinCall,
        user: str,
        *,
        groups: frozenset[str] = frozenset(),
        channel: Channel | None = None,
    ) -> Request:
        if isinstance(parsed, BuiltinCall):
            return cls(
                user, parsed.builtin.name, parsed.builtin.permission, groups=groups, channel=channel
            )
        spec = parsed.spec
        return cls(
            user,
            spec.name,
            spec.permission,
            parsed.values,
            parsed.hosts,
            has_targets=any(p.type is ParamType.TARGETS for p in spec.params.values()),
            groups=groups,
            channel=channel,
        )

    @property
    def count(self) -> int:
        return self.host_count if self.host_count is not None else len(self.hosts)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    user: str
    permission: str | None
    rule: str  # the rule that decided, in words
    max_hosts: int | None = None  # set when the only obstacle is the blast-radius cap
    confirm: Confirm | None = None  # a confirmation level the allowing rule adds, else None
    role: str | None = None  # the role whose rule allowed it
    misses: tuple[str, ...] = ()  # why each rule for this command did not hold

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int
    text: str  # as written: "30/min"


@dataclass(frozen=True)
class Policy:
    roles: tuple[Role, ...]
    patterns: frozenset[str] = frozenset()  # Ansible-style target patterns toilbot resolves
    rate_limit: Rate | None = None  # commands per user
    groups_ttl: int = 60  # seconds Slack user-group members are cached

    @property
    def group_ids(self) -> frozenset[str]:
        """Every Slack user group the policy names."""
        found: frozenset[str] = frozenset()
        for role in self.roles:
            found |= role.groups
        return found

    def roles_of(self, user: str, groups: frozenset[str] = frozenset()) -> list[str]:
        return [r.name for r in self.roles if r.holds(user, groups)]

    def decide(self, user: str, permission: str | None, hosts: int = 0) -> Decision:
        """Allowed if a role of ``user`` has a rule for ``permission`` with no conditions that
        need the command itself (targets, arguments, channel), for this many hosts."""
        request = Request(user, permission or "", permission, host_count=hosts)
        return self.check(request, None)

    def authorize(
        self,
        parsed: Invocation | BuiltinCall,
        user: str,
        inventory: Inventory,
        *,
        groups: frozenset[str] = frozenset(),
        channel: Channel | None = None,
    ) -> Decision:
        """The decision on a parsed command from ``user`` (in ``groups``) in ``channel``."""
        return self.check(Request.of(parsed, user, groups=groups, channel=channel), inventory)

    def check(self, request: Request, inventory: Inventory | None) -> Decision:
        user, permission = request.user, request.permission
        if permission is None:
            return Decision(True, user, None, messages.rule_no_permission())
        allowed: list[tuple[Rule, Role]] = []
        capped: list[tuple[Role, int]] = []
        misses: list[str] = []
        for role in self.roles:
            if not role.holds(user, request.groups):
                continue
            for rule in role.all_rules():
                if not rule.applies_to(request.command, permission):
                    continue
                problem = rule.problem(request, inventory)
                if problem is not None:
                    misses.append(messages.rule_miss(role.name, rule.describe(), problem))
                    continue
                cap = rule.max_hosts if rule.max_hosts is not None else role.max_hosts
                if cap is not None and request.count > cap:
                    capped.append((role, cap))
                    continue
                allowed.append((rule, role))
        if allowed:
            rule, role = min(allowed, key=lambda found: _STRICTNESS[found[0].confirm])
            text = (
                messages.rule_grants(role.name, rule.permission or "")
                if rule.simple
                else messages.rule_allows(role.name, rule.describe(), rule.key)
            )
            return Decision(True, user, permission, text, confirm=rule.confirm, role=role.name)
        if capped:
            cap = max(c for _, c in capped)
            names = ", ".join(dict.fromkeys(r.name for r, _ in capped))
            text = messages.rule_capped(names, cap)
            return Decision(False, user, permission, text, max_hosts=cap, misses=tuple(misses))
        if misses:
            text = messages.rule_none_holds(misses)
            return Decision(False, user, permission, text, misses=tuple(misses))
        return Decision(False, user, permission, messages.rule_none_grants(user, permission))

    def validate(
        self, inventory: Inventory, specs: Mapping[str, CommandSpec], path: str = "toilbot.yaml"
    ) -> None:
        """Names in rules exist: targets in the inventory, arguments in some command they cover."""
        for role in self.roles:
            for rule in role.rules:
                for index, target in enumerate(rule.targets):
                    if inventory.resolve(target) is None:
                        raise ConfigError(
                            path,
                            f"{rule.key}.targets[{index}]",
                            f"{target!r} is not a host or group in the inventory",
                            f"use one of: {', '.join(inventory.names()[:15])}",
                        )
                covered = [s for s in specs.values() if rule.applies_to(s.name, s.permission)]
                for name, _values in rule.args:
                    if not any(name in s.params for s in covered):
                        raise ConfigError(
                            path,
                            f"{rule.key}.args.{name}",
                            f"no command this rule covers has an argument {name!r}",
                            "name an argument of the command (see `help <command>`)",
                        )


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
