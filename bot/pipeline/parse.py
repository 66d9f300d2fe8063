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
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.execution.records import JobOrder
from bot.pipeline import text as pipeline_text
from bot.pipeline.inventory import NAME_PATTERN, Inventory, is_pattern
from bot.pipeline.request import Channel
from bot.pipeline.specs import CommandSpec, Param, ParamType
from bot.platform import formatting
from bot.platform.errors import ParseError
from bot.platform.schema import parse_duration
from bot.platform.words import suggest

if TYPE_CHECKING:
    from bot.pipeline.builtins.registry import Builtin

MAX_TEXT = 500
MAX_WORD = 100
_PATTERN_TEXT = r"[A-Za-z0-9._*?\[\]!&~@,:-]+"  # names and Ansible pattern syntax only
Value = int | str | bool


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

    def order(self) -> JobOrder:
        """What the execution layer runs for this invocation."""
        return JobOrder(
            command=self.normalized(),
            spec=self.spec.name,
            playbook=self.spec.playbook,
            values=dict(self.values),
            hosts=self.hosts,
            check_mode=self.check_mode,
            timeout=self.spec.timeout,
            lock=self.changes_hosts,
            manual_minutes=self.spec.manual_minutes,
        )

    def _text(self, param: Param) -> str:
        value = self.values[param.name]
        if param.type is ParamType.DURATION and isinstance(value, int):
            return formatting.seconds_text(value)
        return str(value)


# Slack (and phones) turn typed quotes into typographic ones: read them as the quotes meant.
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def tokenize(text: str) -> list[str]:
    if len(text) > MAX_TEXT:
        raise ParseError(pipeline_text.too_long(len(text), MAX_TEXT))
    if any(ord(c) < 32 and c not in "\t\n" for c in text):
        raise ParseError(pipeline_text.control_characters())
    try:
        tokens = shlex.split(text.translate(_SMART_QUOTES))
    except ValueError as exc:
        raise ParseError(pipeline_text.unbalanced_quotes(str(exc))) from None
    if tokens and tokens[0].lower() in ("/ops", "ops"):
        tokens = tokens[1:]
    return tokens


def parse(
    text: str,
    specs: Mapping[str, CommandSpec],
    inventory: Inventory,
    patterns: Collection[str] = (),
) -> Invocation | BuiltinCall:
    """``patterns``: Ansible-style target patterns the policy allows (policy.patterns)."""
    builtins = registered_builtins()
    tokens = tokenize(text)
    if not tokens:
        return BuiltinCall(builtins["help"], None)
    _plain("command", tokens[0])
    name = tokens[0].lower()
    if name in builtins:
        builtin = builtins[name]
        if not builtin.free_words:
            for token in tokens[1:]:
                _plain(builtin.argument or "argument", token)
        return _parse_builtin(builtin, tokens[1:])
    if name not in specs:
        known = sorted(set(specs) | set(builtins))
        raise ParseError(pipeline_text.unknown_command(tokens[0], suggest(tokens[0], known)))
    spec = specs[name]
    args = [_flag_spelling(token, spec, patterns) for token in tokens[1:]]
    for token in args:
        _plain("argument", token, spec.usage())
    return _parse_spec(spec, args, inventory, frozenset(patterns))


def registered_builtins() -> Mapping[str, Builtin]:
    """The builtins' registry (``bot.pipeline.builtins``), read when a command is parsed: the
    builtins parse commands themselves, so importing them with this module would be a cycle."""
    from bot.pipeline.builtins import BUILTINS

    return BUILTINS


# Phones turn a typed ``--`` into a dash (iOS: em dash; some keyboards: en dash, hyphen or
# minus sign); in front of a known flag name it can only have meant ``--``.
_SMART_DASHES = "\u2014\u2013\u2010\u2212"
_DASHED = re.compile(rf"([-{_SMART_DASHES}]{{1,2}})([A-Za-z][A-Za-z0-9_-]*)(=.*)?", re.DOTALL)


def _flag_spelling(token: str, spec: CommandSpec, patterns: Collection[str]) -> str:
    """``token`` with a phone's dash (``—check``) or a single hyphen (``-check``) in front of
    a known flag name read as ``--``; any other word is returned as it is. A smart dash before
    an unknown name is refused with the flags it may have meant. A single-hyphen word that a
    parameter accepts as a value (a choice or an allowed pattern) is left alone; numbers such
    as ``-1`` never match, since flag names start with a letter."""
    match = _DASHED.fullmatch(token)
    if match is None or match[1] == "--":
        return token
    dashes, option, rest = match[1], match[2], match[3] or ""
    flags = [f.name.replace("_", "-") for f in spec.flags]
    smart = any(c in _SMART_DASHES for c in dashes)
    if option.lower() in flags:
        if not smart and _is_value(token, spec, patterns):
            return token
        return f"--{option}{rest}"
    if smart:
        raise ParseError(pipeline_text.unknown_flag(token, suggest(option, flags), spec.usage()))
    return token


def builtin_flag(token: str, flags: Collection[str]) -> str:
    """A builtin's own flag as a phone types it: ``—weeks`` or ``-weeks`` read as ``--weeks``
    when ``weeks`` is one of ``flags``; any other word is returned as it is, for the builtin
    to judge."""
    match = _DASHED.fullmatch(token)
    if match is None or match[1] == "--" or match[2].lower() not in flags:
        return token
    return f"--{match[2].lower()}{match[3] or ''}"


def _is_value(word: str, spec: CommandSpec, patterns: Collection[str]) -> bool:
    return word in patterns or any(word in p.choices for p in spec.params.values())


def _plain(what: str, word: str, usage: str = "") -> None:
    """Refuse a word that is too long or not plain ASCII, naming the odd character."""
    if len(word) > MAX_WORD:
        raise ParseError(pipeline_text.word_too_long(what, len(word), MAX_WORD, usage))
    odd = next((c for c in word if not c.isascii() or not c.isprintable()), None)
    if odd is not None:
        raise ParseError(pipeline_text.not_plain(what, word, odd, usage))


def _parse_builtin(builtin: Builtin, args: list[str]) -> BuiltinCall:
    if builtin.free_words:
        return BuiltinCall(builtin, args[0] if args else None, tuple(args))
    if len(args) > (1 if builtin.argument else 0):
        raise ParseError(pipeline_text.unexpected_word(args[-1], builtin.usage))
    if builtin.argument_required and not args:
        raise ParseError(pipeline_text.missing_argument(builtin.argument or "", builtin.usage))
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
            raise ParseError(pipeline_text.unknown_flag(token, suggest(option, list(flags)), usage))
        if flag.name in values:
            raise ParseError(pipeline_text.repeated_flag(option, usage))
        if flag.type is ParamType.BOOL:
            if inline:
                raise ParseError(pipeline_text.flag_takes_no_value(option, usage))
            values[flag.name] = True
            continue
        if inline:
            raw = inline
        elif i < len(args):
            raw = args[i]
            i += 1
        else:
            raise ParseError(pipeline_text.flag_needs_value(option, flag.placeholder(), usage))
        values[flag.name] = _value(flag, raw, usage)

    grammar = spec.grammar[1:]
    hosts: tuple[str, ...] = ()
    for index, expected in enumerate(grammar):
        if index >= len(positional):
            missing = [t for t in grammar[index:] if t.startswith("{")]
            what = missing[0][1:-1] if missing else expected
            raise ParseError(pipeline_text.missing_argument(what, usage))
        word = positional[index]
        if expected.startswith("{"):
            param = spec.params[expected[1:-1]]
            if param.type is ParamType.TARGETS:
                hosts = _targets(word, inventory, patterns, usage)
                values[param.name] = word
            else:
                values[param.name] = _value(param, word, usage)
        elif word.lower() != expected:
            raise ParseError(pipeline_text.expected_word(expected, word, usage))
    if len(positional) > len(grammar):
        raise ParseError(pipeline_text.unexpected_word(positional[len(grammar)], usage))
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
            raise ParseError(pipeline_text.pattern_matches_nothing(raw, usage))
        return matched
    if is_pattern(raw) and re.fullmatch(_PATTERN_TEXT, raw):
        raise ParseError(pipeline_text.target_pattern(raw, usage))
    if not re.fullmatch(NAME_PATTERN, raw):
        raise ParseError(pipeline_text.bad_target_name(raw, usage))
    hosts = inventory.resolve(raw)
    if hosts is None:
        raise ParseError(pipeline_text.unknown_target(raw, suggest(raw, inventory.names()), usage))
    if not hosts:
        raise ParseError(pipeline_text.pattern_matches_nothing(raw, usage))
    return hosts


def _value(param: Param, raw: str, usage: str) -> Value:
    if param.type is ParamType.CHOICE:
        if raw not in param.choices:
            raise ParseError(
                pipeline_text.bad_choice(
                    param.name, raw, param.choices, suggest(raw, list(param.choices)), usage
                )
            )
        return raw
    if param.type is ParamType.INT:
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
        if number is None or not _in_range(number, param):
            raise ParseError(
                pipeline_text.bad_number(param.name, raw, param.minimum, param.maximum, usage)
            )
        return number
    if param.type is ParamType.DURATION:
        seconds = parse_duration(raw) if len(raw) < 20 and raw.isascii() else None
        if seconds is None or not _in_range(seconds, param):
            raise ParseError(
                pipeline_text.bad_duration(param.name, raw, param.minimum, param.maximum, usage)
            )
        return seconds
    raise AssertionError(f"unhandled parameter type {param.type}")  # pragma: no cover


def _in_range(number: int, param: Param) -> bool:
    low = param.minimum if param.minimum is not None else number
    high = param.maximum if param.maximum is not None else number
    return low <= number <= high
