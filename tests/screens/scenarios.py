"""Real scenarios through the local Slack, drawn as PNGs: `make screenshots` runs this module.

    .venv/bin/pytest -q tests/screens/scenarios.py    # PNGs into docs/screenshots/

Each test drives the real `toilbot serve` and `toilbot worker` (real Ansible, real Redis)
through the local Slack like the Slack tests do (tests/slack/chat.py), then draws what the bot
posted there (tests/screens/render.py) with headless chromium at phone width (390 px), some
at desktop width too. The PNGs go to $TOILBOT_SCREENSHOTS, by default docs/screenshots/
(the HTML pages to $TOILBOT_SCREENSHOTS_HTML when set).
The file name is not test_*.py, so the test suite does not run it; pytest runs it when named.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from bot.execution.records import JobStatus
from bot.frontends.slack.client import make_client
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.slack.weekly import post_weekly_summary
from bot.platform.store import Store
from bot.toil.ledger import Ledger
from bot.toil.model import Kind, Source
from bot.toil.weeks import week_bounds
from tests.conftest import ADMIN, OPERATOR, REPO, start_toilbot, stop_toilbot, write_config
from tests.pipeline.approval_setup import LEAD1, LEAD2, POLICY
from tests.screens.render import (
    DESKTOP,
    FOLD,
    PHONE,
    data_url,
    first_block_bottom,
    home_html,
    message_html,
    page,
    screenshot,
)
from tests.slack import SignedClient, SlackEmulator, app_home_opened_event, event_body
from tests.slack.chat import Posted, SlackChat
from tests.slack.model import BOT_USER_ID, DEFAULT_CHANNEL_ID, Message
from tests.slack.signing import DEFAULT_SIGNING_SECRET

CHANNEL = DEFAULT_CHANNEL_ID
OUT = Path(os.environ.get("TOILBOT_SCREENSHOTS") or REPO / "docs" / "screenshots")
PEOPLE = {ADMIN: "ana", OPERATOR: "bob", LEAD1: "carol", LEAD2: "dave", BOT_USER_ID: "toilbot"}
TEAM_TZ = "Europe/Oslo"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """The test setup with approvals, a fleet of 4 hosts and a group `edge` whose web-03 is
    unreachable (SSH to a closed port)."""
    path = write_config(
        tmp_path,
        policy=POLICY,
        approvals={},
        timezone=TEAM_TZ,
        toil={"summary": {"channel": "#ops", "names": False}},
    )
    hosts = tmp_path / "hosts.yml"
    inventory = yaml.safe_load(hosts.read_text())
    children = inventory["all"]["children"]
    children["fleet"] = {"children": {"web": {}, "db": {}, "local": {}}}
    unreachable = {"ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}
    children["edge"] = {"hosts": {"web-01": {}, "web-03": unreachable}}
    hosts.write_text(yaml.safe_dump(inventory))
    return path


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        for user, name in PEOPLE.items():
            if user != BOT_USER_ID:
                emulator.add_user(user, name, tz=TEAM_TZ)
        yield emulator


@pytest.fixture
def worker(slack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = start_toilbot(slack_env, "worker")
    yield proc
    print(stop_toilbot(proc))


def names(slack: SlackEmulator) -> dict[str, str]:
    return {**{u.id: u.name for u in slack.workspace.users.values()}, **PEOPLE}


def files_of(slack: SlackEmulator) -> tuple[dict[str, str], dict[str, str]]:
    """Uploaded files by url_private: images as data URLs, the rest as text."""
    images, texts = {}, {}
    for upload in slack.files:
        url = f"{slack.url}files/{upload.id}/{upload.filename}"
        content = upload.content or b""
        if content.startswith(b"\x89PNG"):
            images[url] = data_url(content)
        else:
            texts[url] = content.decode("utf-8", errors="replace")
    return images, texts


def draw(
    slack: SlackEmulator,
    name: str,
    title: str,
    messages: list[dict[str, Any]],
    *,
    thread_of: str | None = None,
    ephemeral: bool = False,
    desktop: bool = False,
    channel: str = "# ops",
    outcome_first: bool = False,
) -> list[Path]:
    """Draw ``messages`` (Web API form) as ``name``.png (and ``name``-desktop.png). With
    ``outcome_first``, the first block must end within what a phone shows unscrolled."""
    images, texts = files_of(slack)
    replies = (
        [m.to_api() for m in slack.thread(CHANNEL, thread_of)] if thread_of is not None else None
    )
    body = "".join(
        message_html(
            m,
            names(slack),
            files=images,
            snippets=texts,
            replies=replies if m.get("ts") == thread_of else None,
            ephemeral=ephemeral,
        )
        for m in messages
    )
    html = page(title, body, channel)
    if outcome_first:
        bottom = first_block_bottom(html)
        print(f"{name}: the first block ends {bottom:.0f} px down (a phone shows {FOLD})")
        assert bottom < FOLD, f"{name}: the outcome is {bottom:.0f} px down, below the fold"
    if os.environ.get("TOILBOT_SCREENSHOTS_HTML"):  # the pages too, to look at in a browser
        pages = Path(os.environ["TOILBOT_SCREENSHOTS_HTML"])
        pages.mkdir(parents=True, exist_ok=True)
        (pages / f"{name}.html").write_text(html, encoding="utf-8")
    shots = [screenshot(html, OUT / f"{name}.png", width=PHONE)]
    if desktop:
        shots.append(screenshot(html, OUT / f"{name}-desktop.png", width=DESKTOP))
    return shots


def final(posted: Posted, r: redis.Redis, number: int, timeout: float = 120) -> dict[str, Any]:
    """The job message once the job has ended and its last edit is in."""
    slack = posted.chat.slack

    def ended() -> bool:
        status = r.hget(f"toilbot:job:{number}", "status")
        return status is not None and JobStatus(status.decode()).terminal

    slack.wait_for(ended, timeout)
    slack.wait_for(lambda: not posted.labels(), 30)
    time.sleep(2.5)  # edits are coalesced to one a second: let the last one land
    return posted.message.to_api()


def running_version(slack: SlackEmulator, posted: Posted) -> dict[str, Any]:
    """A version of the job message from the middle of the run (it has its Cancel button)."""
    versions = [v for v in slack.updates(CHANNEL, posted.ts) if v.blocks]
    live = [v for v in versions if any(b["type"] == "actions" for b in v.blocks or [])]
    chosen = live or versions
    return chosen[len(chosen) // 2].to_api()


def job_message(workspace: SlackChat, text: str, as_: str, number: int) -> Posted:
    seen = workspace.ops(text, as_=as_)
    if "Confirm" in seen.labels():
        seen.click("Confirm", as_=as_)
    says = re.compile(rf"\bJob {number}\b")
    slack = workspace.slack

    def found() -> Message | None:
        top = [m for m in slack.messages(CHANNEL) if m.user == BOT_USER_ID and not m.is_reply]
        return next((m for m in top if says.search(m.text)), None)

    message = slack.wait_for(found, 60)
    return Posted(workspace, CHANNEL, message.ts)


def test_job_messages_and_app_home(
    workspace: SlackChat, slack: SlackEmulator, worker, server: str, r: redis.Redis
):
    """Running, succeeded, failed and large job messages; help; App Home afterwards."""
    slow = job_message(workspace, "slow fleet --seconds 8", ADMIN, 1)
    final(slow, r, 1)
    draw(slack, "job-running", "a job running", [running_version(slack, slow)], outcome_first=True)

    ok = job_message(workspace, "status web", OPERATOR, 2)
    draw(
        slack,
        "job-succeeded",
        "a job that succeeded",
        [final(ok, r, 2)],
        desktop=True,
        outcome_first=True,
    )

    failed = job_message(workspace, "status edge", OPERATOR, 3)
    draw(
        slack,
        "job-failed",
        "a job that failed on one host",
        [final(failed, r, 3)],
        outcome_first=True,
    )

    large = job_message(workspace, "bigreport fleet", ADMIN, 4)
    done = final(large, r, 4)
    slack.wait_for(lambda: slack.files or None, 60)
    slack.wait_for(lambda: slack.thread(CHANNEL, large.ts) or None, 30)
    title = "4 hosts × 118 updates"
    draw(slack, "job-large", title, [done], thread_of=large.ts, desktop=True, outcome_first=True)

    helped = workspace.ops("help", as_=OPERATOR)
    answer = {"user": BOT_USER_ID, "bot_id": "B", "text": helped.text, "blocks": helped.blocks}
    draw(slack, "help", "/ops help", [answer], ephemeral=True)

    workspace.toil("log 3h operating incident", as_=ADMIN)
    workspace.toil("start coding automation", as_=ADMIN)
    with SignedClient(server) as client:
        client.post(event_body(app_home_opened_event(ADMIN)))
    view = slack.wait_for(lambda: slack.home(ADMIN), 15)
    html = page("App Home", home_html(view, names(slack)), channel=None)
    screenshot(html, OUT / "app-home.png", width=PHONE)
    refused = [(c.method, c.response) for c in slack.calls if c.response.get("ok") is False]
    assert [] == refused


def test_approval(workspace: SlackChat, slack: SlackEmulator, worker):
    """An approval request as the approvers see it, then after one approved."""
    asked = workspace.ops("guarded web --level high", as_=OPERATOR)
    request = asked.message("*Approval request 1*")
    draw(slack, "approval", "an approval request", [request.message.to_api()])
    request.click("Approve", as_=LEAD1)
    request.wait_in_thread("Running as job 1")
    slack.wait_for(lambda: any("Job 1" in m.text for m in slack.messages(CHANNEL)), 30)
    draw(
        slack,
        "approval-approved",
        "an approval request, approved",
        [request.message.to_api()],
        thread_of=request.ts,
    )


def test_a_hostile_deny_reason(workspace: SlackChat, slack: SlackEmulator, worker):
    """A deny reason with a broadcast and a disguised link, as the thread shows it (issue 11:
    it must read as words: no highlighted @channel, no link)."""
    asked = workspace.ops("guarded web-01", as_=OPERATOR)
    request = asked.message("*Approval request 1*")
    reason = "<!channel> wake up <https://evil.example|click here> & <#C0OTHER>"
    workspace.ops(f"deny 1 {reason}", as_=LEAD1)
    request.wait_in_thread("Denied by")
    with contextlib.suppress(TimeoutError):  # drawn as it is if its buttons stay
        slack.wait_for(lambda: not request.labels(), 10)
    draw(
        slack,
        "approval-denied",
        "denied, with a hostile reason",
        [request.message.to_api()],
        thread_of=request.ts,
    )


# Hours (operating, coding) per person for the six weeks before the summary's week.
TEAM_WEEKS = {
    ADMIN: [(12, 24), (14, 20), (18, 18), (20, 16), (24, 12), (28, 10)],  # rising
    OPERATOR: [(10, 26), (9, 27), (12, 24), (8, 28), (10, 26), (11, 25)],
    LEAD1: [(6, 20), (5, 22), (7, 21), (6, 24), (8, 20), (6, 22)],
    LEAD2: [(14, 18), (16, 16), (12, 20), (15, 17), (13, 19), (16, 14)],
}


def fill(ledger: Ledger, last: dt.date) -> str:
    """Six weeks of logged time ending with the ISO week of ``last``; returns that week."""
    year, week, _ = last.isocalendar()
    for back in range(6):
        monday = week_bounds(year, week, TEAM_TZ)[0] - (5 - back) * 7 * 24 * 3600
        for user, weeks in TEAM_WEEKS.items():
            operating, coding = weeks[back]
            for kind, hours, first_day, category in (
                (Kind.OPERATING, operating, 0, "incident" if user == ADMIN else "patching"),
                (Kind.CODING, coding, 2, "automation"),
            ):
                day = first_day
                while hours > 0:
                    chunk = min(8, hours)
                    start = monday + day * 24 * 3600 + 7 * 3600
                    ledger.add(
                        user, kind, category, start, start + chunk * 3600, TEAM_TZ, Source.LOG
                    )
                    hours -= chunk
                    day += 1
    return f"{year}-W{week:02d}"


def test_weekly_summary(slack: SlackEmulator, settings, r):
    """The weekly summary in the channel (text and chart), and one person's DM."""
    client = make_client(
        SlackSettings(slack.bot_token, DEFAULT_SIGNING_SECRET, None, slack.base_url)
    )
    week = fill(Ledger(r), dt.date.today() - dt.timedelta(days=7))
    post_weekly_summary(settings, Store(r, "test Redis"), client, week)
    channel = [m.to_api() for m in slack.messages(CHANNEL)]
    draw(slack, "weekly-summary", f"weekly summary {week}", channel, desktop=True)
    dm = slack.dm_channel(ADMIN)
    if dm is not None:
        messages = [m.to_api() for m in slack.messages(dm)]
        draw(slack, "weekly-dm", "ana's weekly DM", messages, channel="@toilbot")
