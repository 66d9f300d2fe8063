"""`inventory` in Slack: the real `toilbot serve` against the local Slack; its Refresh button
reads the sources again (a signed block_actions click) and redraws the answer in place."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ADMIN, VIEWER
from tests.slack.chat import SlackChat


def test_the_refresh_button_reads_the_sources_again(workspace: SlackChat, config_path: Path):
    """`/ops inventory` lists groups with host counts and a Refresh button; a host added to the
    file appears once Refresh is clicked (well inside the cache's 300 s), in the same answer."""
    seen = workspace.ops("inventory", as_=ADMIN)
    assert "Inventory from " in seen.text and ": 4 hosts" in seen.text
    assert "web: 2 hosts" in seen.text
    assert ["Refresh"] == seen.labels()
    hosts = config_path.parent / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("web-02:", "web-03: {}\n        web-02:", 1))
    assert "web: 2 hosts" in workspace.ops("inventory", as_=ADMIN).text  # cached
    clicked = seen.click("Refresh", as_=ADMIN)
    assert clicked.text.startswith("Inventory refreshed: 5 hosts"), clicked.text
    assert "web: 3 hosts" in clicked.text
    assert ["Refresh"] == clicked.labels()  # the redrawn answer can be refreshed again


def test_a_refresh_click_is_authorized_like_the_typed_command(
    workspace: SlackChat, config_path: Path
):
    """The button runs `inventory refresh` for whoever clicks: without the `inventory`
    permission the click is refused, as typing it would be."""
    seen = workspace.ops("inventory", as_=ADMIN)
    clicked = seen.click("Refresh", as_=VIEWER)
    assert "inventory" in clicked.text and "Inventory refreshed" not in clicked.text
    assert "permission" in clicked.text or "not allowed" in clicked.text, clicked.text


@pytest.fixture
def slow_cloud(config_path: Path) -> Path:
    """The test setup with a second source, a script that takes 4 s once ``slow-now`` exists
    (set up before `toilbot serve` starts); returns that flag's path."""
    flag = config_path.parent / "slow-now"
    slow = config_path.parent / "cloud.sh"
    slow.write_text(
        f"#!/bin/sh\n[ -e {flag} ] && sleep 4\n"
        """echo '{"cloud": {"hosts": ["vm-a"]}, "_meta": {"hostvars": {}}}'\n"""
    )
    slow.chmod(0o755)
    config = yaml.safe_load(config_path.read_text())
    config["inventory"] = ["hosts.yml", "cloud.sh"]
    config_path.write_text(yaml.safe_dump(config))
    return flag


def test_a_slow_refresh_answers_slack_in_time_and_finishes_behind(
    slow_cloud: Path, workspace: SlackChat, config_path: Path
):
    """`/ops inventory refresh` with a source that takes 4 s: Slack gets its answer within
    its 3 s (the read goes on), and `inventory` shows the new inventory once it is read."""
    assert "cloud: 1 host" in workspace.ops("inventory", as_=ADMIN).text
    slow_cloud.touch()
    hosts = config_path.parent / "hosts.yml"
    hosts.write_text(hosts.read_text().replace("web-02:", "web-03: {}\n        web-02:", 1))
    started = time.monotonic()
    seen = workspace.ops("inventory refresh", as_=ADMIN)
    assert time.monotonic() - started < 3
    assert seen.text.startswith("Reading the inventory sources again (at most 60s)"), seen.text
    for _ in range(20):  # one look a second: the policy allows 30 commands a minute
        time.sleep(1)
        shown = workspace.ops("inventory", as_=ADMIN).text
        if "web: 3 hosts" in shown:
            break
    assert "web: 3 hosts" in shown and "cloud: 1 host" in shown, shown
