"""What a person asked for, as one frozen value: every front end builds a Request, and
``Bot.handle`` takes it through the steps (``bot.pipeline.steps``).

``Channel`` is where the command was typed (policy rules may name channels);
``ReplyTo`` is where the job it queues reports in Slack, stored with the job and
with an approval request as their ``notify`` field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.platform.store import QUEUE


@dataclass(frozen=True)
class Channel:
    """Where a command was typed: a Slack channel id and/or name (without '#').

    None instead of a Channel means outside Slack (console, exec)."""

    id: str | None = None
    name: str | None = None

    @classmethod
    def of(cls, value: Channel | str | None) -> Channel | None:
        """A Channel from itself, "#name", an id such as C0123, or None."""
        if value is None or isinstance(value, Channel):
            return value
        return cls(name=value[1:]) if value.startswith("#") else cls(id=value)

    def label(self) -> str:
        return f"#{self.name}" if self.name else (self.id or "?")


@dataclass(frozen=True)
class ReplyTo:
    """Where a job's messages go in Slack: a channel (an id, or "#name" for schedules), the
    person to mention, the thread to answer in.

    Stored as the ``notify`` field of job and approval records, with the keys it always
    had (``to_json`` / ``from_json``), so records written by earlier versions read the same.
    """

    channel: str
    user: str | None = None
    channel_name: str | None = None  # the channel's name, for policy rules that name channels
    thread_ts: str | None = None

    def to_json(self) -> dict[str, str]:
        data = {"channel": self.channel}
        if self.user is not None:
            data["user"] = self.user
        if self.channel_name:
            data["channel_name"] = self.channel_name
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, str] | None) -> ReplyTo | None:
        if not data or "channel" not in data:
            return None
        return cls(
            str(data["channel"]),
            data.get("user"),
            data.get("channel_name") or None,
            data.get("thread_ts") or None,
        )

    def where(self) -> Channel | None:
        """The channel as the policy sees it; None when there is none."""
        return Channel(self.channel, self.channel_name) if self.channel else None


@dataclass(frozen=True)
class Request:
    """One command from one person, as it arrived."""

    text: str
    user: str  # a Slack user id
    source: str  # slack, console, exec, schedule, test...
    confirmed: bool = False  # the requester already confirmed it
    queue: str = QUEUE  # the RQ queue a job goes on
    reply_to: ReplyTo | None = None  # where a job reports in Slack; None: nowhere
    channel: Channel | None = None  # where it was typed; None outside Slack
    scheduled: tuple[str, int] | None = None  # (schedule name, fire time) for scheduled runs

    @property
    def audit_channel(self) -> str | None:
        """The channel its audit entries name."""
        return self.reply_to.channel if self.reply_to else None
