"""A slow Slack cannot make a live job look dead (issue 14, item 1, reproduced exactly).

Lease 30 s; Slack answers the job's first post with 429 and `Retry-After: 25`; a second
change to the same host 12 s later. Before, the job thread slept inside chat.postMessage,
could not renew its lease, was reaped at 41 s and its host handed to the second change.
Now the lease is renewed by a thread of its own and Slack is called off the job's path:
the second change is refused, the first job runs to its end and says it succeeded.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.execution.records import JobStatus
from bot.platform.store import Keys
from tests.conftest import ADMIN, start_toilbot, stop_toilbot, wait_for, write_config
from tests.slack import SlackEmulator

LEASE = 30
RUNS_FOR = 45  # longer than the lease and than the 41 s at which the job used to be reaped


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path, jobs={"lease_seconds": LEASE, "forks": 5})


@pytest.fixture
def worker_with_slack(slack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = start_toilbot(slack_env, "worker")
    yield proc
    print(stop_toilbot(proc))


def test_a_rate_limited_first_post_does_not_hand_the_host_to_a_second_change(
    workspace, slack: SlackEmulator, worker_with_slack, r, markers
):
    slack.fail("chat.postMessage", status=429, retry_after=25)
    assert "Job 1 queued" in workspace.ops(f"slow web-01 --seconds {RUNS_FOR}", as_=ADMIN).text
    wait_for(lambda: (markers / "started").exists(), 60, "the first job's playbook to start")
    started = time.monotonic()  # the playbook runs although Slack has not answered yet
    time.sleep(12)
    second = workspace.ops("slow web-01 --seconds 1", as_=ADMIN).text
    assert "web-01 is locked by job 1" in second, second
    wait_for(lambda: (markers / "finished").exists(), RUNS_FOR + 60, "the first job to finish")
    assert time.monotonic() - started >= RUNS_FOR - 1
    wait_for(lambda: r.hget(Keys.job(1), "status") == b"succeeded", 30, "job 1's verdict")
    assert r.hget(Keys.job(1), "reason") in (None, b"")
    assert not r.exists(Keys.job(2))  # the second change never became a job
    # The job's message arrived once Slack let it, and ends with the outcome.
    wait_for(
        lambda: any("succeeded" in (m.text or "") for m in slack.messages()), 60, "the final edit"
    )
    posts = [
        c
        for c in slack.calls
        if c.method == "chat.postMessage" and c.response.get("ok") and "thread_ts" not in c.params
    ]
    assert 1 == len([c for c in posts if "Job 1" in str(c.params)])  # one job message, no copy
    assert JobStatus.SUCCEEDED.value == r.hget(Keys.job(1), "status").decode()
