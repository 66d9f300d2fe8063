"""The state of the emulated workspace and the operations that change it.

`Workspace` knows nothing of HTTP: the Web API methods (`webapi.py`), the
response_url endpoint and the Socket Mode acks all end up here, under one
re-entrant lock. Every change bumps `version` and wakes `wait_for` callers.

Faithful: message history keeps every version (post, each `chat.update`), a
deleted message disappears from the conversation but keeps its history,
`chat.update` keeps blocks/attachments it is not given (an empty list clears
them), DMs are opened on demand when a bot posts to a user ID, response_url
bodies act like Slack's (`response_type: in_channel` posts to the channel,
`replace_original`/`delete_original` change the message the action came from,
anything else is an ephemeral for the user), a response_url works 5 times
within 30 minutes.
Simplified: no rate limits unless injected, no
reactions, pins or unfurls; thread_ts is not checked against existing threads.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tests.slack.model import (
    BOT_USER_ID,
    BOT_USER_NAME,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    GENERAL_CHANNEL_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Call,
    Channel,
    Ephemeral,
    Home,
    IdMaker,
    Message,
    ResponsePost,
    SocketAck,
    TsClock,
    UploadedFile,
    User,
    ts_key,
)
from tests.slack.scopes import manifest_scopes

T = TypeVar("T")

RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60
POLL = 0.05


@dataclass
class ResponseTarget:
    """Where a response_url's answers go: the conversation, the user, the original message."""

    channel: str | None
    user: str | None
    message_ts: str | None
    created: float
    uses: int = 0


@dataclass
class _MessageRecord:
    versions: list[Message]
    deleted: bool = False


@dataclass
class Workspace:
    """Everything the local Slack remembers. Use `with workspace.lock:` to read consistently."""

    bot_tokens: set[str] = field(default_factory=lambda: {DEFAULT_BOT_TOKEN})
    app_token: str = DEFAULT_APP_TOKEN
    scopes: tuple[str, ...] = field(default_factory=manifest_scopes)  # what the app was granted
    root_url: str = "http://127.0.0.1/"

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.version = 0
        self.clock = TsClock()
        self.ids = IdMaker()
        self.revoked: set[str] = set()
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.dms: dict[str, str] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.history: dict[str, dict[str, _MessageRecord]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.homes: dict[str, list[Home]] = {}
        self.files: dict[str, UploadedFile] = {}
        self.response_targets: dict[str, ResponseTarget] = {}
        self.responses: list[ResponsePost] = []
        self.calls: list[Call] = []
        self.socket_tickets: set[str] = set()
        self.socket_acks: list[SocketAck] = []
        self._seed()

    def _seed(self) -> None:
        self.add_user(User(BOT_USER_ID, BOT_USER_NAME, real_name="Toilbot", is_bot=True))
        self.add_user(User(DEFAULT_USER_ID, "alice", real_name="Alice Example", tz="Europe/Paris"))
        self.add_channel(Channel(DEFAULT_CHANNEL_ID, DEFAULT_CHANNEL_NAME))
        self.add_channel(Channel(GENERAL_CHANNEL_ID, "general"))

    # ----------------------------------------------------------------- changes

    def changed(self) -> None:
        """Record that something changed; wakes `wait_until`."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait_until(self, predicate: Callable[[], T | None], timeout: float) -> T:
        """Evaluate `predicate` (outside the lock) after each change until truthy.

        Also re-checked every POLL seconds, for predicates that look at a client's
        state as well as the workspace's.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                seen = self.version
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            with self._changed:
                self._changed.wait_for(self._moved_on(seen), min(remaining, POLL))

    def _moved_on(self, seen: int) -> Callable[[], bool]:
        return lambda: self.version != seen

    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            self.changed()
        return user

    def add_channel(self, channel: Channel) -> Channel:
        with self.lock:
            self.channels[channel.id] = channel
            self.history.setdefault(channel.id, {})
            self.changed()
        return channel

    # ----------------------------------------------------------- conversations

    def resolve_channel(self, ref: str) -> Channel | None:
        """A channel by ID, by name ("ops", "#ops"), or a user ID's DM (opened on demand)."""
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users:
            return self.open_dm(ref)[0]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.is_im:
                return channel
        return None

    def open_dm(self, user_id: str) -> tuple[Channel, bool]:
        """The bot's DM with `user_id` and whether it was already open."""
        existing = self.dms.get(user_id)
        if existing is not None:
            return self.channels[existing], True
        channel = Channel(self.ids.make("D"), is_im=True, user=user_id)
        self.dms[user_id] = channel.id
        self.add_channel(channel)
        return channel, False

    def open_mpim(self, user_ids: list[str]) -> tuple[Channel, bool]:
        members = {BOT_USER_ID, *user_ids}
        for channel in self.channels.values():
            if channel.id.startswith("G") and channel.members == members:
                return channel, True
        name = "mpdm-" + "--".join(sorted(self.users[u].name for u in members)) + "-1"
        channel = Channel(self.ids.make("G"), name=name, is_private=True, members=members)
        return self.add_channel(channel), False

    # ---------------------------------------------------------------- messages

    def post(self, message: Message) -> Message:
        with self.lock:
            self.history.setdefault(message.channel, {})[message.ts] = _MessageRecord([message])
            self.changed()
        return message

    def record(self, channel: str, ts: str) -> _MessageRecord | None:
        record = self.history.get(channel, {}).get(ts)
        return None if record is None or record.deleted else record

    def current(self, channel: str, ts: str) -> Message | None:
        record = self.record(channel, ts)
        return record.versions[-1] if record is not None else None

    def update(self, channel: str, ts: str, **changes: Any) -> Message:
        with self.lock:
            record = self.record(channel, ts)
            if record is None:
                raise KeyError((channel, ts))
            new = dataclasses.replace(record.versions[-1], edited_ts=self.clock.next(), **changes)
            record.versions.append(new)
            self.changed()
            return new

    def delete(self, channel: str, ts: str) -> None:
        with self.lock:
            record = self.record(channel, ts)
            if record is None:
                raise KeyError((channel, ts))
            record.deleted = True
            self.changed()

    def messages(self, channel: str | None = None) -> list[Message]:
        with self.lock:
            channels = [channel] if channel is not None else list(self.history)
            current = [
                record.versions[-1]
                for cid in channels
                for record in self.history.get(cid, {}).values()
                if not record.deleted
            ]
        return sorted(current, key=lambda m: ts_key(m.ts))

    def versions(self, channel: str, ts: str) -> list[Message]:
        with self.lock:
            record = self.history.get(channel, {}).get(ts)
            return list(record.versions) if record is not None else []

    def permalink(self, message: Message) -> str:
        digits = message.ts.replace(".", "")
        link = f"https://{TEAM_DOMAIN}.slack.com/archives/{message.channel}/p{digits}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={message.channel}"
        return link

    def add_ephemeral(self, ephemeral: Ephemeral) -> Ephemeral:
        with self.lock:
            self.ephemerals.append(ephemeral)
            self.changed()
        return ephemeral

    # ------------------------------------------------------------ response_url

    def new_response_target(
        self, kind: str, channel: str | None, user: str | None, message_ts: str | None
    ) -> str:
        path = f"/{kind}/{TEAM_ID}/{secrets.randbelow(10**12)}/{secrets.token_urlsafe(18)}"
        with self.lock:
            self.response_targets[path] = ResponseTarget(channel, user, message_ts, time.time())
        return self.root_url.rstrip("/") + path

    def respond(self, path: str, body: dict[str, Any], source: str) -> tuple[int, str]:
        """Apply a response_url POST; returns the HTTP status and text Slack would answer."""
        with self.lock:
            target = self.response_targets.get(path)
            status, text = self._check_response(target, body)
            if status == 200 and target is not None:
                target.uses += 1
                self.apply_response(target, body, source)
            url = self.root_url.rstrip("/") + path
            self.responses.append(ResponsePost(url, body, time.time(), status))
            self.changed()
            return status, text

    @staticmethod
    def _check_response(target: ResponseTarget | None, body: dict[str, Any]) -> tuple[int, str]:
        if target is None:
            return 404, "no_service"
        if target.uses >= RESPONSE_URL_USES or time.time() - target.created > RESPONSE_URL_TTL:
            return 404, "expired_url"
        if body.get("delete_original"):
            return 200, "ok"
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return 400, "no_text"
        return 200, "ok"

    def apply_response(self, target: ResponseTarget, body: dict[str, Any], source: str) -> None:
        """What Slack does with a response body (response_url, or a slash command's ack)."""
        original = (
            self.current(target.channel, target.message_ts)
            if target.channel and target.message_ts
            else None
        )
        if original is not None and body.get("delete_original"):
            self.delete(original.channel, original.ts)
        elif original is not None and body.get("replace_original"):
            self.update(original.channel, original.ts, **_content(body))
        elif body.get("response_type") == "in_channel" and target.channel in self.channels:
            content = _content(body)
            self.post(
                Message(
                    target.channel, self.clock.next(), thread_ts=body.get("thread_ts"), **content
                )
            )
        elif not body.get("delete_original"):
            self.add_ephemeral(
                Ephemeral(
                    target.channel,
                    target.user,
                    str(body.get("text", "")),
                    self.clock.next(),
                    blocks=body.get("blocks"),
                    attachments=body.get("attachments"),
                    thread_ts=body.get("thread_ts"),
                    source=source,
                )
            )

    # ------------------------------------------------------------------- views

    def publish_home(self, user: str, view: dict[str, Any]) -> Home:
        with self.lock:
            home = Home(user, view, view["hash"])
            self.homes.setdefault(user, []).append(home)
            self.changed()
            return home

    def home(self, user: str) -> Home | None:
        with self.lock:
            published = self.homes.get(user)
            return published[-1] if published else None

    # ------------------------------------------------------------------- files

    def new_upload(self, filename: str, length: int, **extra: Any) -> UploadedFile:
        with self.lock:
            file_id = self.ids.make("F")
            path = f"/upload/v1/{secrets.token_urlsafe(24)}"
            upload = UploadedFile(
                file_id, filename, length, path, created=int(time.time()), **extra
            )
            self.files[file_id] = upload
            return upload

    def receive_upload(self, path: str, content: bytes) -> UploadedFile | None:
        with self.lock:
            for upload in self.files.values():
                if upload.upload_path == path and not upload.completed:
                    upload.content = content
                    self.changed()
                    return upload
            return None

    def completed_files(self) -> list[UploadedFile]:
        with self.lock:
            return [f for f in self.files.values() if f.completed]

    # --------------------------------------------------------------- recording

    def record_call(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)
            self.changed()

    def record_ack(self, ack: SocketAck) -> None:
        with self.lock:
            self.socket_acks.append(ack)
            self.changed()

    def snapshot(self, items: Iterable[T]) -> list[T]:
        with self.lock:
            return list(items)


def _content(body: dict[str, Any]) -> dict[str, Any]:
    """The message fields a response body sets (text, blocks, attachments)."""
    content: dict[str, Any] = {"text": str(body.get("text", ""))}
    for key in ("blocks", "attachments"):
        if key in body:
            content[key] = body[key] or None
    return content
