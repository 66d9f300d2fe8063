"""Slack deliveries that must not be lost (a job's final result), retried until Slack answers.

A Redis sorted set of pending Web API calls scored by when to try next.
Any worker drains it; a delivery is taken by exactly one (ZREM decides).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.platform.store import Keys, texts

log = logging.getLogger(__name__)
MAX_BACKOFF = 300
# Answers that no retry will change: the delivery is dropped, with a log line.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "not_in_channel",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
    }
)


def put(r: redis.Redis, method: str, args: dict[str, Any], attempt: int = 0) -> None:
    item = {"id": uuid.uuid4().hex, "method": method, "args": args, "attempt": attempt}
    delay = 0 if attempt == 0 else min(MAX_BACKOFF, 2**attempt)
    r.zadd(Keys.slack_outbox, {json.dumps(item): time.time() + delay})


def pending(r: redis.Redis) -> int:
    return int(r.zcard(Keys.slack_outbox))


def deliver_due(r: redis.Redis, client: WebClient, limit: int = 20) -> int:
    """Try every delivery that is due; returns how many went through."""
    delivered = 0
    for raw in texts(r.zrangebyscore(Keys.slack_outbox, 0, time.time(), start=0, num=limit)):
        if not r.zrem(Keys.slack_outbox, raw):
            continue  # another worker took it
        item = json.loads(raw)
        try:
            client.api_call(item["method"], json=item["args"])
            delivered += 1
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in PERMANENT:
                log.error("dropping Slack delivery %s: %s", item["method"], error)
                continue
            put(r, item["method"], item["args"], item["attempt"] + 1)
        except Exception as exc:  # connection refused, timeouts: Slack is unreachable
            log.warning("Slack unreachable (%s); will retry %s", exc, item["method"])
            put(r, item["method"], item["args"], item["attempt"] + 1)
    return delivered
