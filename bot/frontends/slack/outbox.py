"""Delivery to Slack, written once: post or edit now, or keep it in the outbox for later.

:func:`deliver` is how toilbot sends what must not be lost (a job's final
result, a schedule's notice, a still-working DM, a weekly DM). It calls the
Web API at once; when Slack is rate limiting, failing (5xx) or unreachable,
the call is kept in the outbox and :func:`deliver_due` makes it later. An
answer that no retry will change (no such channel, a user who cannot get a
DM) is not kept: it is logged and returned, so the caller can say so. A
message whose blocks Slack refuses (``msg_blocks_too_long``, ``invalid_blocks``)
is sent again as short text without blocks rather than dropped.

The outbox is a Redis sorted set of pending Web API calls scored by when to
try next, with exponential backoff. Any process with a Slack client drains it;
a delivery is taken by exactly one (ZREM decides). :func:`put` keeps a call
without trying it now (approval notices made by a process that has no client).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:  # slack_sdk costs ~70 ms to import: only where a delivery is tried
    from slack_sdk import WebClient

from bot.platform.store import Keys, texts

log = logging.getLogger(__name__)
MAX_BACKOFF = 300
# Slack's words for "try again later", whatever the HTTP status they come with.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Slack's words for "these blocks, never": the message goes again as text only.
BAD_BLOCKS = frozenset({"msg_blocks_too_long", "invalid_blocks"})
SHORT_TEXT = 1000  # characters of the text-only message when no fallback text is given
POST = "chat.postMessage"
EVENT_TYPE = "toilbot_message"  # metadata of a keyed post: {"key": ...}
LOOKBACK = 100  # newest messages of a channel searched for a post whose answer was lost


class Delivered(StrEnum):
    SENT = "sent"  # Slack took it now
    KEPT = "kept"  # Slack busy or unreachable: in the outbox, delivered by deliver_due
    REFUSED = "refused"  # Slack said no for good: dropped, with a log line


@dataclass(frozen=True)
class Delivery:
    outcome: Delivered
    answer: dict[str, Any] = field(default_factory=dict)  # Slack's answer when SENT
    error: str = ""  # why it was not sent now: Slack's error code, or the exception
    text_only: bool = False  # SENT without its blocks, which Slack refused (``error`` says why)

    @property
    def sent(self) -> bool:
        return self.outcome is Delivered.SENT


def retryable(exc: Exception) -> bool:
    """Whether the same call may go through later: a rate limit, a 5xx, Slack unreachable."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return status == 429 or status >= 500 or _error(exc) in TRANSIENT
    # Other SlackClientErrors are requests the client cannot make; anything else
    # (connection refused, timeouts, a connection reset) means Slack was not reached.
    return not isinstance(exc, SlackClientError)


def deliver(
    r: redis.Redis,
    client: WebClient,
    method: str,
    args: dict[str, Any],
    *,
    about: str,
    fallback: str | None = None,
    key: str | None = None,
) -> Delivery:
    """Call ``method`` (chat.postMessage, chat.update...) now, or keep it for later.

    ``about`` names the delivery in log lines ("job 12: result"). If Slack refuses the
    blocks, the message is sent as ``fallback`` (default: the start of ``args["text"]``)
    without blocks. A post with a ``key`` is made at most once: the key travels in the
    message's metadata, and a post whose answer was lost (a timeout, a 5xx) is looked for
    before it is made again (see :func:`already_posted`).
    """
    if key is not None and method == POST:
        args = {**args, "metadata": {"event_type": EVENT_TYPE, "event_payload": {"key": key}}}
    try:
        answer = client.api_call(method, json=args)
    except Exception as exc:
        error = _error(exc)
        if key is not None and method == POST and _maybe_applied(exc):
            try:
                found = _find(client, args)
            except Exception:  # Slack still unreachable: kept, looked for again before a retry
                found = None
            if found is not None:
                log.warning("%s: Slack took it but its answer was lost (%s)", about, error)
                return Delivery(Delivered.SENT, found)
        if retryable(exc):
            log.warning("%s: Slack did not take it yet (%s); kept in the outbox", about, error)
            put(r, method, args)
            return Delivery(Delivered.KEPT, error=error)
        plain = _text_only(method, args, error, fallback)
        if plain is None:
            log.error("%s: Slack refused it (%s); dropped", about, error)
            return Delivery(Delivered.REFUSED, error=error)
        log.warning("%s: Slack refused its blocks (%s); sent as text only", about, error)
        again = deliver(r, client, method, plain, about=about)
        return replace(again, text_only=True, error=again.error or error)
    data = answer.data
    return Delivery(Delivered.SENT, dict(data) if isinstance(data, dict) else {})


def post_once(client: WebClient, args: dict[str, Any], key: str) -> dict[str, Any]:
    """Post now, keyed, never kept: Slack's answer (``channel``, ``ts``), also when the
    answer was lost but the message is there. Raises when it was not posted."""
    args = {**args, "metadata": {"event_type": EVENT_TYPE, "event_payload": {"key": key}}}
    try:
        answer = client.chat_postMessage(**args)
    except Exception as exc:
        if not _maybe_applied(exc):
            raise
        found = _find(client, args)
        if found is None:
            raise
        return found
    data = answer.data
    return dict(data) if isinstance(data, dict) else {}


def _text_only(
    method: str, args: dict[str, Any], error: str, fallback: str | None
) -> dict[str, Any] | None:
    """The same message as text without blocks, if Slack refused only its blocks."""
    if error not in BAD_BLOCKS or not args.get("blocks") or not method.startswith("chat."):
        return None
    text = fallback if fallback is not None else str(args.get("text") or "")[:SHORT_TEXT]
    plain = {**args, "text": text or error}
    if method == "chat.update":
        plain["blocks"] = []  # an empty list clears the blocks of the message edited
    else:
        plain.pop("blocks")
    return plain


def put(r: redis.Redis, method: str, args: dict[str, Any], attempt: int = 0) -> None:
    """Keep a Web API call for :func:`deliver_due`: due now, or after a backoff on a retry."""
    item = {"id": uuid.uuid4().hex, "method": method, "args": args, "attempt": attempt}
    delay = 0 if attempt == 0 else min(MAX_BACKOFF, 2**attempt)
    r.zadd(Keys.slack_outbox, {json.dumps(item): time.time() + delay})


def pending(r: redis.Redis) -> int:
    return int(r.zcard(Keys.slack_outbox))


def deliver_due(r: redis.Redis, client: WebClient, limit: int = 20) -> int:
    """Try every delivery that is due; returns how many went through."""
    delivered = 0
    for raw in texts(r.zrangebyscore(Keys.slack_outbox, 0, time.time(), start=0, num=limit)):
        if not r.zrem(Keys.slack_outbox, raw):
            continue  # another worker took it
        item = json.loads(raw)
        try:
            if _key(item["args"]) and item["method"] == POST:
                found = _find(client, item["args"])  # an earlier try may have been taken
                if found is not None:
                    update = {k: v for k, v in item["args"].items() if k != "metadata"}
                    update.pop("thread_ts", None)
                    update.update(channel=found["channel"], ts=found["ts"])
                    client.api_call("chat.update", json=update)
                    delivered += 1
                    continue
            client.api_call(item["method"], json=item["args"])
            delivered += 1
        except Exception as exc:
            if not retryable(exc):
                plain = _text_only(item["method"], item["args"], _error(exc), None)
                if plain is None:
                    log.error("dropping Slack delivery %s: %s", item["method"], _error(exc))
                else:  # blocks refused: as text, now or (kept) later
                    log.warning("Slack refused the blocks of %s (%s)", item["method"], _error(exc))
                    put(r, item["method"], plain, item["attempt"])
                continue
            log.warning("Slack did not take %s (%s); will retry", item["method"], _error(exc))
            put(r, item["method"], item["args"], item["attempt"] + 1)
    return delivered


def _maybe_applied(exc: Exception) -> bool:
    """Slack may have made the call although the client heard no yes: a lost answer."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    if isinstance(exc, SlackApiError):
        return bool(exc.response.status_code >= 500)
    return not isinstance(exc, SlackClientError)


def _key(args: dict[str, Any]) -> str | None:
    metadata = args.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key else None


def _find(client: WebClient, args: dict[str, Any]) -> dict[str, Any] | None:
    """The message a keyed post made, if Slack has it: {"channel", "ts"}; else None.

    Raises what the lookup raises (Slack still unreachable): the caller keeps the post.
    """
    key, channel = _key(args), str(args.get("channel") or "")
    if key is None or not channel or channel.startswith("#"):
        return None  # history is read by channel id only
    if args.get("thread_ts"):
        answer = client.conversations_replies(
            channel=channel, ts=args["thread_ts"], limit=200, include_all_metadata=True
        )
    else:
        answer = client.conversations_history(
            channel=channel, limit=LOOKBACK, include_all_metadata=True
        )
    for message in answer.get("messages") or []:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if str(payload.get("key")) == key:
            return {"channel": channel, "ts": str(message["ts"])}
    return None


def _error(exc: Exception) -> str:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return str(exc)
