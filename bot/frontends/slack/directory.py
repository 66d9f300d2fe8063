"""What Slack knows that the policy needs: user-group members and channel names.

Both come from the real Web API (``usergroups.users.list``,
``conversations.info``) and are cached in Redis: group members for the
policy's ``groups_ttl`` (dropped at once on Slack's ``subteam_members_changed``
and ``subteam_updated`` events), channel names for an hour. A group Slack
cannot read counts as empty, and ``whoami`` says why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.frontends.slack import text as slack_text
from bot.pipeline.policy.groups import Membership
from bot.platform.store import Keys, text

log = logging.getLogger(__name__)
CHANNEL_TTL = 3600


class SlackDirectory:
    def __init__(self, client: WebClient, r: redis.Redis) -> None:
        self.client = client
        self.r = r

    def membership(self, user: str, group_ids: Collection[str], ttl: int) -> Membership:
        found: set[str] = set()
        notes: list[str] = []
        for group in sorted(group_ids):
            members, error = self._members(group, ttl)
            if error:
                notes.append(slack_text.group_unreadable(group, error))
            elif user in members:
                found.add(group)
        return Membership(frozenset(found), tuple(notes))

    def _members(self, group: str, ttl: int) -> tuple[list[str], str | None]:
        cached = self.r.get(Keys.usergroup(group))
        if cached is not None:
            entry = json.loads(text(cached))
            return list(entry["users"]), entry["error"]
        try:
            users = [str(u) for u in self.client.usergroups_users_list(usergroup=group)["users"]]
            error = None
        except SlackApiError as exc:
            users, error = [], str(exc.response.get("error", "unknown error"))
            log.warning("user group %s could not be read: %s", group, error)
        except Exception as exc:  # Slack unreachable: not cached, asked again next time
            log.warning("user group %s could not be read: %s", group, exc)
            return [], f"Slack could not be reached: {exc}"
        self.r.set(Keys.usergroup(group), json.dumps({"users": users, "error": error}), ex=ttl)
        return users, error

    def forget(self, group: str) -> None:
        """Slack says the group changed: read it again next time."""
        self.r.delete(Keys.usergroup(group))

    def channel_name(self, channel_id: str) -> str | None:
        """The channel's name (without '#'), or None if Slack will not say."""
        cached = self.r.get(Keys.channel_name(channel_id))
        if cached is not None:
            return text(cached) or None
        try:
            info = self.client.conversations_info(channel=channel_id)
            name = str(info["channel"].get("name", ""))
        except Exception as exc:
            log.warning("channel %s could not be read: %s", channel_id, exc)
            return None
        self.r.set(Keys.channel_name(channel_id), name, ex=CHANNEL_TTL)
        return name or None
