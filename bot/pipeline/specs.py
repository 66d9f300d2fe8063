"""Command specs: ``commands/*.yaml`` loaded and validated into CommandSpec objects.

A spec declares a command that runs a playbook: its grammar
(``restart {service} on {targets}``), typed arguments and flags, the playbook,
the permission it needs, its confirmation policy, its timeout and how many
minutes the same task takes a person by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.platform.schema import Node, load_yaml

PARAM_NAME = r"[a-z][a-z0-9_]{0,30}"
COMMAND_NAME = r"[a-z][a-z0-9-]{0,30}"
_PLACEHOLDER = re.compile(r"^\{(" + PARAM_NAME + r")\}$")


class ParamType(StrEnum):
    TARGETS = "targets"  # a host or group name from the inventory
    CHOICE = "choice"  # one value of an allowlist (services, modes)
    INT = "int"  # a whole number in a range
    DURATION = "duration"  # 90s, 30m, 2h, in a range of seconds
    BOOL = "bool"  # a flag with no value


class Confirm(StrEnum):
    NONE = "none"
    CONFIRM = "confirm"  # the requester confirms
    APPROVE = "approve"  # someone else approves


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    help: str
    is_flag: bool
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: int | str | bool | None = None
    check_mode: bool = False  # a bool flag that runs Ansible in check mode

    def placeholder(self) -> str:
        if self.type is ParamType.CHOICE:
            return "|".join(self.choices) if len(self.choices) <= 4 else self.name
        return {ParamType.INT: "N", ParamType.DURATION: "DURATION"}.get(self.type, self.name)


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    grammar: tuple[str, ...]  # words and {param} placeholders, first word is the name
    params: dict[str, Param]
    playbook: str
    permission: str
    confirm: Confirm
    timeout: int  # seconds
    manual_minutes: int
    source: Path
    lock: bool = True  # lock the hosts while a run that may change them is queued or running
    quorum: int | None = None  # approvers a `confirm: approve` run needs (None: approvals.quorum)

    @property
    def positionals(self) -> list[Param]:
        return [p for p in self.params.values() if not p.is_flag]

    @property
    def flags(self) -> list[Param]:
        return [p for p in self.params.values() if p.is_flag]

    def usage(self) -> str:
        words = []
        for token in self.grammar:
            match = _PLACEHOLDER.match(token)
            words.append(f"<{self.params[match.group(1)].placeholder()}>" if match else token)
        for flag in self.flags:
            value = "" if flag.type is ParamType.BOOL else f" {flag.placeholder()}"
            words.append(f"[--{flag.name.replace('_', '-')}{value}]")
        return " ".join(words)


def load_specs(directory: Path, playbooks: Path) -> dict[str, CommandSpec]:
    """Every ``*.yaml`` in ``directory``, by command name; a bad spec is a ConfigError."""
    specs: dict[str, CommandSpec] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise Node(str(directory), "", None).error(
            "holds no command specs (*.yaml)",
            "add a spec or point commands_dir to the right folder",
        )
    for path in files:
        spec = load_spec(path, playbooks)
        if spec.name in specs:
            raise Node(str(path), "name", spec.name).error(
                f"{spec.name!r} is already defined in {specs[spec.name].source.name}",
                "give each command its own name",
            )
        specs[spec.name] = spec
    return specs


def load_spec(path: Path, playbooks: Path) -> CommandSpec:
    root = load_yaml(path)
    root.check_keys(
        {
            "name",
            "summary",
            "grammar",
            "arguments",
            "flags",
            "playbook",
            "permission",
            "confirm",
            "timeout",
            "manual_minutes",
            "lock",
            "quorum",
        }
    )
    name_node = root.child("name")
    name = name_node.text(COMMAND_NAME, "use lower-case letters, digits and '-'")
    _not_a_builtin(name, name_node)
    grammar_node = root.child("grammar")
    grammar = tuple(grammar_node.text().split())
    if grammar[0] != name:
        raise grammar_node.error(
            f"must start with the command name {name!r}", f"write '{name} ...'"
        )

    params: dict[str, Param] = {}
    args_node = root.child("arguments", {})
    for pname, pnode in args_node.items():
        params[pname] = _param(pname, pnode, is_flag=False)
    for pname, pnode in root.child("flags", {}).items():
        if pname in params:
            raise pnode.error(
                f"{pname!r} is also an argument", "give flags and arguments distinct names"
            )
        params[pname] = _param(pname, pnode, is_flag=True)

    placeholders = []
    for token in grammar[1:]:
        match = _PLACEHOLDER.match(token)
        if match:
            placeholders.append(match.group(1))
        elif "{" in token or "}" in token:
            raise grammar_node.error(
                f"{token!r} is not a valid placeholder", "write {name} with a declared argument"
            )
        elif token.startswith("-"):
            raise grammar_node.error(f"{token!r} looks like a flag", "declare flags under 'flags'")
    declared = [p.name for p in params.values() if not p.is_flag]
    if sorted(placeholders) != sorted(declared) or len(set(placeholders)) != len(placeholders):
        raise grammar_node.error(
            f"placeholders {placeholders} do not match the arguments {declared}",
            "use each argument exactly once as {name} in the grammar",
        )
    if sum(p.type is ParamType.TARGETS for p in params.values()) > 1:
        raise args_node.error(
            "declares more than one targets argument", "keep a single targets argument"
        )
    if sum(p.check_mode for p in params.values()) > 1:
        raise root.child("flags").error("has more than one check_mode flag", "keep one")

    playbook_node = root.child("playbook")
    playbook = playbook_node.text(r"[A-Za-z0-9_.-]+\.ya?ml", "name a playbook file in playbooks/")
    if not (playbooks / playbook).is_file():
        raise playbook_node.error(
            f"{playbooks / playbook} does not exist", "add the playbook or fix the name"
        )
    return CommandSpec(
        name=name,
        summary=root.child("summary").text(),
        grammar=grammar,
        params=params,
        playbook=playbook,
        permission=root.child("permission").text(
            r"[a-z][a-z0-9_.-]*", "use a lower-case permission name"
        ),
        confirm=Confirm(root.child("confirm", "none").choice(tuple(c.value for c in Confirm))),
        timeout=root.child("timeout").duration(),
        manual_minutes=root.child("manual_minutes").number(0, 24 * 60),
        source=path,
        lock=root.child("lock", True).flag(),
        quorum=_quorum(root),
    )


def _not_a_builtin(name: str, node: Node) -> None:
    """A spec may not take a builtin's name (the builtin would answer instead of it).

    The names come from the builtins' registry, read here rather than imported with this
    module: the builtins use command specs themselves."""
    from bot.pipeline.builtins import BUILTINS

    taken = BUILTINS.get(name)
    if taken is not None:
        raise node.error(
            f"{name!r} is the name of the built-in command `{taken.usage}`; "
            "a command spec cannot take it",
            "rename the command: give `name` and the first word of `grammar` a name "
            "that `help` does not list",
        )


def _quorum(root: Node) -> int | None:
    node = root.child("quorum", None)
    if node.value is None:
        return None
    if root.child("confirm", "none").value != Confirm.APPROVE.value:
        raise node.error("is only for commands with confirm: approve", "remove it or set confirm")
    return node.number(1, 10)


def _param(name: str, node: Node, *, is_flag: bool) -> Param:
    Node(node.path, node.key, name).text(PARAM_NAME, "use lower-case letters, digits and '_'")
    node.check_keys({"type", "help", "choices", "min", "max", "default", "check_mode"})
    ptype = ParamType(node.child("type").choice(tuple(t.value for t in ParamType)))
    if ptype is ParamType.BOOL and not is_flag:
        raise node.child("type").error("bool is only for flags", "move it under 'flags'")
    if ptype is ParamType.TARGETS and is_flag:
        raise node.child("type").error("targets must be an argument", "move it under 'arguments'")
    choices: tuple[str, ...] = ()
    if ptype is ParamType.CHOICE:
        choices = tuple(
            node.child("choices").text_list(r"[A-Za-z0-9][A-Za-z0-9@._-]{0,62}", "plain names only")
        )
        if not choices:
            raise node.child("choices").error("is empty", "list the allowed values")
    minimum = maximum = None
    if ptype in (ParamType.INT, ParamType.DURATION):
        read = Node.number if ptype is ParamType.INT else Node.duration
        minimum = read(node.child("min"))
        maximum = read(node.child("max"))
        if minimum > maximum:
            raise node.child("max").error("is below min", "make max at least min")
    check_mode = node.child("check_mode", False).flag()
    if check_mode and ptype is not ParamType.BOOL:
        raise node.child("check_mode").error("only a bool flag can turn on check mode", "remove it")
    default_node = node.child("default", None)
    default: int | str | bool | None = None
    if default_node.value is not None:
        if not is_flag:
            raise default_node.error(
                "arguments have no default", "make it a flag or remove the default"
            )
        if ptype is ParamType.INT:
            default = default_node.number(minimum, maximum)
        elif ptype is ParamType.CHOICE:
            default = default_node.choice(choices)
        elif ptype is ParamType.DURATION:
            default = default_node.duration()
        else:
            default = default_node.flag()
    elif ptype is ParamType.BOOL:
        default = False
    return Param(
        name=name,
        type=ptype,
        help=node.child("help").text(),
        is_flag=is_flag,
        choices=choices,
        minimum=minimum,
        maximum=maximum,
        default=default,
        check_mode=check_mode,
    )
