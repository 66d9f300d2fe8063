"""Requests into a Bolt HTTP endpoint, built and signed the way Slack builds and signs them.

    body = slash_command_body(command="/ops", text="status web", response_url=url)
    with SignedClient("http://127.0.0.1:8000/slack/events", SECRET) as slack:
        response = slack.post(body)

Faithful: the signature (`X-Slack-Signature: v0=` HMAC-SHA256 of
"v0:{timestamp}:{raw body}" keyed with the signing secret,
`X-Slack-Request-Timestamp` in whole seconds), the encodings (slash commands
form-encoded, interactions form-encoded as `payload=<json>`, events as JSON),
the fields of each body, `X-Slack-Retry-Num`/`X-Slack-Retry-Reason` on
redeliveries.
Simplified: single-workspace payloads (no enterprise grid fields), a fixed
verification token, and a minimal `message` in block_actions unless given one.

The `*_payload` builders return the decoded form, which is also what a Socket
Mode envelope carries (`emulator.socket_send("slash_commands", payload)`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.slack.model import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
)

DEFAULT_SIGNING_SECRET = "test-signing-secret"  # noqa: S105 (a fake for tests)
VERIFICATION_TOKEN = "verification-token"  # noqa: S105 (Slack's deprecated body token)
STALE_AFTER = 5 * 60  # seconds; Bolt (slack_sdk's SignatureVerifier) refuses older requests
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
# Defaults for bodies built without a response_url: loopback port 9 (discard), so a
# stray respond() fails fast instead of reaching hooks.slack.com. Tests that look at
# responses pass `emulator.new_response_url()`.
UNUSED_COMMAND_URL = "http://127.0.0.1:9/commands/T0TOIL/0/unused"
UNUSED_ACTION_URL = "http://127.0.0.1:9/actions/T0TOIL/0/unused"


def signature(secret: str, timestamp: int | str, body: str | bytes) -> str:
    """`X-Slack-Signature` for `body` sent at `timestamp`."""
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    base = f"v0:{timestamp}:{raw}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
    }


@dataclass(frozen=True)
class SlackBody:
    """A request body as Slack sends it, with its content type and decoded payload."""

    raw: str
    content_type: str
    payload: dict[str, Any]


def _trigger_id() -> str:
    return f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def _form(fields: dict[str, str]) -> SlackBody:
    return SlackBody(urlencode(fields), "application/x-www-form-urlencoded", fields)


# ------------------------------------------------------------- slash commands


def slash_command_payload(
    command: str = "/ops",
    text: str = "",
    *,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = "alice",
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    response_url: str = UNUSED_COMMAND_URL,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command invocation, as strings (they travel form-encoded)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }


def slash_command_body(command: str = "/ops", text: str = "", **fields: Any) -> SlackBody:
    """A slash command POST body (application/x-www-form-urlencoded)."""
    return _form(slash_command_payload(command, text, **fields))


# --------------------------------------------------------------- interactions


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = "alice",
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    message_ts: str = "1700000000.000100",
    response_url: str = UNUSED_ACTION_URL,
    block_id: str = "actions",
    button_text: str = "Click",
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `block_actions` payload for a button clicked in a message the bot posted."""
    action_ts = f"{time.time():.6f}"
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": message or _message(message_ts),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }


def _message(ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "ts": ts,
        "text": "",
        "team": TEAM_ID,
    }


def block_actions_body(action_id: str, value: str = "", **fields: Any) -> SlackBody:
    """A block_actions POST body: form-encoded, one `payload` field holding JSON."""
    payload = block_actions_payload(action_id, value, **fields)
    raw = urlencode({"payload": json.dumps(payload)})
    return SlackBody(raw, "application/x-www-form-urlencoded", payload)


# --------------------------------------------------------------------- events


def event_payload(
    event: dict[str, Any], *, event_id: str | None = None, event_time: int | None = None
) -> dict[str, Any]:
    """The `event_callback` envelope around `event` (Events API)."""
    when = int(time.time()) if event_time is None else event_time
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": when,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


def event_body(event: dict[str, Any], **fields: Any) -> SlackBody:
    """An Events API POST body (application/json)."""
    payload = event_payload(event, **fields)
    return SlackBody(json.dumps(payload), "application/json", payload)


def app_home_opened_event(
    user: str = DEFAULT_USER_ID, *, channel: str = "D0ALICE", tab: str = "home"
) -> dict[str, Any]:
    """The `app_home_opened` event a user triggers by opening the app's Home tab."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def url_verification_body(challenge: str) -> SlackBody:
    """The handshake Slack sends when a Request URL is saved."""
    payload = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return SlackBody(json.dumps(payload), "application/json", payload)


# --------------------------------------------------------------------- client


class SignedClient:
    """Posts bodies to a Bolt endpoint with Slack's headers and signature (httpx, no proxies)."""

    def __init__(
        self, url: str, signing_secret: str = DEFAULT_SIGNING_SECRET, *, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self._http = httpx.Client(timeout=timeout, trust_env=False)

    def post(
        self,
        body: SlackBody,
        *,
        timestamp: int | None = None,
        stale: bool = False,
        bad_signature: bool = False,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send `body`; `stale` dates it past Slack's 5 minutes, `bad_signature` signs wrongly."""
        ts = int(time.time()) if timestamp is None else timestamp
        if stale:
            ts -= STALE_AFTER + 60
        secret = self.signing_secret + ("-wrong" if bad_signature else "")
        sent = {"Content-Type": body.content_type, "User-Agent": USER_AGENT}
        sent.update(signed_headers(secret, body.raw, ts))
        if retry_num is not None:
            sent["X-Slack-Retry-Num"] = str(retry_num)
            sent["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        sent.update(headers or {})
        return self._http.post(self.url, content=body.raw.encode("utf-8"), headers=sent)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SignedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
