"""Who may run what: roles from toilbot.yaml, deny by default. Pure.

A Decision carries the rule behind it, so later layers (scopes on arguments,
user groups, channel rules, approvals) can add conditions and explain
themselves the same way.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from bot.schema import Node

USER_ID = r"[UW][A-Z0-9]{2,20}"
PERMISSION = r"[a-z*][a-z0-9_.*-]*"


@dataclass(frozen=True)
class Role:
    name: str
    permissions: tuple[str, ...]  # names or globs: "patch", "*"
    members: frozenset[str]  # Slack user ids
    max_hosts: int | None = None  # blast radius: hosts one command may touch


@dataclass(frozen=True)
class Decision:
    allowed: bool
    user: str
    permission: str | None
    rule: str  # the rule that decided, in words
    max_hosts: int | None = None  # set when the only obstacle is the blast-radius cap

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Policy:
    roles: tuple[Role, ...]

    def roles_of(self, user: str) -> list[str]:
        return [r.name for r in self.roles if user in r.members]

    def decide(self, user: str, permission: str | None, hosts: int = 0) -> Decision:
        """Allowed if a role of ``user`` grants ``permission`` for this many hosts."""
        if permission is None:
            return Decision(True, user, None, "needs no permission")
        capped: list[Role] = []
        for role in self.roles:
            if user not in role.members:
                continue
            for granted in role.permissions:
                if not fnmatch.fnmatchcase(permission, granted):
                    continue
                if role.max_hosts is not None and hosts > role.max_hosts:
                    capped.append(role)
                    break
                return Decision(True, user, permission, f"role {role.name} grants {granted}")
        if capped:
            cap = max(r.max_hosts or 0 for r in capped)
            names = ", ".join(r.name for r in capped)
            return Decision(
                False,
                user,
                permission,
                f"role {names} allows at most {cap} hosts per command",
                max_hosts=cap,
            )
        return Decision(False, user, permission, f"no role of {user} grants {permission}")


def load_policy(node: Node) -> Policy:
    node.check_keys({"roles"})
    roles = []
    for name, role_node in node.child("roles").items():
        Node(role_node.path, role_node.key, name).text(
            r"[a-z][a-z0-9_-]*", "use a lower-case role name"
        )
        role_node.check_keys({"permissions", "members", "max_hosts"})
        permissions = tuple(
            role_node.child("permissions").text_list(
                PERMISSION, "use permission names such as patch, or *"
            )
        )
        members = frozenset(
            role_node.child("members", []).text_list(
                USER_ID, "use Slack user ids such as U024BE7LH (profile > Copy member ID)"
            )
        )
        max_hosts_node = role_node.child("max_hosts", None)
        max_hosts = None if max_hosts_node.value is None else max_hosts_node.number(1, 100_000)
        roles.append(Role(name=name, permissions=permissions, members=members, max_hosts=max_hosts))
    return Policy(roles=tuple(roles))
