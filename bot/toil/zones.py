"""Each person's timezone: set by them (`toil tz`), else Slack's (users.info), else the team's.

Slack's answer is cached in Redis for a day; the Slack front end looks it up
before a person's `toil` command, so the command itself never waits on Slack.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum

import redis

from bot.platform.store import Keys, text

SLACK_TTL = 24 * 3600  # users.info's tz is asked again after a day
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")


class ZoneSource(StrEnum):
    PERSON = "set by you"
    SLACK = "from your Slack profile"
    TEAM = "the team's"


@dataclass(frozen=True)
class Zone:
    name: str
    source: ZoneSource


def valid_zone(name: str) -> bool:
    """An IANA timezone name (never a path: zoneinfo would read files outside its database)."""
    if not _NAME.match(name) or len(name) > 64:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Zones:
    def __init__(self, r: redis.Redis, team_tz: str) -> None:
        self.r = r
        self.team_tz = team_tz

    def of(self, user: str) -> Zone:
        own, slack = self.r.mget([Keys.toil_tz(user), Keys.toil_slack_tz(user)])
        if own is not None:
            return Zone(text(own), ZoneSource.PERSON)
        if slack is not None and text(slack) and valid_zone(text(slack)):
            return Zone(text(slack), ZoneSource.SLACK)
        return Zone(self.team_tz, ZoneSource.TEAM)

    def set(self, user: str, name: str) -> None:
        self.r.set(Keys.toil_tz(user), name)

    def clear(self, user: str) -> None:
        self.r.delete(Keys.toil_tz(user))

    def knows_slack(self, user: str) -> bool:
        """Whether Slack's timezone for ``user`` is cached (or known to be missing)."""
        return bool(self.r.exists(Keys.toil_slack_tz(user)))

    def remember_slack(self, user: str, name: str | None, ttl: int = SLACK_TTL) -> None:
        """Cache users.info's tz; an empty value records "Slack has none" for ``ttl`` seconds."""
        self.r.set(Keys.toil_slack_tz(user), name or "", ex=ttl)
