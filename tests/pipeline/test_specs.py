"""Command specs: a malformed spec is a clear error naming the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.pipeline.specs import Confirm, ParamType, load_specs
from bot.platform.errors import ConfigError

GOOD = """\
name: restart
summary: Restart a service
grammar: "restart {service} on {targets}"
arguments:
  service: {type: choice, choices: [nginx], help: the service}
  targets: {type: targets, help: hosts}
flags:
  serial: {type: int, min: 1, max: 10, help: batch size}
  check: {type: bool, check_mode: true, help: dry run}
playbook: play.yml
permission: restart
confirm: confirm
timeout: 10m
manual_minutes: 15
"""


def write(tmp_path: Path, text: str) -> Path:
    commands = tmp_path / "commands"
    commands.mkdir(exist_ok=True)
    (tmp_path / "play.yml").write_text("- hosts: all\n  tasks: []\n")
    (commands / "restart.yaml").write_text(text)
    return commands


def test_a_good_spec_loads(tmp_path):
    """Every field of a valid spec is typed."""
    spec = load_specs(write(tmp_path, GOOD), tmp_path)["restart"]
    assert ("restart", 600, 15, Confirm.CONFIRM) == (
        spec.name,
        spec.timeout,
        spec.manual_minutes,
        spec.confirm,
    )
    assert [ParamType.CHOICE, ParamType.TARGETS, ParamType.INT, ParamType.BOOL] == [
        p.type for p in spec.params.values()
    ]


@pytest.mark.parametrize(
    ("change", "key", "fragment"),
    [
        (("name: restart", "name: Restart!"), "name", "is not allowed here"),
        (("name: restart", "name: help"), "name", "built-in command"),
        (("summary: Restart a service\n", ""), "summary", "is required"),
        (
            (
                'grammar: "restart {service} on {targets}"',
                'grammar: "bounce {service} on {targets}"',
            ),
            "grammar",
            "must start with the command name",
        ),
        (
            ('grammar: "restart {service} on {targets}"', 'grammar: "restart {service}"'),
            "grammar",
            "do not match the arguments",
        ),
        (
            ('grammar: "restart {service} on {targets}"', 'grammar: "restart {service} on {host}"'),
            "grammar",
            "do not match the arguments",
        ),
        (
            ("type: choice, choices: [nginx]", "type: choice"),
            "arguments.service.choices",
            "is required",
        ),
        (
            ("type: choice, choices: [nginx]", "type: choice, choices: ['{{x}}']"),
            "arguments.service.choices[0]",
            "is not allowed here",
        ),
        (
            ("type: choice, choices: [nginx]", "type: colour"),
            "arguments.service.type",
            "'colour' is not allowed",
        ),
        (("min: 1, max: 10", "min: 10, max: 1"), "flags.serial.max", "is below min"),
        (("min: 1, max: 10", "min: one, max: 10"), "flags.serial.min", "must be a whole number"),
        (("playbook: play.yml", "playbook: missing.yml"), "playbook", "does not exist"),
        (("playbook: play.yml", "playbook: ../../etc/passwd"), "playbook", "is not allowed here"),
        (("timeout: 10m", "timeout: soon"), "timeout", "must be a positive duration"),
        (("manual_minutes: 15", "manual_minutes: -5"), "manual_minutes", "below the minimum 0"),
        (("confirm: confirm", "confirm: maybe"), "confirm", "'maybe' is not allowed"),
        (("permission: restart", "permission: restart\nowner: me"), "owner", "is not a known key"),
        (
            ("{type: bool, check_mode: true", "{type: int, min: 1, max: 2, check_mode: true"),
            "flags.check.check_mode",
            "only a bool flag",
        ),
    ],
)
def test_malformed_specs_name_the_file_key_and_fix(tmp_path, change, key, fragment):
    """Each mistake in a spec is reported with its file, its key and how to fix it."""
    old, new = change
    assert old in GOOD
    commands = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_specs(commands, tmp_path)
    message = str(caught.value)
    assert str(commands / "restart.yaml") in message
    assert key == caught.value.key
    assert fragment in message
    assert "Fix: " in message


def test_unparsable_yaml_names_the_line(tmp_path):
    """Broken YAML syntax points at the line."""
    commands = write(tmp_path, GOOD.replace("timeout: 10m", "timeout: [10m"))
    with pytest.raises(ConfigError, match=r"restart.yaml: is not valid YAML at line \d+"):
        load_specs(commands, tmp_path)


def test_duplicate_names_are_refused(tmp_path):
    """Two specs may not define the same command."""
    commands = write(tmp_path, GOOD)
    (commands / "again.yaml").write_text(GOOD)
    with pytest.raises(ConfigError, match="already defined in"):
        load_specs(commands, tmp_path)


def test_an_empty_commands_folder_is_an_error(tmp_path):
    """A folder without specs is almost certainly the wrong folder."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no command specs"):
        load_specs(tmp_path / "empty", tmp_path)


def test_the_shipped_specs_load():
    """The specs in commands/ are valid against the shipped playbooks."""
    repo = Path(__file__).resolve().parents[2]
    specs = load_specs(repo / "commands", repo / "playbooks")
    assert {"status", "patch", "restart"} <= set(specs)
    for spec in specs.values():
        assert spec.manual_minutes > 0
