"""The Slack front end end to end: the real `toilbot serve` (gunicorn + Bolt), `toilbot worker`
and `toilbot socket`, against the local Slack in tests/slack, with requests signed as Slack does.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from collections.abc import Iterator

import pytest

from bot.platform.store import Keys
from tests.conftest import ADMIN, OPERATOR, start_toilbot, stop_toilbot, toilbot_cli, wait_for
from tests.slack import (
    SignedClient,
    SlackEmulator,
    app_home_opened_event,
    event_body,
    slash_command_body,
)
from tests.slack.model import DEFAULT_CHANNEL_ID

CHANNEL = DEFAULT_CHANNEL_ID


@pytest.fixture
def worker_with_slack(slack_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = start_toilbot(slack_env, "worker")
    yield proc
    print(stop_toilbot(proc))


def socket_ops(slack: SlackEmulator, text: str) -> str:
    """Push `/ops <text>` from the admin over Socket Mode; returns what the ack said."""
    slack.wait_for_socket(30)
    envelope = slack.socket_send(
        "slash_commands",
        {
            "command": "/ops",
            "text": text,
            "user_id": ADMIN,
            "channel_id": CHANNEL,
            "team_id": "T0TOIL",
            "response_url": slack.new_response_url(),
            "trigger_id": "1.2",
        },
    )
    ack = slack.wait_for_ack(envelope, 15)
    assert ack.payload is not None
    return str(ack.payload["text"])


def test_slash_command_runs_a_job_and_edits_one_message(workspace, slack, worker_with_slack):
    """/ops status answers within Slack's limit; the worker posts one message and edits it."""
    started = time.monotonic()
    seen = workspace.ops("status localhost", as_=ADMIN)
    assert time.monotonic() - started < 3
    assert "Job 1 queued: `status localhost` on 1 host." == seen.text

    def final():
        found = [m for m in slack.messages(CHANNEL) if m.text.startswith("✅ Job 1 succeeded")]
        return found[0] if found else None

    message = slack.wait_for(final, 60)
    shown = json.dumps(message.blocks, ensure_ascii=False)
    assert "localhost" in shown and "pending updates" in shown
    versions = slack.updates(CHANNEL, message.ts)
    assert [message.ts] == [m.ts for m in slack.messages(CHANNEL) if m.thread_ts in (None, m.ts)]
    assert versions[0].blocks and any(
        e.get("action_id") == "toilbot_cancel_job"
        for b in versions[0].blocks
        if b["type"] == "actions"
        for e in b["elements"]
    )
    assert not any(b["type"] == "actions" for b in versions[-1].blocks or [])
    updates = slack.calls_to("chat.update")
    spans = [b.time - a.time for a, b in itertools.pairwise(updates)]
    assert all(span >= 0.9 for span in spans[:-1]), spans  # coalesced: about one edit a second


def test_requests_must_be_signed_and_fresh(server):
    """A bad signature or a timestamp older than five minutes gets 401 and runs nothing."""
    with SignedClient(server) as client:
        assert (
            401
            == client.post(
                slash_command_body(text="status localhost", user_id=ADMIN), bad_signature=True
            ).status_code
        )
        assert (
            401
            == client.post(
                slash_command_body(text="status localhost", user_id=ADMIN), stale=True
            ).status_code
        )


def test_errors_and_denials_are_ephemeral_answers(workspace, r):
    """Mistakes and refusals come back in the ack, to the person only; nothing is queued."""
    typo = workspace.ops("statsu localhost", as_=ADMIN)
    denied = workspace.ops("status localhost", as_="U0STRANGER")
    assert "Did you mean `status`" in typo.text
    assert "needs the `status` permission" in denied.text
    assert "ephemeral" == denied.response_type
    assert 0 == r.zcard("toilbot:jobs")


def test_confirm_button_only_for_the_requester(workspace, r):
    """A command that needs confirmation waits for its requester's click, and only theirs."""
    asked = workspace.ops("restart cron on localhost", as_=OPERATOR)
    assert "Confirm" in asked.labels()
    assert 0 == r.zcard("toilbot:jobs")
    assert "Only <@U0OPER>" in asked.click("Confirm", as_=ADMIN).text
    assert 0 == r.zcard("toilbot:jobs")
    confirmed = asked.click("Confirm", as_=OPERATOR)
    assert "Job 1 queued: `restart cron on localhost`" in confirmed.text
    assert "Already confirmed: job 1 was queued" in asked.click("Confirm", as_=OPERATOR).text
    assert 1 == r.zcard("toilbot:jobs")


def test_mention_in_a_thread_and_retried_events_run_once(server, slack, r):
    """@toilbot in a thread answers in that thread; Slack's retry of the same event is ignored."""
    event = {
        "type": "app_mention",
        "user": ADMIN,
        "text": "<@U0TOILBOT> jobs",
        "ts": "1700000000.000200",
        "thread_ts": "1700000000.000100",
        "channel": CHANNEL,
        "event_ts": "1700000000.000200",
    }
    body = event_body(event, event_id="Ev0SAME")
    with SignedClient(server) as client:
        assert 200 == client.post(body).status_code
        assert 200 == client.post(body, retry_num=1, retry_reason="http_timeout").status_code
    # Listeners run before the answer (process_before_response): both are done by now.
    [reply] = slack.messages(CHANNEL)
    assert "1700000000.000100" == reply.thread_ts
    assert "No jobs yet" in reply.text


def test_app_home_shows_the_users_jobs(server, slack, harness):
    """Opening App Home publishes the user's running jobs and recent results, each result with
    when it ended in Slack's date token (the reader's own time)."""
    harness.say("status localhost", ADMIN)
    with SignedClient(server) as client:
        client.post(event_body(app_home_opened_event(ADMIN)))
    view = slack.wait_for(lambda: slack.home(ADMIN), 10)
    text = json.dumps(view)
    assert "Your recent results" in text and "status localhost" in text and "succeeded" in text
    [result] = [b["text"]["text"] for b in view["blocks"] if "status localhost" in str(b)]
    assert re.search(r" · <!date\^\d+\^\{date_short_pretty\} \{time\}\|[\d-]+ [\d:]+ UTC>$", result)


def test_a_slack_outage_never_loses_the_final_result(workspace, slack, worker_with_slack, r):
    """Slack down when the job ends: the result is kept and delivered when Slack is back."""
    assert "Job 1 queued" in workspace.ops("slow localhost --seconds 3", as_=ADMIN).text
    workspace.message("⏳ Job 1 is running", timeout=30)
    slack.set_outage(True)
    wait_for(lambda: r.hget("toilbot:job:1", "status") == b"succeeded", 60, "the job to end")
    wait_for(lambda: r.zcard(Keys.slack_outbox) > 0, 60, "the final result kept in the outbox")
    assert not any("succeeded" in m.text for m in slack.messages(CHANNEL))
    slack.set_outage(False)
    slack.wait_for(lambda: any("succeeded" in m.text for m in slack.messages(CHANNEL)), 30)


def test_socket_mode_takes_a_slash_command(slack_env, slack):
    """`toilbot socket` connects over Socket Mode and answers a slash command in its ack."""
    proc = start_toilbot(slack_env, "socket")
    try:
        assert "Commands:" in socket_ops(slack, "help")
    finally:
        print(stop_toilbot(proc))


@pytest.mark.parametrize(
    ("drop", "fragment"),
    [
        ("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET: is not set"),
        ("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN: is not set"),
    ],
)
def test_missing_tokens_are_clear_start_up_errors(slack_env, drop, fragment):
    """`toilbot serve` without its secrets says which one and where to find it."""
    proc = toilbot_cli({k: v for k, v in slack_env.items() if k != drop}, "serve", timeout=60)
    assert 3 == proc.returncode
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_wrong_token_is_refused_at_start(slack_env):
    """A token Slack does not know stops start-up with Slack's own error."""
    proc = toilbot_cli(
        {**slack_env, "SLACK_BOT_TOKEN": "xoxb-not-a-real-token"}, "serve", timeout=60
    )
    assert 3 == proc.returncode
    assert "SLACK_BOT_TOKEN: was refused by Slack (invalid_auth)" in proc.stderr


def test_run_is_the_app_and_a_worker_in_one_process(slack_env, slack):
    """`toilbot run` over Socket Mode takes a command and runs its job in the same process."""
    proc = start_toilbot(slack_env, "run")
    try:
        assert "Job 1 queued" in socket_ops(slack, "status localhost")
        slack.wait_for(lambda: any("succeeded" in m.text for m in slack.messages(CHANNEL)), 60)
    finally:
        print(stop_toilbot(proc))


def test_a_direct_message_is_a_command(server, slack):
    """A DM to the bot runs like /ops and is answered in the DM."""
    dm = "D0ADMIN"
    event = {
        "type": "message",
        "channel_type": "im",
        "user": ADMIN,
        "text": "help",
        "ts": "1700000001.000100",
        "channel": dm,
        "event_ts": "1700000001.000100",
    }
    slack.add_channel(dm, name="admin-dm", is_member=True)
    with SignedClient(server) as client:
        assert 200 == client.post(event_body(event)).status_code
    reply = slack.wait_for(lambda: slack.messages(dm), 10)[0]
    assert "Commands:" in reply.text


def test_the_cancel_button_stops_the_job(workspace, worker_with_slack, r):
    """Cancel on the job message cancels it, with the same permission check as `cancel`."""
    assert "Job 1 queued" in workspace.ops("slow localhost --seconds 60", as_=ADMIN).text
    job = workspace.message("⏳ Job 1 is running", timeout=30)
    wait_for(lambda: r.hget("toilbot:job:1", "status") == b"running", 30, "the job to run")
    denied = job.click("Cancel job", as_="U0STRANGER")
    assert "needs the `cancel` permission" in denied.text
    assert "Cancelling job 1" in job.click("Cancel job", as_=ADMIN).text
    job.wait_until_it_says("was cancelled", timeout=30)


def test_the_client_retries_rate_limits_and_server_errors(slack):
    """toilbot's WebClient waits out a 429 (Retry-After) and retries a 503."""
    from bot.frontends.slack.client import make_client
    from bot.frontends.slack.settings import SlackSettings

    client = make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))
    slack.fail("chat.postMessage", 429, retry_after=1)
    slack.fail("chat.update", 503)
    ts = client.chat_postMessage(channel=CHANNEL, text="one")["ts"]
    client.chat_update(channel=CHANNEL, ts=ts, text="two")
    assert 2 == len(slack.calls_to("chat.postMessage"))
    assert 2 == len(slack.calls_to("chat.update"))
    assert "two" == slack.messages(CHANNEL)[0].text


def test_toil_slash_command(workspace):
    """/toil logs time and answers privately."""
    started = workspace.toil("start operating incident", as_=OPERATOR)
    me = workspace.toil("me", as_=OPERATOR)
    assert "Timer started: operating (incident)" in started.text
    assert "Timer running: operating (incident)" in me.text


def test_stop_timer_button(workspace, r):
    """A /toil answer while a timer runs carries Stop timer; pressing it logs the time."""
    started = workspace.toil("start coding automation", as_=OPERATOR)
    assert "toilbot_stop_timer" == started.blocks[-1]["elements"][0]["action_id"]
    timer = json.loads(r.get("toilbot:toil:timer:U0OPER"))
    timer["started"] -= 3600  # as if started an hour ago
    r.set("toilbot:toil:timer:U0OPER", json.dumps(timer))
    stopped = started.click("Stop timer", as_=OPERATOR)
    assert "Logged entry 1: 1h of coding (automation)." == stopped.text
