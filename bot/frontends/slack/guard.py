"""The door in front of Bolt for `toilbot serve`: verify, parse, check, recognize replays.

    request -> signed and fresh? (else 401) -> a body Slack sends? (else 400)
            -> the fields our listeners read? (else 400) -> seen before? (answered, not run)
            -> Bolt

Bolt builds its request (parsing the body: `json.loads`) before its own
signature check runs, and slack_sdk's verifier calls `int()` on the timestamp
header, so a forged request with a malformed body or timestamp raised inside
Bolt (HTTP 500, a traceback in the log). Here nothing is parsed before the
signature is checked, and nothing that is parsed can throw past this module.
Bolt still verifies again behind it.

Replays: Slack does not retry slash commands or interactions, and its Events
API retries are new requests (`X-Slack-Retry-Num`, de-duplicated by
`event_id` in the app). A second request with the same `X-Slack-Signature` is
therefore a copy of one already received: the signature is an HMAC of the
timestamp and the whole body, so it names exactly one request, it exists for
every signed request (no payload field needed), it is checked before it is
trusted, and a replayer cannot change it. It is remembered until the
timestamp is too old for the verifier to accept (up to five minutes either
side of our clock, so up to ten minutes after first sight), plus a margin.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import redis

from bot.frontends.slack import text as slack_text
from bot.frontends.slack.timing import KIND, log_fields, request_kind
from bot.platform import logs
from bot.platform.errors import ToilbotError
from bot.platform.store import Keys

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)
WINDOW = 5 * 60  # seconds either side of now that a signed timestamp is accepted (as Bolt)
MARGIN = 60  # seconds a replay key outlives the window
MAX_BODY = 1 << 20  # bytes; Slack's payloads are far smaller
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def replay_key(signature: str) -> str:
    """Redis STRING with TTL: a signed request already received, by its signature."""
    return Keys.slack_request(hashlib.sha256(signature.encode()).hexdigest())


class RequestRefused(ToilbotError):
    """A request answered here, without reaching Bolt."""

    def __init__(self, status: str, body: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.body, self.reason = status, body, reason


def _bad(reason: str) -> RequestRefused:
    return RequestRefused("400 Bad Request", slack_text.request_refused(reason), reason)


class SlackGate:
    """WSGI middleware: only signed, well-formed, first-seen requests reach the Bolt app."""

    def __init__(
        self,
        app: WSGIApplication,
        r: redis.Redis,
        signing_secret: str,
        path: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.r, self.secret, self.path, self.clock = app, r, signing_secret, path, clock

    def __call__(self, environ: WSGIEnvironment, start: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self.path:
            return self.app(environ, start)
        try:
            raw, body = self._admit(environ)
        except RequestRefused as refused:
            log.info("slack request refused: %s", refused.reason)
            return _answer(start, refused.status, "text/plain; charset=utf-8", refused.body)
        except redis.RedisError as exc:
            log.warning("slack request not taken, Redis unavailable: %s", exc)
            return _answer(start, "503 Service Unavailable", "text/plain", "try again")
        environ[KIND] = request_kind(body) if body is not None else "replay"
        logs.bind(**log_fields(body or {}))
        if body is None:  # a replay
            return _answer(start, "200 OK", JSON, json.dumps(_replay_answer()))
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        return self.app(environ, start)

    def _admit(self, environ: WSGIEnvironment) -> tuple[bytes, dict[str, Any] | None]:
        """The raw body and its parsed form; None as the form for a replay."""
        raw = _read(environ)
        stamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        now = self.clock()
        if not self._signed(raw, stamp, signature, now):
            raise RequestRefused("401 Unauthorized", slack_text.request_unsigned(), "bad signature")
        body = _parse(raw, str(environ.get("CONTENT_TYPE", "")))
        missing = missing_field(body)
        if missing:
            raise _bad(f"no {missing}")
        ttl = int(stamp) + WINDOW - int(now) + MARGIN
        if not self.r.set(replay_key(signature), 1, nx=True, ex=max(ttl, 1)):
            log.info("slack request replayed (signed at %s): not run again", stamp)
            return raw, None
        return raw, body

    def _signed(self, raw: bytes, stamp: str, signature: str, now: float) -> bool:
        if not self.secret:  # no secret, no way to tell Slack from anyone
            return False
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return False
        if abs(now - int(stamp)) > WINDOW:
            return False
        base = b"v0:" + stamp.encode() + b":" + raw
        expected = "v0=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _replay_answer() -> dict[str, str]:
    """What the sender of a copy sees (a slash command shows it; other kinds ignore it)."""
    return {"response_type": "ephemeral", "text": slack_text.already_received()}


def _answer(start: StartResponse, status: str, content_type: str, body: str) -> list[bytes]:
    data = body.encode()
    start(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def _read(environ: WSGIEnvironment) -> bytes:
    length = str(environ.get("CONTENT_LENGTH") or "0")
    if not length.isdigit():
        raise _bad("a Content-Length that is not a number")
    if int(length) > MAX_BODY:
        raise _bad("a body over 1 MiB")
    data = environ["wsgi.input"].read(int(length)) if int(length) else b""
    return bytes(data)


def _parse(raw: bytes, content_type: str) -> dict[str, Any]:
    """The body as Bolt will parse it; RequestRefused if Slack could not have sent it."""
    kind = content_type.split(";")[0].strip().lower()
    if not raw:
        raise _bad("no body")
    try:
        decoded = raw.decode("utf-8")
        if kind == JSON or decoded.startswith("{"):
            body = json.loads(decoded)
        elif kind == FORM:
            form = dict(parse_qsl(decoded, keep_blank_values=True))
            body = (
                json.loads(form["payload"]) if "payload" in decoded and "payload" in form else form
            )
        else:
            raise _bad(f"a content type Slack does not send ({kind or 'none'!r})")
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad("a body that is not well-formed") from None
    if not isinstance(body, dict):
        raise _bad("a body that is not a JSON object")
    return body


def _has(body: Any, *path: str | int) -> bool:
    """Whether body[path...] is a non-empty string."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(body, list) or len(body) <= step:
                return False
        elif not isinstance(body, dict):
            return False
        body = body[step] if isinstance(step, int) else body.get(step)
    return isinstance(body, str) and body != ""


def missing_field(body: dict[str, Any]) -> str | None:
    """The first field our listeners read that a signed body lacks, or None."""
    if "command" in body:
        return None if _has(body, "user_id") else "user_id"
    kind = body.get("type")
    if kind == "block_actions":
        for path in (("user", "id"), ("actions", 0, "action_id"), ("actions", 0, "value")):
            if not _has(body, *path):
                return ".".join(str(p) for p in path)
        return None
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not _has(event, "type"):
            return "event.type"
        if event["type"] == "app_mention" or (
            event["type"] == "message" and not event.get("bot_id") and not event.get("subtype")
        ):
            for field in ("user", "channel", "ts"):
                if not _has(event, field):
                    return f"event.{field}"
        if event["type"] == "app_home_opened" and not _has(event, "user"):
            return "event.user"
        return None
    if "ssl_check" in body:
        return None  # Slack checking the certificate of a slash command's URL
    return None if _has(body, "type") else "command or type"
