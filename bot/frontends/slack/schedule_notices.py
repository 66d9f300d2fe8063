"""Where a schedule's notices go: its Slack channel when Slack is configured, and the log.

A notice Slack does not take at once (an outage) is kept in the outbox and
delivered when Slack answers again, like a job's final result.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from slack_sdk import WebClient

from bot.frontends.slack import outbox
from bot.frontends.slack import text as slack_text
from bot.frontends.slack.blocks import heads_up_blocks, reply_blocks
from bot.frontends.slack.mrkdwn import escape
from bot.frontends.terminal import Terminal
from bot.schedule.model import Schedule

log = logging.getLogger(__name__)


class Announcer:
    def __init__(self, r: redis.Redis, client: WebClient | None, timezone: str) -> None:
        self.r = r
        self.client = client
        self.log_text = Terminal(timezone=timezone).render  # the log reads in the team's time

    def announce(self, schedule: Schedule, text: str) -> None:
        log.info("schedule %s: %s", schedule.name, self.log_text(text))
        self._post(schedule, {"text": escape(text), "blocks": reply_blocks(text)})

    def heads_up(self, schedule: Schedule, fire: int) -> None:
        text = slack_text.schedule_heads_up(schedule.name, schedule.command, schedule.owner, fire)
        log.info("schedule %s: %s", schedule.name, self.log_text(text))
        self._post(
            schedule, {"text": escape(text), "blocks": heads_up_blocks(text, schedule.name, fire)}
        )

    def _post(self, schedule: Schedule, message: dict[str, Any]) -> None:
        if self.client is None or not schedule.channel:
            return
        args = {"channel": schedule.channel, **message}
        outbox.deliver(
            self.r, self.client, "chat.postMessage", args, about=f"schedule {schedule.name}"
        )
