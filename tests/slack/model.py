"""The records a local Slack keeps: users, conversations, messages, files, calls.

These are plain dataclasses; `SlackEmulator` owns them behind one lock and hands
out copies, so a test can read them without racing the server threads.

Faithful: ID shapes (T…, U…, C…, D…, F…), `ts` strings of 6 decimals that
strictly increase, the JSON shapes of users and messages as the Web API returns
them (`to_api`), time zones computed from the IANA database like Slack does for
`tz_offset` (the current offset, daylight saving included).
Simplified: one workspace, one installed app with one bot user; `tz_label` comes
from a small table of common zones (falling back to the zone abbreviation).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

TEAM_ID = "T0TOIL"
TEAM_NAME = "Toil Test"
TEAM_DOMAIN = "toil-test"
APP_ID = "A0TOILBOT"
BOT_ID = "B0TOILBOT"
BOT_USER_ID = "U0TOILBOT"
BOT_USER_NAME = "toilbot"
DEFAULT_USER_ID = "U0ALICE"
DEFAULT_CHANNEL_ID = "C0OPS"
DEFAULT_CHANNEL_NAME = "ops"
GENERAL_CHANNEL_ID = "C0GENERAL"
# Fake credentials the emulator accepts; they open nothing anywhere else.
DEFAULT_BOT_TOKEN = "xoxb-test-token"  # noqa: S105
DEFAULT_APP_TOKEN = "xapp-test-token"  # noqa: S105

# Long names Slack shows as `tz_label`, keyed by the zone abbreviation in force.
_TZ_LABELS = {
    "UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "MSK": "Moscow Time",
    "IST": "India Standard Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
}


def tz_offset_and_label(tz: str, at: float | None = None) -> tuple[int, str]:
    """The offset from UTC in seconds and Slack's long label for `tz` at `at`."""
    now = datetime.fromtimestamp(time.time() if at is None else at, ZoneInfo(tz))
    offset = now.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    abbreviation = now.tzname() or "UTC"
    return seconds, _TZ_LABELS.get(abbreviation, abbreviation)


def ts_key(ts: str) -> tuple[int, int]:
    """Sort key for `ts` strings, exact (floats lose microseconds near 2**31 seconds)."""
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


class TsClock:
    """Issues Slack `ts` values ("1700000000.000100"): wall-clock based, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            micros = max(int(time.time() * 1_000_000), self._last + 1)
            self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class IdMaker:
    """Slack-looking IDs: a type letter, then upper-case letters and digits."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def make(self, prefix: str) -> str:
        return f"{prefix}0{next(self._counter):08X}"


@dataclass
class User:
    """A workspace member as `users.info` shows it."""

    id: str
    name: str
    real_name: str = ""
    tz: str = "America/Los_Angeles"
    tz_label: str | None = None
    tz_offset: int | None = None
    email: str | None = None
    is_bot: bool = False
    is_admin: bool = False
    deleted: bool = False

    def to_api(self, *, include_locale: bool = False) -> dict[str, Any]:
        offset, label = tz_offset_and_label(self.tz)
        real_name = self.real_name or self.name
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": self.tz_label if self.tz_label is not None else label,
            "tz_offset": self.tz_offset if self.tz_offset is not None else offset,
            "profile": {
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "email": self.email or f"{self.name}@{TEAM_DOMAIN}.example.com",
                "team": TEAM_ID,
                "status_text": "",
                "status_emoji": "",
            },
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        if self.is_bot:
            user["profile"]["bot_id"] = BOT_ID
            user["profile"]["api_app_id"] = APP_ID
        if include_locale:
            user["locale"] = "en-US"
        return user


@dataclass
class Channel:
    """A conversation: public/private channel, or a DM (`is_im`) with `user`.

    `members=None` means everyone is a member. A bot that is not a member of a
    public channel gets `not_in_channel`; a private one it is not in does not
    exist for it (`channel_not_found`), as on Slack.
    """

    id: str
    name: str = ""
    is_private: bool = False
    is_im: bool = False
    is_archived: bool = False
    is_member: bool = True
    user: str | None = None
    members: set[str] | None = None

    def has_member(self, user_id: str) -> bool:
        if self.is_im:
            return user_id == self.user
        return self.members is None or user_id in self.members

    def to_api(self) -> dict[str, Any]:
        if self.is_im:
            return {"id": self.id, "is_im": True, "user": self.user, "created": 1700000000}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": False,
            "is_im": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
            "created": 1700000000,
            "context_team_id": TEAM_ID,
        }


@dataclass
class Message:
    """One version of a message in a conversation (`emulator.updates` lists them all)."""

    channel: str
    ts: str
    text: str = ""
    user: str = BOT_USER_ID
    bot_id: str | None = BOT_ID
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    files: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    edited_ts: str | None = None
    reply_broadcast: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        data["user"] = self.user
        if self.bot_id is not None:
            data["bot_id"] = self.bot_id
            data["app_id"] = APP_ID
            data["bot_profile"] = {"id": self.bot_id, "app_id": APP_ID, "name": BOT_USER_NAME}
        data["team"] = TEAM_ID
        optional = {
            "blocks": self.blocks,
            "attachments": self.attachments,
            "thread_ts": self.thread_ts,
            "files": self.files,
            "metadata": self.metadata,
        }
        data.update({k: v for k, v in optional.items() if v})
        if self.files:
            data["upload"] = True
        if self.edited_ts is not None:
            data["edited"] = {"user": self.user, "ts": self.edited_ts}
        return data


@dataclass
class Ephemeral:
    """A message only `user` sees (`chat.postEphemeral`, a response_url, an ack payload)."""

    channel: str | None
    user: str | None
    text: str
    message_ts: str
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    source: str = "chat.postEphemeral"


@dataclass
class UploadedFile:
    """A file on its way: getUploadURLExternal → the upload URL → completeUploadExternal."""

    id: str
    filename: str
    length: int
    upload_path: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None
    created: int = 0
    completed: bool = False

    def to_api(self, base: str) -> dict[str, Any]:
        size = len(self.content) if self.content is not None else self.length
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": "application/octet-stream",
            "filetype": "binary",
            "user": BOT_USER_ID,
            "user_team": TEAM_ID,
            "size": size,
            "is_external": False,
            "is_public": any(c.startswith("C") for c in self.channels),
            "url_private": f"{base}files/{self.id}/{self.filename}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{self.id}",
            "channels": [c for c in self.channels if c.startswith("C")],
            "ims": [c for c in self.channels if c.startswith("D")],
            "groups": [],
        }


@dataclass
class Home:
    """One `views.publish` of a user's App Home."""

    user: str
    view: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class Call:
    """A request the emulator answered: Web API call, upload, response_url post."""

    method: str
    params: dict[str, Any]
    token: str | None
    time: float
    status: int
    response: dict[str, Any]


@dataclass(frozen=True)
class ResponsePost:
    """A POST to a response_url (`emulator.new_response_url()`)."""

    url: str
    body: dict[str, Any]
    time: float
    status: int


@dataclass(frozen=True)
class SocketAck:
    """An acknowledgement a Socket Mode client sent back for an envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    time: float
