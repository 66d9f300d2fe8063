"""The Ansible inventory, read by the bot so that targets are resolved here, never by Ansible.

Only the YAML inventory format is read (``all: {hosts:, children:, vars:}``).
Host and group names must be plain names, so a name can never act as an
Ansible host pattern (``all``, ``*``, ``!``, ``&``, ``~``, ``@``, commas).
A pattern the policy allows (``policy.patterns``) is resolved here too
(``match``), into plain host names: Ansible only ever sees those.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

from bot.platform.schema import Node, load_yaml

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
_NAME_HINT = "use letters, digits, '.', '_' and '-' only (at most 63 characters)"
#: Characters that make a target an Ansible host pattern rather than a name.
PATTERN_CHARACTERS = frozenset("*?[]!&~@,:")
#: Pattern syntax toilbot never resolves, even when listed: regexes and files.
NEVER_RESOLVED = frozenset("~@")
_TERM = re.compile(r"[!&]?[A-Za-z0-9._*?-]{1,63}")


def is_pattern(text: str) -> bool:
    """Whether ``text`` is an Ansible host pattern (``all``, globs, ``!``, ``&``, lists...)."""
    return text == "all" or any(c in PATTERN_CHARACTERS for c in text)


def pattern_problem(pattern: str) -> str | None:
    """Why toilbot cannot resolve ``pattern`` itself, or None if it can."""
    if any(c in NEVER_RESOLVED for c in pattern):
        return "regex (~) and file (@) patterns are never resolved"
    terms = re.split(r"[,:]", pattern)
    if len(pattern) > 200 or not all(_TERM.fullmatch(t) for t in terms):
        return "write names or * and ? globs joined by ',' or ':', each optionally !x or &x"
    if all(t[0] in "!&" for t in terms):
        return "a pattern needs at least one term that adds hosts"
    return None


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

    def match(self, pattern: str) -> tuple[str, ...]:
        """Hosts an allowed pattern selects, sorted, as Ansible would: the union of its plain
        terms, then ``&x`` intersections, then ``!x`` exclusions. Call only with a pattern
        for which ``pattern_problem`` is None."""
        selected: set[str] = set()
        intersect: list[set[str]] = []
        exclude: set[str] = set()
        for term in re.split(r"[,:]", pattern):
            kind, name = (term[0], term[1:]) if term[0] in "!&" else ("", term)
            hosts = self._term(name)
            if kind == "&":
                intersect.append(hosts)
            elif kind == "!":
                exclude |= hosts
            else:
                selected |= hosts
        for hosts in intersect:
            selected &= hosts
        return tuple(sorted(selected - exclude))

    def _term(self, name: str) -> set[str]:
        if name in ("all", "*"):
            return set(self.hosts)
        found: set[str] = set()
        for candidate in self.names():
            if fnmatch.fnmatchcase(candidate, name):
                found |= set(self.resolve(candidate) or ())
        return found

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
