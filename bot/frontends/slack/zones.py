"""A person's timezone from their Slack profile (users.info's ``tz``), cached for the ledger.

Looked up before the person's `toil` command runs, so it must be quick: one
short call with no retries; when Slack does not answer, the team's timezone
is used and Slack is asked again a few minutes later.
"""

from __future__ import annotations

import logging

import redis
from slack_sdk import WebClient

from bot.toil.zones import Zones, valid_zone

log = logging.getLogger(__name__)
LOOKUP_TIMEOUT = 2  # seconds: this runs before Slack's 3-second ack deadline
RETRY_AFTER = 300  # seconds until a failed lookup is tried again


def learn_zone(r: redis.Redis, client: WebClient, user: str, team_tz: str) -> None:
    zones = Zones(r, team_tz)
    if zones.knows_slack(user):
        return
    quick = WebClient(token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT)
    quick.retry_handlers = []
    try:
        answer = quick.users_info(user=user)
    except Exception as exc:  # Slack slow or down: the team's timezone for now
        log.info("users.info for %s failed (%s); using the team's timezone", user, exc)
        zones.remember_slack(user, None, ttl=RETRY_AFTER)
        return
    tz = (answer.get("user") or {}).get("tz")
    zones.remember_slack(user, tz if isinstance(tz, str) and valid_zone(tz) else None)
