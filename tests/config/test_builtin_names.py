"""A command spec named after a builtin is refused by `toilbot check` and at start-up, naming
the spec's file and the builtin, and saying to rename the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import toilbot_cli

CAN = """\
name: can
summary: Can the cans
grammar: "can {targets}"
arguments:
  targets: {type: targets, help: hosts}
playbook: status.yml
permission: status
timeout: 5m
manual_minutes: 5
"""


@pytest.fixture
def can_spec(config_path: Path) -> Path:
    spec = config_path.parent / "commands" / "can.yaml"
    spec.write_text(CAN)
    return spec


def refusal(spec: Path) -> str:
    return (
        f"{spec}: name: 'can' is the name of the built-in command `can <@user> <command ...>`"
        "; a command spec cannot take it. Fix: rename the command"
    )


def test_check_refuses_a_spec_named_after_a_builtin(env, can_spec):
    """`toilbot check` fails on a spec named `can` and says which file and which builtin."""
    proc = toilbot_cli(env, "check")
    assert 1 == proc.returncode, proc.stdout
    assert f"FAIL command specs: {refusal(can_spec)}" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_start_up_refuses_a_spec_named_after_a_builtin(env, can_spec):
    """`toilbot exec` does not start: the same error, one line on stderr."""
    proc = toilbot_cli(env, "exec", "status localhost")
    assert 3 == proc.returncode, proc.stdout + proc.stderr
    assert f"toilbot cannot start: {refusal(can_spec)}" in proc.stderr
    assert "Traceback" not in proc.stderr
