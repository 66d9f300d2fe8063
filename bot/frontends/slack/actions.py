"""Buttons under an answer (``Reply.actions``, e.g. `inventory`'s Refresh): each runs its
command for whoever clicks it, through the whole pipeline, as if that person typed it, and
the answer replaces the one the button was under."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, Respond

from bot.frontends.slack.blocks import Block, reply_blocks
from bot.frontends.slack.mrkdwn import escape
from bot.pipeline.bot import Bot, Reply
from bot.pipeline.request import Channel, Request

#: ``toilbot_run:<n>``: the n-th button of an answer (action ids are unique within a block).
ACTION = re.compile(r"^toilbot_run:\d+$")
MAX_VALUE = 2000  # Slack's limit for a button's value


def action_blocks(reply: Reply) -> list[Block]:
    """The answer's buttons, in one actions block (none: no block)."""
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": action.label[:75]},
            "action_id": f"toilbot_run:{index}",
            "value": action.command,
        }
        for index, action in enumerate(reply.actions)
        if len(action.command) <= MAX_VALUE
    ]
    return [{"type": "actions", "elements": buttons}] if buttons else []


def answer_blocks(reply: Reply, job: int | None = None) -> list[Block]:
    """An answer's text blocks and its buttons."""
    return [*reply_blocks(reply.text, job=job), *action_blocks(reply)]


def run_action(bot: Bot, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    """A click on an answer's button: its command, run for the person who clicked."""
    ack()
    command = str(body["actions"][0].get("value", ""))
    where = body.get("channel") or {}
    channel = Channel(where.get("id"), where.get("name")) if where else None
    reply = bot.handle(Request(command, body["user"]["id"], "slack", channel=channel))
    respond(text=escape(reply.text), blocks=answer_blocks(reply), replace_original=True)
