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

Reading the ``policy`` section of toilbot.yaml into these values is ``load.py``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.pipeline.inventory import Inventory
from bot.pipeline.parse import BuiltinCall, Invocation, Value
from bot.pipeline.policy import text as policy_text
from bot.pipeline.request import Channel
from bot.pipeline.specs import CommandSpec, Confirm, ParamType
from bot.platform.errors import ConfigError

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
        return policy_text.rule_text(
            what or "",
            list(self.targets),
            [(name, sorted(values)) for name, values in self.args],
            list(self.channels),
            self.confirm.value if self.confirm else None,
            self.max_hosts,
        )

    def problem(self, question: Question, inventory: Inventory | None) -> str | None:
        """Why this rule does not hold for ``question``, or None when it does."""
        if self.channels:
            channel = question.channel
            if channel is None:
                return policy_text.rule_needs_channel(list(self.channels), None)
            if not any(_channel_is(channel, ref) for ref in self.channels):
                return policy_text.rule_needs_channel(list(self.channels), channel.label())
        if self.targets:
            if not question.has_targets:
                return policy_text.rule_needs_targets(question.command)
            allowed: set[str] = set()
            for target in self.targets:
                allowed |= set((inventory.resolve(target) if inventory else None) or ())
            outside = [h for h in question.hosts if h not in allowed]
            if outside:
                return policy_text.rule_outside_targets(outside, list(self.targets))
        for name, values in self.args:
            if name not in question.values:
                return policy_text.rule_needs_argument(question.command, name)
            given = value_text(question.values[name])
            if given not in values:
                return policy_text.rule_argument_not_allowed(name, given, sorted(values))
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
class Question:
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
    ) -> Question:
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
        question = Question(user, permission or "", permission, host_count=hosts)
        return self.check(question, None)

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
        return self.check(Question.of(parsed, user, groups=groups, channel=channel), inventory)

    def check(self, question: Question, inventory: Inventory | None) -> Decision:
        user, permission = question.user, question.permission
        if permission is None:
            return Decision(True, user, None, policy_text.rule_no_permission())
        allowed: list[tuple[Rule, Role]] = []
        capped: list[tuple[Role, int]] = []
        misses: list[str] = []
        for role in self.roles:
            if not role.holds(user, question.groups):
                continue
            for rule in role.all_rules():
                if not rule.applies_to(question.command, permission):
                    continue
                problem = rule.problem(question, inventory)
                if problem is not None:
                    misses.append(policy_text.rule_miss(role.name, rule.describe(), problem))
                    continue
                cap = rule.max_hosts if rule.max_hosts is not None else role.max_hosts
                if cap is not None and question.count > cap:
                    capped.append((role, cap))
                    continue
                allowed.append((rule, role))
        if allowed:
            rule, role = min(allowed, key=lambda found: _STRICTNESS[found[0].confirm])
            text = (
                policy_text.rule_grants(role.name, rule.permission or "")
                if rule.simple
                else policy_text.rule_allows(role.name, rule.describe(), rule.key)
            )
            return Decision(True, user, permission, text, confirm=rule.confirm, role=role.name)
        if capped:
            cap = max(c for _, c in capped)
            names = ", ".join(dict.fromkeys(r.name for r, _ in capped))
            text = policy_text.rule_capped(names, cap)
            return Decision(False, user, permission, text, max_hosts=cap, misses=tuple(misses))
        if misses:
            text = policy_text.rule_none_holds(misses)
            return Decision(False, user, permission, text, misses=tuple(misses))
        return Decision(False, user, permission, policy_text.rule_none_grants(user, permission))

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
