"""One registration per builtin: ``@builtin(...)`` on its handler (errbot's ``@botcmd``).

The decorator turns a handler into a ``Builtin``: its name, usage, summary, the
permission it needs, how its words are read, and the handler. It registers nothing
by itself; ``bot/pipeline/builtins/__init__.py`` collects the builtins of an
explicit list of modules into the one ``Registry``, from which the parser, `help`,
`toilbot check` and the names a command spec may not take are all derived.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.pipeline.context import Context
    from bot.pipeline.parse import BuiltinCall
    from bot.pipeline.reply import Reply

#: A builtin's handler: what it answers (a Reply when the outcome is not a plain answer).
Handler = Callable[["Context", "BuiltinCall"], "str | Reply"]
NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")  # as a command spec's name (specs.COMMAND_NAME)


@dataclass(frozen=True)
class Builtin:
    """A command implemented in Python, and how the parser reads its words."""

    name: str
    summary: str
    usage: str
    permission: str | None  # None: anyone may run it (or its handler checks itself)
    handler: Handler = field(repr=False, compare=False)
    argument: str | None = None  # name of its one optional/required argument
    argument_required: bool = False
    free_words: bool = False  # takes any words; its handler reads them
    checks: tuple[str, ...] = ()  # permissions its handler checks itself
    details: tuple[str, ...] = ()  # more lines for `help <name>`
    where: bool = False  # its handler needs the channel the command came from

    def __call__(self, context: Context, call: BuiltinCall) -> str | Reply:
        return self.handler(context, call)


def builtin(
    *,
    name: str,
    summary: str,
    usage: str,
    permission: str | None,
    argument: str | None = None,
    argument_required: bool = False,
    free_words: bool = False,
    checks: tuple[str, ...] = (),
    details: tuple[str, ...] = (),
    where: bool = False,
) -> Callable[[Handler], Builtin]:
    """Declare ``handler`` as the builtin ``name``."""
    if not NAME.fullmatch(name):
        raise ValueError(f"builtin name {name!r} is not a command name ({NAME.pattern})")

    def declare(handler: Handler) -> Builtin:
        return Builtin(
            name,
            summary,
            usage,
            permission,
            handler,
            argument,
            argument_required,
            free_words,
            checks,
            details,
            where,
        )

    return declare


class Registry(Mapping[str, Builtin]):
    """The builtins by name, in the order `help` lists them."""

    def __init__(self, builtins: Iterable[Builtin]) -> None:
        self._by_name: dict[str, Builtin] = {}
        for found in builtins:
            if found.name in self._by_name:
                raise ValueError(f"two builtins are named {found.name!r}")
            self._by_name[found.name] = found

    @classmethod
    def collect(cls, *modules: ModuleType) -> Registry:
        """Every builtin each module declares, module by module, in the order written."""
        return cls(
            value
            for module in modules
            for value in vars(module).values()
            if isinstance(value, Builtin) and value.handler.__module__ == module.__name__
        )

    def __getitem__(self, name: str) -> Builtin:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    @property
    def names(self) -> frozenset[str]:
        """The names a command spec may not take."""
        return frozenset(self._by_name)

    def permissions(self) -> frozenset[str]:
        """Every permission a builtin needs or checks itself."""
        needed = {b.permission for b in self.values() if b.permission}
        return frozenset(needed | {p for b in self.values() for p in b.checks})
