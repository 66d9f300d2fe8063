"""People in the local Slack, in the spirit of errbot's ``testbot``: type, click, read.

    seen = workspace.ops("guarded web-01", as_=OPERATOR)
    assert "Approval request 1 is waiting" in seen.text
    assert "Job 1 queued" in seen.click("Approve", as_=LEAD).text

Each step is the request Slack would send (a slash command, a button click),
signed as Slack signs it and posted to the running app's endpoint (`toilbot
serve`'s /slack/events). Each returns what that person sees: the answer to them
(a slash command's ack, a click's response_url post) and the messages the bot
posted in the channel while answering. A button is found by its label, as a
person finds it: in the answer, else in the messages posted with it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.slack.emulator import SlackEmulator
from tests.slack.model import BOT_USER_ID, DEFAULT_CHANNEL_ID, Message
from tests.slack.signing import SignedClient, block_actions_body, slash_command_body

TIMEOUT = 10.0  # seconds to wait for an answer the app sends by response_url
MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yml"
_AT_NAME = re.compile(r"(?<![<\w@])@([a-z0-9][a-z0-9._-]*)")


@functools.cache
def escaping_commands(manifest: Path = MANIFEST) -> frozenset[str]:
    """The slash commands whose text Slack escapes: ``should_escape: true`` in the manifest."""
    commands = yaml.safe_load(manifest.read_text())["features"]["slash_commands"]
    return frozenset(c["command"] for c in commands if c.get("should_escape"))


def as_slack_sends(text: str, escaped: bool, names: dict[str, str]) -> str:
    """A slash command's text as Slack sends it: with escaping on, ``@name`` of a member
    becomes ``<@U…|name>`` (any other ``@word`` stays as typed); off, the text as typed."""
    if not escaped:
        return text
    return _AT_NAME.sub(lambda m: f"<@{names[m[1]]}|{m[1]}>" if m[1] in names else m[0], text)


def _buttons(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        element
        for block in blocks or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]


def _label(button: dict[str, Any]) -> str:
    return str(button.get("text", {}).get("text", ""))


@dataclass(frozen=True)
class Posted:
    """A message the bot posted in a channel, as it is whenever it is read."""

    chat: SlackChat
    channel: str
    ts: str

    @property
    def message(self) -> Message:
        found = self.chat.slack.message(self.channel, self.ts)
        if found is None:
            raise AssertionError(f"message {self.ts} in {self.channel} was deleted")
        return found

    @property
    def text(self) -> str:
        return self.message.text

    def actions(self) -> dict[str, str]:
        """action_id -> value of the buttons it has now."""
        return {b["action_id"]: b.get("value", "") for b in _buttons(self.message.blocks)}

    def labels(self) -> list[str]:
        return [_label(b) for b in _buttons(self.message.blocks)]

    def click(self, label: str, *, as_: str) -> Seen:
        """``as_`` presses the button labelled ``label`` on this message."""
        message = self.message
        button = _find(_buttons(message.blocks), label, f"message {message.text[:60]!r}")
        return self.chat.click(button, as_=as_, channel=self.channel, message=message)

    def thread(self) -> list[str]:
        """The texts of the replies in its thread, oldest first."""
        return [m.text for m in self.chat.slack.thread(self.channel, self.ts)]

    def wait_in_thread(self, fragment: str, timeout: float = 15.0) -> str:
        """The first reply in its thread that contains ``fragment``, once there is one."""
        return self.chat.slack.wait_for(
            lambda: next((t for t in self.thread() if fragment in t), None), timeout
        )

    def wait_until_it_says(self, fragment: str, timeout: float = 10.0) -> Posted:
        """Wait until the message (edited by the bot) contains ``fragment``."""
        self.chat.slack.wait_for(lambda: fragment in self.text, timeout)
        return self


@dataclass(frozen=True)
class Seen:
    """What one person sees after one step: the answer to them, the messages it posted."""

    chat: SlackChat
    text: str
    blocks: list[dict[str, Any]] | None
    response_type: str | None  # as the app said it: "ephemeral" (only they), "in_channel"
    channel: str
    posted: tuple[Posted, ...]

    def labels(self) -> list[str]:
        """The labels of the buttons in the answer itself."""
        return [_label(b) for b in _buttons(self.blocks)]

    def click(self, label: str, *, as_: str) -> Seen:
        """``as_`` presses the button labelled ``label``: in this answer, else in a message
        posted with it (the newest first)."""
        if label in self.labels():
            button = _find(_buttons(self.blocks), label, "the answer")
            return self.chat.click(button, as_=as_, channel=self.channel, message=None)
        for posted in reversed(self.posted):
            if label in posted.labels():
                return posted.click(label, as_=as_)
        raise AssertionError(f"no button {label!r} in the answer {self.text[:80]!r} or with it")

    def message(self, starts_with: str) -> Posted:
        """The message posted with this answer whose text starts with ``starts_with``."""
        for posted in self.posted:
            if posted.text.startswith(starts_with):
                return posted
        raise AssertionError(f"no message starting {starts_with!r} was posted with the answer")


class SlackChat:
    """People typing to and clicking in the app behind ``url``, in ``slack``."""

    def __init__(self, slack: SlackEmulator, url: str, channel: str = DEFAULT_CHANNEL_ID) -> None:
        self.slack = slack
        self.channel = channel
        self.client = SignedClient(url)

    def ops(self, text: str, *, as_: str, channel: str | None = None) -> Seen:
        """``as_`` types ``/ops <text>``."""
        return self.command("/ops", text, as_=as_, channel=channel)

    def toil(self, text: str, *, as_: str, channel: str | None = None) -> Seen:
        """``as_`` types ``/toil <text>``."""
        return self.command("/toil", text, as_=as_, channel=channel)

    def command(self, command: str, text: str, *, as_: str, channel: str | None = None) -> Seen:
        channel = channel or self.channel
        before = self._seen(channel)
        url = self.slack.new_response_url(channel=channel, user=as_)
        names = {u.name: u.id for u in list(self.slack.workspace.users.values())}
        text = as_slack_sends(text, command in escaping_commands(), names)
        response = self.client.post(
            slash_command_body(command, text, user_id=as_, channel_id=channel, response_url=url)
        )
        assert 200 == response.status_code, response.text
        ack: dict[str, Any] = response.json() if response.text.strip() else {}
        return Seen(
            self,
            str(ack.get("text", "")),
            ack.get("blocks"),
            ack.get("response_type"),
            channel,
            self._new(channel, before),
        )

    def click(
        self, button: dict[str, Any], *, as_: str, channel: str, message: Message | None
    ) -> Seen:
        """Press ``button`` (of ``message``, or of an answer) as ``as_``; returns the answer the
        app sends to the click's response_url."""
        before = self._seen(channel)
        url = self.slack.new_response_url(
            kind="actions", channel=channel, user=as_, message_ts=message.ts if message else None
        )
        fields: dict[str, Any] = {"user_id": as_, "channel_id": channel, "response_url": url}
        if message is not None:
            fields.update(message_ts=message.ts, message=message.to_api())
        body = block_actions_body(
            button["action_id"], button.get("value", ""), button_text=_label(button), **fields
        )
        response = self.client.post(body)
        assert 200 == response.status_code, response.text
        answer = self.slack.wait_for(
            lambda: next((p for p in self.slack.responses if p.url == url), None), TIMEOUT
        )
        return Seen(
            self,
            str(answer.body.get("text", "")),
            answer.body.get("blocks"),
            answer.body.get("response_type"),
            channel,
            self._new(channel, before),
        )

    def message(self, starts_with: str, timeout: float = TIMEOUT) -> Posted:
        """The bot's message in the channel whose text starts with ``starts_with``, once there."""
        found = self.slack.wait_for(
            lambda: next(
                (
                    m
                    for m in self.slack.messages(self.channel)
                    if m.user == BOT_USER_ID and m.text.startswith(starts_with)
                ),
                None,
            ),
            timeout,
        )
        return Posted(self, found.channel, found.ts)

    def _seen(self, channel: str) -> set[str]:
        return {m.ts for m in self.slack.messages(channel)}

    def _new(self, channel: str, before: set[str]) -> tuple[Posted, ...]:
        return tuple(
            Posted(self, channel, m.ts)
            for m in self.slack.messages(channel)
            if m.ts not in before and m.user == BOT_USER_ID
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SlackChat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _find(buttons: list[dict[str, Any]], label: str, where: str) -> dict[str, Any]:
    for button in buttons:
        if _label(button) == label:
            return button
    labels = [_label(b) for b in buttons]
    raise AssertionError(f"no button {label!r} in {where}; there are {labels}")
