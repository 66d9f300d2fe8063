"""The exception tree: every error toilbot raises is a ToilbotError, as errors.py draws it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import bot
from bot.platform import errors
from bot.platform.errors import ToilbotError

# Modules not imported by the walk: importing bot.__main__ runs the CLI (it parses sys.argv).
NOT_IMPORTED = {"bot.__main__"}

# Exceptions that are not a person's mistake, so need not derive from ToilbotError.
# An entry here names the class ("module.Name") and says why.
NOT_A_PERSONS_MISTAKE: dict[str, str] = {
    "bot.platform.redis_url.TLSHandshakeError": (
        "a redis.ConnectionError raised inside redis-py's connect, so its retries and pools "
        "treat it as one; store.connect turns it into a StoreError with the fix"
    ),
}

_TREE_LINE = re.compile(r"^(?P<lead>[ │├└─]*)(?P<name>[A-Z]\w+)\s.*?(?:\[(?P<module>[\w.]+)\])?$")


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of the bot package, by "module.Name"."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(bot.__path__, "bot."):
        if info.name in NOT_IMPORTED:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def drawn_tree() -> dict[str, tuple[str | None, str]]:
    """The tree in errors.py's docstring: class name -> (drawn parent, module it names)."""
    drawn: dict[str, tuple[str | None, str]] = {}
    lines = [line for line in (errors.__doc__ or "").splitlines() if line.startswith("    ")]
    indent = len(lines[0]) - len(lines[0].lstrip())
    parents: list[str] = []
    for line in lines:
        match = _TREE_LINE.match(line[indent:])
        assert match is not None, f"not a line of the tree: {line!r}"
        depth = len(match["lead"]) // 4
        parents[depth:] = [match["name"]]
        module = f"bot.{match['module']}" if match["module"] else errors.__name__
        drawn[match["name"]] = (parents[depth - 1] if depth else None, module)
    return drawn


def test_every_exception_in_bot_derives_from_toilbot_error():
    """Every exception class defined anywhere in bot/ is a ToilbotError (or allow-listed, why)."""
    strays = [
        name
        for name, cls in exception_classes().items()
        if not issubclass(cls, ToilbotError) and name not in NOT_A_PERSONS_MISTAKE
    ]
    assert [] == strays


def test_the_drawn_tree_is_complete_and_true():
    """errors.py draws each exception class once, under its real base, naming its module."""
    found = exception_classes()
    names = [cls.__name__ for cls in found.values()]
    assert sorted(set(names)) == sorted(names), "two exception classes share a name"
    actual = {
        cls.__name__: (
            None if cls is ToilbotError else cls.__bases__[0].__name__,
            cls.__module__,
        )
        for key, cls in found.items()
        if key not in NOT_A_PERSONS_MISTAKE
    }
    assert actual == drawn_tree()


def test_the_domain_errors_join_the_tree():
    """The ledger, import and schedule errors are caught by an `except ToilbotError`."""
    from bot.schedule.registry import ScheduleError
    from bot.toil.ledger import LedgerError
    from bot.toil.transfer import ImportRefused

    assert issubclass(LedgerError, errors.CommandError)
    assert issubclass(ScheduleError, errors.CommandError)
    assert issubclass(ImportRefused, ToilbotError)
    assert ["line 3: no"] == ImportRefused(["line 3: no"]).problems
