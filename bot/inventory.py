"""The Ansible inventory, read by the bot so that targets are resolved here, never by Ansible.

Only the YAML inventory format is read (``all: {hosts:, children:, vars:}``).
Host and group names must be plain names, so a name can never act as an
Ansible host pattern (``all``, ``*``, ``!``, ``&``, ``~``, ``@``, commas).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.schema import Node, load_yaml

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
_NAME_HINT = "use letters, digits, '.', '_' and '-' only (at most 63 characters)"


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: frozenset[str]
    groups: dict[str, tuple[str, ...]]  # group -> every host in it, children included

    def resolve(self, name: str) -> tuple[str, ...] | None:
        """Hosts named by a host or group name, sorted; None if the name is unknown."""
        if name in self.groups:
            return self.groups[name]
        if name in self.hosts:
            return (name,)
        return None

    def names(self) -> list[str]:
        return sorted(self.hosts | set(self.groups))


def load_inventory(path: Path) -> Inventory:
    root = load_yaml(path)
    members: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    hosts: set[str] = set()

    def visit(group: str, node: Node) -> None:
        members.setdefault(group, set())
        children.setdefault(group, set())
        if node.value is None:
            return
        node.check_keys({"hosts", "children", "vars"})
        hosts_node = node.child("hosts", None)
        if hosts_node.value is not None:
            for host, host_vars in hosts_node.items():
                Node(path=host_vars.path, key=host_vars.key, value=host).text(
                    NAME_PATTERN, _NAME_HINT
                )
                if host_vars.value is not None:
                    host_vars.mapping()
                hosts.add(host)
                members[group].add(host)
        vars_node = node.child("vars", None)
        if vars_node.value is not None:
            vars_node.mapping()
        children_node = node.child("children", None)
        if children_node.value is not None:
            for child, child_node in children_node.items():
                Node(child_node.path, child_node.key, child).text(NAME_PATTERN, _NAME_HINT)
                children[group].add(child)
                visit(child, child_node)

    for group, node in root.items():
        Node(node.path, node.key, group).text(NAME_PATTERN, _NAME_HINT)
        visit(group, node)
    if not hosts:
        raise root.error("defines no hosts", "add at least one host under all.hosts")

    def expand(group: str, seen: frozenset[str]) -> set[str]:
        found = set(members[group])
        for child in children[group] - seen:
            found |= expand(child, seen | {child})
        return found

    groups = {g: tuple(sorted(expand(g, frozenset({g})))) for g in members}
    # 'all' is Ansible's pattern for every host: never a target by itself.
    groups.pop("all", None)
    overlap = hosts & set(groups)
    if overlap:
        name = sorted(overlap)[0]
        raise root.error(
            f"{name!r} is both a host and a group", "rename one of them so targets are unambiguous"
        )
    return Inventory(path=path, hosts=frozenset(hosts), groups=groups)
