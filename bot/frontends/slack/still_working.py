"""'Still working?': a DM to each person whose timer ran past its limit, once per limit.

A timer counts up to its limit (``toil.timer_limit`` after it started) and no
further until the person answers. Keep counts on for another limit from the
click (and asks again then); Stop ends the timer where it stopped counting.
The worker's reaper calls :func:`ask_still_working` every few seconds; each
overdue timer is claimed by exactly one worker (ZREM decides), so nobody is
asked twice for the same stretch.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from typing import Any

import redis
from slack_sdk import WebClient

from bot.frontends.slack import outbox
from bot.frontends.slack import text as slack_text
from bot.frontends.slack.blocks import still_working_blocks
from bot.frontends.slack.mrkdwn import escape
from bot.pipeline.settings import Settings
from bot.toil.ledger import Ledger


def clock(timestamp: float, tz: str) -> str:
    """'13:00', or 'Sat 13:00' when it is not today in ``tz``."""
    zone = zoneinfo.ZoneInfo(tz)
    at = dt.datetime.fromtimestamp(timestamp, zone)
    today = dt.datetime.now(zone).date()
    return at.strftime("%H:%M") if at.date() == today else at.strftime("%a %d %b %H:%M")


def ask_still_working(
    r: redis.Redis, settings: Settings, client: WebClient, now: float | None = None
) -> list[str]:
    """DM every person whose timer stopped counting; returns whom it asked."""
    now = time.time() if now is None else now
    ledger = Ledger(r)
    limit = settings.toil.timer_limit
    asked = []
    for user, _due in ledger.overdue(now):
        if not ledger.claim_overdue(user):
            continue  # stopped meanwhile, or another worker asks
        timer = ledger.timer(user)
        if timer is None:
            continue
        until = timer.counts_until(limit)
        text = slack_text.still_working(
            timer.kind.value, timer.category, clock(timer.started, timer.tz), clock(until, timer.tz)
        )
        args: dict[str, Any] = {
            "channel": user,  # a user id: Slack posts in the app's DM with them
            "text": escape(text),
            "blocks": still_working_blocks(text, timer.started, clock(until, timer.tz)),
        }
        outbox.deliver(r, client, "chat.postMessage", args, about=f"still-working DM to {user}")
        asked.append(user)
    return asked
