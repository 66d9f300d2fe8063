"""The inventory as toilbot sees it: plain host names and groups, children expanded.

Ansible resolves the sources (``bot.pipeline.inventory.source``); this module reads
what ``ansible-inventory --list`` prints (``from_listing``). Host and group names
must be plain names, so a name can never act as an Ansible host pattern (``all``,
``*``, ``!``, ``&``, ``~``, ``@``, commas): one that is not is left out, and the
inventory says so (``skipped``). A pattern the policy allows (``policy.patterns``)
is resolved here too (``match``), into plain host names: Ansible only ever sees those.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.pipeline.inventory import text

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
#: Characters that make a target an Ansible host pattern rather than a name.
PATTERN_CHARACTERS = frozenset("*?[]!&~@,:")
#: Pattern syntax toilbot never resolves, even when listed: regexes and files.
NEVER_RESOLVED = frozenset("~@")
_TERM = re.compile(r"[!&]?[A-Za-z0-9._*?-]{1,63}")


@dataclass(frozen=True)
class Skipped:
    """A host or group name Ansible knows that toilbot will not target, and why."""

    kind: str  # "host" or "group"
    name: str
    reason: str
    source: str  # the source(s) it came from

    def describe(self) -> str:
        return text.skipped_name(self.kind, self.name, self.reason, self.source)


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
    sources: tuple[str, ...]  # what Ansible read, in order
    hosts: frozenset[str]
    groups: dict[str, tuple[str, ...]]  # group -> every host in it, children included
    skipped: tuple[Skipped, ...] = field(default=())  # names that cannot be targets
    warnings: str = ""  # what Ansible warned about while reading the sources

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "hosts": sorted(self.hosts),
            "groups": {g: list(h) for g, h in self.groups.items()},
            "skipped": [[s.kind, s.name, s.reason, s.source] for s in self.skipped],
            "warnings": self.warnings,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inventory:
        return cls(
            tuple(data["sources"]),
            frozenset(data["hosts"]),
            {g: tuple(h) for g, h in data["groups"].items()},
            tuple(Skipped(*s) for s in data["skipped"]),
            str(data.get("warnings", "")),
        )

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


def from_listing(listing: Mapping[str, Any], sources: tuple[str, ...]) -> Inventory:
    """The inventory in ``ansible-inventory --list`` JSON: ``_meta.hostvars`` and each group's
    ``hosts`` and ``children``. Names that are not plain, and a name that is both a host and a
    group, are left out (``Inventory.skipped``); ``all`` and ``ungrouped`` are never targets."""
    members: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    hosts: set[str] = set((listing.get("_meta") or {}).get("hostvars") or {})
    for group, body in listing.items():
        if group == "_meta" or not isinstance(body, Mapping):
            continue
        members.setdefault(group, set()).update(str(h) for h in body.get("hosts") or ())
        hosts.update(members[group])
        for child in body.get("children") or ():
            children.setdefault(group, set()).add(str(child))
            members.setdefault(str(child), set())

    def expand(group: str, seen: frozenset[str]) -> set[str]:
        found = set(members.get(group, ()))
        for child in children.get(group, set()) - seen:
            found |= expand(child, seen | {child})
        return found

    skipped: list[Skipped] = []
    origin = ", ".join(sources)  # narrowed down by the caller when there are several
    plain = re.compile(NAME_PATTERN)
    for host in sorted(hosts):
        if not plain.fullmatch(host):
            skipped.append(Skipped("host", host, text.NAME_HINT, origin))
    good_hosts = {h for h in hosts if plain.fullmatch(h)}
    groups: dict[str, tuple[str, ...]] = {}
    for group in sorted(members):
        if group in ("all", "ungrouped"):
            continue  # Ansible's own: 'all' is the pattern for every host
        if not plain.fullmatch(group):
            skipped.append(Skipped("group", group, text.NAME_HINT, origin))
            continue
        if group in good_hosts:
            skipped.append(Skipped("group", group, text.also_a_host(), origin))
            continue
        groups[group] = tuple(sorted(expand(group, frozenset({group})) & good_hosts))
    return Inventory(sources, frozenset(good_hosts), groups, tuple(skipped))
