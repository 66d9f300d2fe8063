"""Approvals without Redis: the command hash, the settings, the spec's quorum, the Slack view."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.config.settings import load_settings
from bot.frontends.slack.blocks import approval_blocks
from bot.pipeline.approvals import ApprovalRequest, ApprovalState, command_hash
from bot.pipeline.inventory import Inventory, load_inventory
from bot.pipeline.parse import Invocation, parse
from bot.pipeline.specs import CommandSpec, load_specs
from bot.platform.errors import ConfigError
from tests.conftest import write_config


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, CommandSpec], Inventory]:
    directory = tmp_path_factory.mktemp("world")
    write_config(directory)
    specs = load_specs(directory / "commands", directory / "playbooks")
    return specs, load_inventory(directory / "hosts.yml")


def digest(world: tuple[dict[str, CommandSpec], Inventory], text: str) -> str:
    parsed = parse(text, *world)
    assert isinstance(parsed, Invocation)
    return command_hash(parsed)


def test_the_same_command_written_differently_has_one_hash(world):
    """Case, flag order, the default value and `/ops` change nothing in the hash."""
    same = {
        digest(world, text)
        for text in (
            "guarded web --level high",
            "/ops GUARDED web --level=high",
            "guarded --level high web",
        )
    }
    assert 1 == len(same)
    assert digest(world, "guarded web-01") == digest(world, "guarded web-01 --level low")


@pytest.mark.parametrize(
    "other",
    ["guarded web-02", "guarded web", "guarded web-01 --level high", "guarded-pair web-01"],
)
def test_other_hosts_flags_or_commands_have_another_hash(world, other):
    """Another host, group, flag value or spec is another command to approve."""
    assert digest(world, "guarded web-01") != digest(world, other)


def test_the_hash_is_sha256_hex(world):
    """The digest is a SHA-256 hex string."""
    value = digest(world, "guarded web-01")
    assert 64 == len(value) and set(value) <= set("0123456789abcdef")


def test_approval_settings_default_and_load(tmp_path):
    """Default 15 minutes and one approver; both can be set in toilbot.yaml."""
    plain = load_settings({"TOILBOT_CONFIG": str(write_config(tmp_path / "a"))})
    assert (900, 1) == (plain.approvals.expiry, plain.approvals.quorum)
    path = write_config(tmp_path / "b", approvals={"expiry": "1h", "quorum": 2})
    custom = load_settings({"TOILBOT_CONFIG": str(path)})
    assert (3600, 2) == (custom.approvals.expiry, custom.approvals.quorum)


@pytest.mark.parametrize(
    ("approvals", "key", "fragment"),
    [
        ({"expiry": "soon"}, "approvals.expiry", "must be a positive duration"),
        ({"expiry": "200h"}, "approvals.expiry", "longer than 7 days"),
        ({"quorum": 0}, "approvals.quorum", "below the minimum 1"),
        ({"approvers": 2}, "approvals.approvers", "is not a known key"),
    ],
)
def test_malformed_approval_settings(tmp_path, approvals, key, fragment):
    """A mistake under `approvals` names the key and the fix."""
    path = write_config(tmp_path, approvals=approvals)
    with pytest.raises(ConfigError) as caught:
        load_settings({"TOILBOT_CONFIG": str(path)})
    assert key == caught.value.key
    assert fragment in str(caught.value) and "Fix: " in str(caught.value)


SPEC = """\
name: gate
summary: A gated change
grammar: "gate {targets}"
arguments:
  targets: {type: targets, help: hosts}
playbook: play.yml
permission: gate
confirm: approve
quorum: 2
timeout: 10m
manual_minutes: 5
"""


def load_gate(tmp_path: Path, text: str) -> CommandSpec:
    commands = tmp_path / "commands"
    commands.mkdir(exist_ok=True)
    (tmp_path / "play.yml").write_text("- hosts: all\n  tasks: []\n")
    (commands / "gate.yaml").write_text(text)
    return load_specs(commands, tmp_path)["gate"]


def test_a_spec_sets_its_quorum(tmp_path):
    """`quorum` in a spec with `confirm: approve` is read."""
    assert 2 == load_gate(tmp_path, SPEC).quorum


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (("confirm: approve", "confirm: confirm"), "only for commands with confirm: approve"),
        (("quorum: 2", "quorum: 11"), "above the maximum 10"),
    ],
)
def test_a_bad_spec_quorum_is_refused(tmp_path, change, fragment):
    """A quorum on a command that needs no approval, or out of range, is a clear error."""
    with pytest.raises(ConfigError) as caught:
        load_gate(tmp_path, SPEC.replace(*change))
    assert "quorum" == caught.value.key
    assert fragment in str(caught.value)


def request(state: ApprovalState) -> ApprovalRequest:
    now = time.time()
    return ApprovalRequest(
        id=4,
        state=state,
        spec="guarded",
        command="guarded web",
        hosts=["web-01", "web-02"],
        values={"targets": "web", "level": "low"},
        digest="ab" * 32,
        requester="U0OPER",
        source="slack",
        quorum=2,
        created_at=now,
        expires_at=now + 900,
        approvers=["U0LEAD1"],
        decided_by="U0LEAD2" if state is ApprovalState.DENIED else None,
    )


def test_an_open_request_has_approve_and_deny_buttons():
    """The request message names requester, command, hosts, progress, and has both buttons."""
    blocks = approval_blocks(request(ApprovalState.PENDING))
    text = blocks[0]["text"]["text"]
    assert "<@U0OPER> asks to run `guarded web` on 2 hosts: web-01, web-02." in text
    assert "Approved by <@U0LEAD1> (1 of 2)." in text and "`abababababab`" in text
    assert ["toilbot_approve", "toilbot_deny"] == [e["action_id"] for e in blocks[-1]["elements"]]
    assert {"4"} == {e["value"] for e in blocks[-1]["elements"]}


def test_a_closed_request_has_no_buttons():
    """Denied, the message says so and offers nothing to click."""
    blocks = approval_blocks(request(ApprovalState.DENIED))
    assert not any(b["type"] == "actions" for b in blocks)
    assert "*Denied* by <@U0LEAD2>. Nothing was run." in blocks[0]["text"]["text"]
