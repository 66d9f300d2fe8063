"""`inventory` in Slack: the real `toilbot serve` against the local Slack; its Refresh button
reads the sources again (a signed block_actions click) and redraws the answer in place."""

from __future__ import annotations

from pathlib import Path

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
