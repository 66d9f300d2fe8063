"""Answers that cannot be posted where they were asked go to the person's DM instead.

A mention's answer is posted in its channel (`say`); Slack refuses it when the
bot is not a member (`not_in_channel`), the channel is archived, and so on.
The command has been handled by then (its job may be queued), so Slack still
gets its 200, the refusal is one log line, and the person gets the answer by DM.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Say
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.frontends.slack import text as slack_text
from bot.frontends.slack.blocks import section
from bot.frontends.slack.mrkdwn import escape

log = logging.getLogger(__name__)


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown error"))
    return type(exc).__name__


def say_or_dm(
    say: Say,
    client: WebClient,
    user: str,
    channel: str,
    text: str,  # escaped for mrkdwn by the caller
    blocks: list[Any],
    thread_ts: str | None = None,
) -> None:
    """Post the answer in `channel`; if Slack refuses it, DM `user` the answer and why."""
    try:
        say(text=text, blocks=blocks, thread_ts=thread_ts)
        return
    except (SlackClientError, OSError) as exc:
        error = _error(exc)
    log.warning("answer to %s in %s not posted (%s): sending it by DM", user, channel, error)
    note = escape(slack_text.reply_elsewhere(channel, error))  # Slack's error text too
    try:
        dm = client.conversations_open(users=user)["channel"]["id"]
        client.chat_postMessage(channel=dm, text=f"{note}\n{text}", blocks=[section(note), *blocks])
    except (SlackClientError, OSError) as exc:
        log.warning("answer to %s not sent by DM either (%s)", user, _error(exc))
