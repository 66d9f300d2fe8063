"""Slack user groups a person is in, for roles given to a group.

The pipeline asks a GroupDirectory; the Slack app uses the one in
bot/slack/directory.py (usergroups.users.list, cached in Redis). Outside
Slack (console, exec) NoGroups answers: groups resolve to nobody, and says so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from bot.pipeline.policy import text


@dataclass(frozen=True)
class Membership:
    groups: frozenset[str]  # the user groups (of those asked about) the user is in
    notes: tuple[str, ...] = ()  # what could not be read, in words


class GroupDirectory(Protocol):
    def membership(self, user: str, group_ids: Collection[str], ttl: int) -> Membership:
        """Which of ``group_ids`` ``user`` is in; members may be cached for ``ttl`` seconds."""


class NoGroups:
    """Outside Slack: every user group is empty."""

    def membership(self, user: str, group_ids: Collection[str], ttl: int) -> Membership:
        notes = (text.groups_unavailable(),) if group_ids else ()
        return Membership(frozenset(), notes)
