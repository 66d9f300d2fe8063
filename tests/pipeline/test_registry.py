"""One registry for the builtins: the parser, `help`, `toilbot check` and the names a command
spec may not take all come from it."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from bot.pipeline.builtins import BUILTINS, RESERVED_NAMES, Registry
from bot.pipeline.builtins.registry import Builtin, builtin
from bot.pipeline.inventory import Inventory
from bot.pipeline.parse import BuiltinCall, parse
from bot.pipeline.specs import load_specs
from bot.platform.errors import ConfigError, ParseError

SPEC = """\
name: {name}
summary: Something of our own
grammar: "{name} {{targets}}"
arguments:
  targets: {{type: targets, help: hosts}}
playbook: play.yml
permission: status
timeout: 1m
manual_minutes: 5
"""
NO_HOSTS = Inventory(("hosts.yml",), frozenset(), {})


def answer(context: object, call: object) -> str:
    return "answered"


def spec_named(tmp_path: Path, name: str) -> Path:
    commands = tmp_path / "commands"
    commands.mkdir(exist_ok=True)
    (tmp_path / "play.yml").write_text("- hosts: all\n  tasks: []\n")
    (commands / f"{name}.yaml").write_text(SPEC.format(name=name))
    return commands


def test_reserved_names_are_the_registered_builtins():
    """The names a spec may not take are derived from the registry, `whoami` and `can` included."""
    expected = {
        "help", "jobs", "job", "cancel", "approvals", "approve", "deny",
        "schedule", "toil", "whoami", "can", "inventory",
    }  # fmt: skip
    assert expected == set(RESERVED_NAMES)
    assert RESERVED_NAMES == frozenset(BUILTINS)


def test_help_lists_the_builtins_in_their_registered_order():
    """`help` shows the builtins in the order of the module list in builtins/__init__.py."""
    expected = [
        "help", "jobs", "job", "cancel", "approvals", "approve", "deny",
        "schedule", "toil", "whoami", "can", "inventory",
    ]  # fmt: skip
    assert expected == list(BUILTINS)


def test_the_parser_reads_a_builtin_from_the_registry():
    """A registered name parses to a call of that very Builtin, with its arguments checked."""
    call = parse("job 7", {}, NO_HOSTS)
    assert isinstance(call, BuiltinCall)
    assert BUILTINS["job"] is call.builtin
    assert "7" == call.argument
    with pytest.raises(ParseError, match="job <id>"):
        parse("job", {}, NO_HOSTS)


def test_an_unknown_builtin_is_an_unknown_command():
    """A word that is neither a builtin nor a spec is refused, with the nearest builtin offered."""
    with pytest.raises(ParseError) as caught:
        parse("whoamii", {}, NO_HOSTS)
    assert "whoami" in str(caught.value)
    with pytest.raises(KeyError):
        BUILTINS["whoamii"]


def declared_in(module: str, name: str) -> Builtin:
    def handler(context: object, call: object) -> str:
        return name

    handler.__module__ = module
    return builtin(name=name, summary=name, usage=name, permission=None)(handler)  # type: ignore[arg-type]


def test_the_registry_collects_the_builtins_a_module_declares():
    """Registry.collect takes the Builtins written in each module, in the order written, and
    not those it merely imports."""
    module = types.ModuleType("tests.fake_builtins")
    module.second = declared_in(module.__name__, "second")
    module.first = declared_in(module.__name__, "first")
    module.imported = declared_in("tests.elsewhere", "imported")
    collected = Registry.collect(module)
    assert ["second", "first"] == list(collected)
    assert "first" == collected["first"](None, None)  # type: ignore[arg-type]


def test_two_builtins_with_one_name_are_refused():
    """A registry cannot hold two builtins of one name: nothing is shadowed silently."""
    one = builtin(name="twice", summary="a", usage="twice", permission=None)(answer)
    two = builtin(name="twice", summary="b", usage="twice", permission="jobs")(answer)
    with pytest.raises(ValueError, match="two builtins are named 'twice'"):
        Registry([one, two])


def test_a_builtin_name_must_be_a_command_name():
    """A builtin is named like a command spec: lower-case letters, digits and '-'."""
    with pytest.raises(ValueError, match="is not a command name"):
        builtin(name="Who Am I", summary="", usage="", permission=None)


def test_check_knows_every_permission_a_builtin_needs():
    """`toilbot check` reads the permissions builtins need or check themselves from the registry."""
    assert {"jobs", "cancel", "approve", "schedule", "inventory"} == set(BUILTINS.permissions())


@pytest.mark.parametrize("name", sorted(RESERVED_NAMES))
def test_a_spec_named_after_a_builtin_is_refused_at_load(tmp_path, name):
    """load_specs refuses a spec taking a builtin's name, naming the file and the builtin,
    and says to rename the command."""
    commands = spec_named(tmp_path, name)
    with pytest.raises(ConfigError) as caught:
        load_specs(commands, tmp_path)
    message = str(caught.value)
    assert str(commands / f"{name}.yaml") in message
    assert "name" == caught.value.key
    assert f"{name!r} is the name of the built-in command `{BUILTINS[name].usage}`" in message
    assert "Fix: rename the command" in message


def test_a_spec_with_its_own_name_loads_beside_the_builtins(tmp_path):
    """A name no builtin has is fine (`cans` is not `can`)."""
    assert ["cans"] == list(load_specs(spec_named(tmp_path, "cans"), tmp_path))
