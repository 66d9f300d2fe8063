"""A Slack outage cannot stop `toilbot serve`: the bot's identity is asked once and kept.

Before, Bolt asked Slack (auth.test) while building the app in every gunicorn worker;
a worker booted while Slack answered 503 failed, and gunicorn stopped the server.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.frontends.slack.client import make_client
from bot.frontends.slack.identity import KEY, Identity
from bot.frontends.slack.settings import SlackSettings
from tests.conftest import ADMIN, start_toilbot, stop_toilbot, wait_for
from tests.slack import SlackEmulator
from tests.slack.chat import SlackChat
from tests.slack.model import BOT_USER_ID
from tests.slack_fixtures import free_port, listening


def _client(slack: SlackEmulator) -> WebClient:
    return make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))


def test_the_identity_is_asked_once_and_kept_for_an_outage(slack, r):
    first = Identity(_client(slack), r)
    assert BOT_USER_ID == first.authorize(None, None)["bot_user_id"]
    asked = len([c for c in slack.calls if c.method == "auth.test"])
    first.authorize(None, None)
    assert asked == len([c for c in slack.calls if c.method == "auth.test"])  # not again
    assert r.exists(KEY)
    with slack.outage():
        later = Identity(_client(slack), r)  # a process started during the outage
        result = later.authorize(None, None)
    assert BOT_USER_ID == result["bot_user_id"]
    assert slack.bot_token == result["bot_token"]


def test_serve_boots_and_answers_while_slack_is_down(slack_env, slack, r):
    """The server starts and its worker boots in the middle of a Slack outage; a slash
    command is answered (the answer travels in the HTTP response, not through the API)."""
    port = free_port()
    with slack.outage():
        proc = start_toilbot(
            slack_env, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"
        )
        try:
            wait_for(lambda: listening(port) or proc.poll() is not None, 30, "serve to listen")
            with SlackChat(slack, f"http://127.0.0.1:{port}/slack/events") as chat:
                answer = chat.ops("help", as_=ADMIN).text
            assert "restart" in answer
            assert proc.poll() is None
        finally:
            output = stop_toilbot(proc)
    assert "starting anyway" in output or "Slack is not answering" in output, output
    assert "Worker failed to boot" not in output
