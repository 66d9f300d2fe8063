"""Delivery to Slack: sent now, kept in the outbox while Slack cannot take it, or refused."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.frontends.slack import outbox
from bot.frontends.slack.client import make_client
from bot.frontends.slack.outbox import Delivered, deliver, deliver_due
from bot.frontends.slack.settings import SlackSettings
from tests.slack import SlackEmulator
from tests.slack.model import DEFAULT_CHANNEL_ID as CHANNEL
from tests.slack_fixtures import free_port


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    """The production client, with slack_sdk's retries of 429, 5xx and connection errors."""
    return make_client(SlackSettings(slack.bot_token, None, None, slack.base_url))


@pytest.fixture
def bare(slack: SlackEmulator) -> WebClient:
    """A client without retries of 429 and 5xx, so the first failure reaches ``deliver``."""
    return WebClient(token=slack.bot_token, base_url=slack.base_url, timeout=5)


def texts(slack: SlackEmulator) -> list[str]:
    return [m.text for m in slack.messages(CHANNEL)]


def test_a_post_is_sent_at_once_and_nothing_is_kept(r, slack, client):
    """Slack up: the message is posted, its answer returned, the outbox stays empty."""
    sent = deliver(r, client, "chat.postMessage", {"channel": CHANNEL, "text": "hi"}, about="t")
    assert (Delivered.SENT, CHANNEL) == (sent.outcome, sent.answer["channel"])
    assert ["hi"] == texts(slack)
    assert 0 == outbox.pending(r)


def test_a_post_during_an_outage_is_kept_and_delivered_once_slack_is_back(r, slack, client):
    """Slack down (503 after the client's own retries): kept, then delivered once, later."""
    with slack.outage():
        kept = deliver(
            r, client, "chat.postMessage", {"channel": CHANNEL, "text": "done"}, about="t"
        )
        assert (Delivered.KEPT, "service_unavailable") == (kept.outcome, kept.error)
        assert 1 == outbox.pending(r)
    assert [] == texts(slack)
    assert 1 == deliver_due(r, client)
    assert 0 == deliver_due(r, client)  # delivered once, not again
    assert (["done"], 0) == (texts(slack), outbox.pending(r))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_edit_refused_for_now_is_kept_and_applied_later(r, slack, bare, status):
    """A rate limit or a server error on chat.update keeps the edit; the drain applies it."""
    ts = deliver(r, bare, "chat.postMessage", {"channel": CHANNEL, "text": "running"}, about="t")
    args = {"channel": CHANNEL, "ts": ts.answer["ts"], "text": "succeeded"}
    slack.fail("chat.update", status)
    assert Delivered.KEPT == deliver(r, bare, "chat.update", args, about="t").outcome
    assert ["running"] == texts(slack)
    assert 1 == deliver_due(r, bare)
    assert ["succeeded"] == texts(slack)


def test_slack_unreachable_keeps_it(r, slack, client):
    """No Slack at that address at all (connection refused): kept for the drain."""
    nowhere = WebClient(token=slack.bot_token, base_url=f"http://127.0.0.1:{free_port()}/api/")
    kept = deliver(r, nowhere, "chat.postMessage", {"channel": CHANNEL, "text": "x"}, about="t")
    assert Delivered.KEPT == kept.outcome
    assert 1 == deliver_due(r, client)
    assert ["x"] == texts(slack)


def test_an_answer_no_retry_changes_is_not_kept(r, slack, client):
    """No such channel: refused with Slack's error, nothing kept, nothing posted."""
    refused = deliver(r, client, "chat.postMessage", {"channel": "C0NOPE", "text": "x"}, about="t")
    assert (Delivered.REFUSED, "channel_not_found") == (refused.outcome, refused.error)
    assert 0 == outbox.pending(r)


def test_the_drain_drops_what_slack_refuses_for_good(r, slack, client):
    """A kept call that Slack then refuses for good is dropped, not retried forever."""
    outbox.put(r, "chat.postMessage", {"channel": "C0NOPE", "text": "x"})
    assert (0, 0) == (deliver_due(r, client), outbox.pending(r))
