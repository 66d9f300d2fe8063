"""Large job results through the local Slack, which refuses what Slack refuses (the total size
of a message's blocks): a summary in the job message, the full table as a file in its thread.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ADMIN, start_toilbot, stop_toilbot, write_config
from tests.slack import SlackEmulator
from tests.slack.model import DEFAULT_CHANNEL_ID

CHANNEL = DEFAULT_CHANNEL_ID
HOSTS = ("web-01", "web-02", "db-01", "localhost")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """The test config, with a group `fleet` of the 4 hosts of the test inventory."""
    path = write_config(tmp_path)
    hosts = tmp_path / "hosts.yml"
    inventory = yaml.safe_load(hosts.read_text())
    inventory["all"]["children"]["fleet"] = {"children": {"web": {}, "db": {}, "local": {}}}
    hosts.write_text(yaml.safe_dump(inventory))
    return path


@pytest.fixture
def worker_with_slack(slack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = start_toilbot(slack_env, "worker")
    yield proc
    print(stop_toilbot(proc))


def test_a_fleet_with_long_reports_ends_with_a_summary_and_a_file(
    workspace, slack: SlackEmulator, worker_with_slack
):
    """4 hosts × 118 pending updates: nothing refused, outcome first, the table as a file."""
    assert "Job 1 queued" in workspace.ops("bigreport fleet", as_=ADMIN).text

    def uploaded():
        return slack.files or None

    [upload] = slack.wait_for(uploaded, 90)
    [message] = [m for m in slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]
    refused = [(c.method, c.response) for c in slack.calls if c.response.get("ok") is False]
    assert [] == refused
    first = message.blocks[0]["text"]["text"].split("\n")[0]
    assert first.startswith("*✅ Job 1 succeeded on 4 hosts in "), first
    assert message.text.startswith("✅ Job 1 succeeded on 4 hosts in "), message.text
    assert not any(b["type"] == "actions" for b in message.blocks)
    assert message.ts == upload.thread_ts
    content = upload.content.decode()
    assert all(host in content for host in HOSTS)
    assert content.count("libexample118-devel") == 4
    # A file is read as plain text: no mrkdwn, no Slack tokens, the team's time (UTC here).
    assert not any(token in content for token in ("`", "<!date", "<@", "\u2039@")), content[:500]
    assert "UTC" in content
    assert len(content) > 12_000  # it would not have fit in the message
