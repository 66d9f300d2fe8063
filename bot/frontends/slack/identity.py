"""Who the bot is in Slack, known without asking Slack at every start.

Bolt asks Slack (``auth.test``) when an app is built unless told otherwise, and a
gunicorn worker that fails to build its app stops the whole server: a worker
restarted while Slack is down took `toilbot serve` with it. So the app is built
with an ``authorize`` function instead: it asks Slack once, keeps the answer in this
process and in Redis, and when Slack cannot be reached it uses the answer kept
from an earlier start (or, on the very first start, the token alone: the bot's
user id is then learnt at the next request that can reach Slack).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

KEY = "toilbot:slack:identity"  # STRING, JSON: the last auth.test answer
ASK_TIMEOUT = 3  # seconds: a request never waits long on this question
ASK_AGAIN = 60.0  # seconds between questions while Slack cannot answer
_FIELDS = ("team_id", "team", "url", "user_id", "user", "bot_id", "enterprise_id")


class Identity:
    """The bot's identity for every request, from Slack once, or as kept."""

    def __init__(self, client: WebClient, r: redis.Redis) -> None:
        self.client = client
        self.r = r
        self._known: dict[str, Any] | None = None
        self._asked_at = -ASK_AGAIN
        self._lock = threading.Lock()

    def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """Bolt's ``authorize`` (its arguments are passed by name)."""
        known = self.known()
        return AuthorizeResult(
            enterprise_id=known.get("enterprise_id", enterprise_id),
            team_id=known.get("team_id", team_id),
            team=known.get("team"),
            url=known.get("url"),
            bot_user_id=known.get("user_id"),
            bot_id=known.get("bot_id"),
            bot_token=self.client.token,
        )

    def known(self) -> dict[str, Any]:
        with self._lock:
            unknown = self._known is None or "user_id" not in self._known
            if unknown and time.monotonic() - self._asked_at >= ASK_AGAIN:
                self._asked_at = time.monotonic()
                self._known = self._ask() or self._kept() or {}
            return self._known or {}

    def _ask(self) -> dict[str, Any] | None:
        quick = WebClient(
            token=self.client.token, base_url=self.client.base_url, timeout=ASK_TIMEOUT
        )
        try:
            answer = quick.auth_test()
        except SlackApiError as exc:
            log.warning("Slack did not say who the bot is (%s)", exc.response.get("error"))
            return None
        except Exception as exc:  # unreachable: the kept answer serves
            log.warning("Slack could not be reached to say who the bot is (%s)", exc)
            return None
        found = {k: answer.get(k) for k in _FIELDS if answer.get(k) is not None}
        try:
            self.r.set(KEY, json.dumps(found))
        except redis.RedisError as exc:
            log.warning("could not keep the bot's Slack identity in Redis (%s)", exc)
        return found

    def _kept(self) -> dict[str, Any] | None:
        try:
            raw = self.r.get(KEY)
        except redis.RedisError:
            return None
        if raw is None:
            return None  # not cached: asked again at the next request
        kept: dict[str, Any] = json.loads(raw)
        return kept


def authorizer(client: WebClient, r: redis.Redis) -> Callable[..., AuthorizeResult]:
    """Bolt's ``authorize``: a plain function (Bolt passes arguments by their names, and
    would take a method's ``self`` for one of them)."""
    identity = Identity(client, r)

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return identity.authorize(enterprise_id, team_id)

    return authorize
