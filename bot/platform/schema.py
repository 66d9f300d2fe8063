"""Validated reading of YAML documents: every error names the file, the key and the fix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from bot.platform.errors import ConfigError
from bot.platform.files import read_text

_MISSING: Any = object()
_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
# libyaml's parser where PyYAML was built with it: about 10x faster than the pure-Python one,
# ~50 ms of every start-up. Same documents and the same error positions; a broken file is
# read again by the pure-Python parser so the error names the problem in the same words.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Node:
    """Read one YAML file; a missing or unparsable file is a ConfigError."""
    text = read_text(path)
    try:
        data = yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - CSafeLoader or SafeLoader
    except yaml.YAMLError:
        data = _MISSING
    try:
        if data is _MISSING:
            data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            str(path), "", f"is not valid YAML at {where} ({problem})", "correct the YAML syntax"
        ) from None
    return Node(str(path), "", {} if data is None else data)


def parse_duration(text: str) -> int | None:
    """'2h', '90m', '1h30m', '45s' or a number of seconds -> seconds; None if malformed."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class Node:
    """A value inside a YAML document, with the path that leads to it."""

    def __init__(self, path: str, key: str, value: Any) -> None:
        self.path = path
        self.key = key
        self.value = value

    def error(self, problem: str, fix: str) -> ConfigError:
        return ConfigError(self.path, self.key, problem, fix)

    def _child_key(self, name: str | int) -> str:
        if isinstance(name, int):
            return f"{self.key}[{name}]"
        return f"{self.key}.{name}" if self.key else name

    def mapping(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.error(
                f"must be a mapping, got {_kind(self.value)}", "write key: value pairs"
            )
        for k in self.value:
            if not isinstance(k, str):
                raise self.error(f"has a non-text key {k!r}", "quote the key")
        return self.value

    def check_keys(self, allowed: set[str]) -> None:
        for k in self.mapping():
            if k not in allowed:
                hint = ", ".join(sorted(allowed))
                raise Node(self.path, self._child_key(k), None).error(
                    "is not a known key", f"use one of: {hint}"
                )

    def child(self, name: str, default: Any = _MISSING) -> Node:
        data = self.mapping()
        if name not in data:
            if default is _MISSING:
                raise Node(self.path, self._child_key(name), None).error(
                    "is required", "add this key"
                )
            return Node(self.path, self._child_key(name), default)
        return Node(self.path, self._child_key(name), data[name])

    def items(self) -> Iterator[tuple[str, Node]]:
        for k, v in self.mapping().items():
            yield k, Node(self.path, self._child_key(k), v)

    def elements(self) -> Iterator[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"must be a list, got {_kind(self.value)}", "write a YAML list")
        for i, v in enumerate(self.value):
            yield Node(self.path, self._child_key(i), v)

    def text(self, pattern: str | None = None, hint: str = "") -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.error(
                f"must be non-empty text, got {_kind(self.value)}", hint or "set a text value"
            )
        if pattern and not re.fullmatch(pattern, self.value):
            raise self.error(f"{self.value!r} is not allowed here", hint or f"match {pattern}")
        return self.value

    def text_list(self, pattern: str | None = None, hint: str = "") -> list[str]:
        return [e.text(pattern, hint) for e in self.elements()]

    def number(self, low: int | None = None, high: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"must be a whole number, got {_kind(self.value)}", "write a number")
        if low is not None and self.value < low:
            raise self.error(f"is {self.value}, below the minimum {low}", f"use {low} or more")
        if high is not None and self.value > high:
            raise self.error(f"is {self.value}, above the maximum {high}", f"use {high} or less")
        return self.value

    def flag(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(
                f"must be true or false, got {_kind(self.value)}", "write true or false"
            )
        return self.value

    def choice(self, options: tuple[str, ...]) -> str:
        value = self.text()
        if value not in options:
            raise self.error(f"{value!r} is not allowed", f"use one of: {', '.join(options)}")
        return value

    def duration(self) -> int:
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            seconds: int | None = self.value
        elif isinstance(self.value, str):
            seconds = parse_duration(self.value)
        else:
            seconds = None
        if seconds is None or seconds <= 0:
            raise self.error(
                f"must be a positive duration, got {self.value!r}",
                "write e.g. 90s, 30m, 2h or 1h30m",
            )
        return seconds


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )
