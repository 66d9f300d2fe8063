"""Text -> Invocation or BuiltinCall. Pure: no I/O, no Redis, no clock.

Hostile text stops here: a command is at most MAX_TEXT characters and each
word at most MAX_WORD; every word of a command spec (targets, choices,
numbers, flags) is plain ASCII, so look-alike letters are refused by name;
targets are inventory names, and Ansible host patterns only when the policy
lists them (resolved by the inventory, never by Ansible).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass

from bot import messages
from bot.pipeline.inventory import NAME_PATTERN, Inventory, is_pattern
from bot.pipeline.specs import CommandSpec, Param, ParamType
from bot.platform.errors import ParseError
from bot.platform.schema import parse_duration
from bot.platform.words import suggest

MAX_TEXT = 500
MAX_WORD = 100
_PATTERN_TEXT = r"[A-Za-z0-9._*?\[\]!&~@,:-]+"  # names and Ansible pattern syntax only
Value = int | str | bool


@dataclass(frozen=True)
class Channel:
    """Where a command was typed: a Slack channel id and/or name (without '#').

    None instead of a Channel means outside Slack (console, exec)."""

    id: str | None = None
    name: str | None = None

    @classmethod
    def of(cls, value: Channel | str | None) -> Channel | None:
        """A Channel from itself, "#name", an id such as C0123, or None."""
        if value is None or isinstance(value, Channel):
            return value
        return cls(name=value[1:]) if value.startswith("#") else cls(id=value)

    def label(self) -> str:
        return f"#{self.name}" if self.name else (self.id or "?")


@dataclass(frozen=True)
class Builtin:
    """A command implemented in Python (help, jobs, job, cancel)."""

    name: str
    summary: str
    usage: str
    permission: str | None  # None: anyone may run it
    argument: str | None = None  # name of its one optional/required argument
    argument_required: bool = False
    free_words: bool = False  # takes any words; its handler parses them
    checks: tuple[str, ...] = ()  # permissions its handler checks itself
    details: tuple[str, ...] = ()  # more lines for `help <name>`
    where: bool = False  # its handler needs the channel the command came from


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("help", "List commands, or explain one", "help [command]", None, "command"),
        Builtin("jobs", "Recent jobs and their status", "jobs", "jobs"),
        Builtin("job", "One job: status, per-host results, output", "job <id>", "jobs", "id", True),
        Builtin("cancel", "Stop a queued or running job", "cancel <id>", "cancel", "id", True),
        Builtin("approvals", "Commands waiting for approval", "approvals", "approve"),
        # approve and deny check the policy themselves: the requester is told first that
        # they cannot approve their own command, whatever their roles.
        Builtin(
            "approve",
            "Approve someone else's command that needs approval",
            "approve <id>",
            None,
            "id",
            True,
        ),
        Builtin(
            "deny",
            "Refuse a command waiting for approval",
            "deny <id> [reason]",
            None,
            free_words=True,
        ),
        Builtin(
            "schedule",
            "Scheduled runs: add, list, show, pause, resume, remove, skip (`help schedule`)",
            'schedule add "<command>" cron "<m h dom mon dow>" [tz <zone>] [window 2h] | '
            "schedule list|show|pause|resume|remove|skip <name>",
            None,
            free_words=True,
            checks=("schedule", "jobs"),
            where=True,
            details=messages.schedule_help(),
        ),
        Builtin(
            "toil",
            "Log operating and coding time, see your toil ratio (`help toil`)",
            "toil start|stop|switch|log|edit|undo|me|report ...",
            None,
            free_words=True,
        ),
        Builtin("whoami", "Your roles, user groups and what the policy allows you", "whoami", None),
        Builtin(
            "can",
            "Whether a person may run a command here, and the rule that decides",
            "can <@user> <command ...>",
            None,
            free_words=True,
            where=True,
        ),
    )
}


@dataclass(frozen=True)
class BuiltinCall:
    builtin: Builtin
    argument: str | None
    words: tuple[str, ...] = ()  # all its words, for builtins that take free words
    channel: Channel | None = None  # set by the pipeline for builtins with ``where``


@dataclass(frozen=True)
class Invocation:
    """A command spec with every argument typed, validated and resolved."""

    spec: CommandSpec
    values: dict[str, Value]
    hosts: tuple[str, ...]

    @property
    def changes_hosts(self) -> bool:
        """Whether this run may change its hosts, so it must lock them."""
        return self.spec.lock and not self.check_mode

    @property
    def check_mode(self) -> bool:
        return any(p.check_mode and self.values.get(p.name) for p in self.spec.params.values())

    def normalized(self) -> str:
        """The command as canonical text: same meaning, same string."""
        words = []
        for token in self.spec.grammar:
            if token.startswith("{"):
                words.append(self._text(self.spec.params[token[1:-1]]))
            else:
                words.append(token)
        for flag in self.spec.flags:
            value = self.values.get(flag.name)
            if value is None or value == flag.default:
                continue
            option = "--" + flag.name.replace("_", "-")
            words.append(option if value is True else f"{option} {self._text(flag)}")
        return " ".join(words)

    def _text(self, param: Param) -> str:
        value = self.values[param.name]
        if param.type is ParamType.DURATION and isinstance(value, int):
            return messages.seconds_text(value)
        return str(value)


# Slack (and phones) turn typed quotes into typographic ones: read them as the quotes meant.
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def tokenize(text: str) -> list[str]:
    if len(text) > MAX_TEXT:
        raise ParseError(messages.too_long(len(text), MAX_TEXT))
    if any(ord(c) < 32 and c not in "\t\n" for c in text):
        raise ParseError(messages.control_characters())
    try:
        tokens = shlex.split(text.translate(_SMART_QUOTES))
    except ValueError as exc:
        raise ParseError(messages.unbalanced_quotes(str(exc))) from None
    if tokens and tokens[0].lower() in ("/ops", "ops"):
        tokens = tokens[1:]
    return tokens


def parse(
    text: str,
    specs: dict[str, CommandSpec],
    inventory: Inventory,
    patterns: Collection[str] = (),
) -> Invocation | BuiltinCall:
    """``patterns``: Ansible-style target patterns the policy allows (policy.patterns)."""
    tokens = tokenize(text)
    if not tokens:
        return BuiltinCall(BUILTINS["help"], None)
    _plain("command", tokens[0])
    name = tokens[0].lower()
    if name in BUILTINS:
        builtin = BUILTINS[name]
        if not builtin.free_words:
            for token in tokens[1:]:
                _plain(builtin.argument or "argument", token)
        return _parse_builtin(builtin, tokens[1:])
    if name not in specs:
        known = sorted(set(specs) | set(BUILTINS))
        raise ParseError(messages.unknown_command(tokens[0], suggest(tokens[0], known)))
    spec = specs[name]
    for token in tokens[1:]:
        _plain("argument", token, spec.usage())
    return _parse_spec(spec, tokens[1:], inventory, frozenset(patterns))


def _plain(what: str, word: str, usage: str = "") -> None:
    """Refuse a word that is too long or not plain ASCII, naming the odd character."""
    if len(word) > MAX_WORD:
        raise ParseError(messages.word_too_long(what, len(word), MAX_WORD, usage))
    odd = next((c for c in word if not c.isascii() or not c.isprintable()), None)
    if odd is not None:
        raise ParseError(messages.not_plain(what, word, odd, usage))


def _parse_builtin(builtin: Builtin, args: list[str]) -> BuiltinCall:
    if builtin.free_words:
        return BuiltinCall(builtin, args[0] if args else None, tuple(args))
    if len(args) > (1 if builtin.argument else 0):
        raise ParseError(messages.unexpected_word(args[-1], builtin.usage))
    if builtin.argument_required and not args:
        raise ParseError(messages.missing_argument(builtin.argument or "", builtin.usage))
    return BuiltinCall(builtin, args[0] if args else None)


def _parse_spec(
    spec: CommandSpec, args: list[str], inventory: Inventory, patterns: frozenset[str]
) -> Invocation:
    usage = spec.usage()
    flags = {f.name.replace("_", "-"): f for f in spec.flags}
    values: dict[str, Value] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        token = args[i]
        i += 1
        if not token.startswith("--") or token == "--":  # noqa: S105 - not a password
            positional.append(token)
            continue
        option, _, inline = token[2:].partition("=")
        flag = flags.get(option.lower())
        if flag is None:
            raise ParseError(messages.unknown_flag(token, suggest(option, list(flags)), usage))
        if flag.name in values:
            raise ParseError(messages.repeated_flag(option, usage))
        if flag.type is ParamType.BOOL:
            if inline:
                raise ParseError(messages.flag_takes_no_value(option, usage))
            values[flag.name] = True
            continue
        if inline:
            raw = inline
        elif i < len(args):
            raw = args[i]
            i += 1
        else:
            raise ParseError(messages.flag_needs_value(option, flag.placeholder(), usage))
        values[flag.name] = _value(flag, raw, usage)

    grammar = spec.grammar[1:]
    hosts: tuple[str, ...] = ()
    for index, expected in enumerate(grammar):
        if index >= len(positional):
            missing = [t for t in grammar[index:] if t.startswith("{")]
            what = missing[0][1:-1] if missing else expected
            raise ParseError(messages.missing_argument(what, usage))
        word = positional[index]
        if expected.startswith("{"):
            param = spec.params[expected[1:-1]]
            if param.type is ParamType.TARGETS:
                hosts = _targets(word, inventory, patterns, usage)
                values[param.name] = word
            else:
                values[param.name] = _value(param, word, usage)
        elif word.lower() != expected:
            raise ParseError(messages.expected_word(expected, word, usage))
    if len(positional) > len(grammar):
        raise ParseError(messages.unexpected_word(positional[len(grammar)], usage))
    for flag in spec.flags:
        if flag.name not in values and flag.default is not None:
            values[flag.name] = flag.default
    return Invocation(spec=spec, values=values, hosts=hosts)


def _targets(
    raw: str, inventory: Inventory, patterns: frozenset[str], usage: str
) -> tuple[str, ...]:
    """The hosts ``raw`` names: a host, a group, or a pattern the policy allows."""
    if raw in patterns:
        matched = inventory.match(raw)
        if not matched:
            raise ParseError(messages.pattern_matches_nothing(raw, usage))
        return matched
    if is_pattern(raw) and re.fullmatch(_PATTERN_TEXT, raw):
        raise ParseError(messages.target_pattern(raw, usage))
    if not re.fullmatch(NAME_PATTERN, raw):
        raise ParseError(messages.bad_target_name(raw, usage))
    hosts = inventory.resolve(raw)
    if hosts is None:
        raise ParseError(messages.unknown_target(raw, suggest(raw, inventory.names()), usage))
    if not hosts:
        raise ParseError(messages.pattern_matches_nothing(raw, usage))
    return hosts


def _value(param: Param, raw: str, usage: str) -> Value:
    if param.type is ParamType.CHOICE:
        if raw not in param.choices:
            raise ParseError(
                messages.bad_choice(
                    param.name, raw, param.choices, suggest(raw, list(param.choices)), usage
                )
            )
        return raw
    if param.type is ParamType.INT:
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
        if number is None or not _in_range(number, param):
            raise ParseError(
                messages.bad_number(param.name, raw, param.minimum, param.maximum, usage)
            )
        return number
    if param.type is ParamType.DURATION:
        seconds = parse_duration(raw) if len(raw) < 20 and raw.isascii() else None
        if seconds is None or not _in_range(seconds, param):
            raise ParseError(
                messages.bad_duration(param.name, raw, param.minimum, param.maximum, usage)
            )
        return seconds
    raise AssertionError(f"unhandled parameter type {param.type}")  # pragma: no cover


def _in_range(number: int, param: Param) -> bool:
    low = param.minimum if param.minimum is not None else number
    high = param.maximum if param.maximum is not None else number
    return low <= number <= high
