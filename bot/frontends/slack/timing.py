"""Per Slack request: its ack time measured, its log lines tagged.

Wraps the gate (``guard.SlackGate``) for POSTs to the events path: a request
id for every log line written while it is handled (JSON logs), and the time
until the answer starts (Slack's three-second ack) in
``toilbot_slack_ack_seconds{kind}``; the gate names the kind once it has read
the body (``slash_command``, ``interaction``, ``event``, ``other``), and a
request it refuses counts as ``refused``. In Socket Mode
(``TimedSocketModeHandler``) the time is from the envelope's arrival to the
ack sent back over the socket.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.platform import logs
from bot.platform.metrics import metrics

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

KIND = "toilbot.kind"  # environ key the gate sets
SOCKET_KINDS = {
    "slash_commands": "slash_command",
    "interactive": "interaction",
    "events_api": "event",
}


def timed_acks(app: WSGIApplication, path: str) -> WSGIApplication:
    def timed(environ: WSGIEnvironment, start: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != path:
            return app(environ, start)
        began = time.perf_counter()

        def start_timed(status: str, headers: Any, exc_info: Any = None) -> Any:
            kind = str(environ.get(KIND, "refused"))
            metrics().ack_seconds.labels(kind).observe(time.perf_counter() - began)
            return start(status, headers, exc_info)

        with logs.bound(request_id=uuid.uuid4().hex[:16]):
            return app(environ, start_timed)

    return timed


def request_kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "slash_command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    if kind in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action"):
        return "interaction"
    return "other"


def log_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Who asked for what, for the log lines of this request."""
    if "command" in body:
        return {"user": body.get("user_id"), "command": f"{body['command']} {body.get('text', '')}"}
    found = body.get("event")
    event: dict[str, Any] = found if isinstance(found, dict) else {}
    user = body.get("user")
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    return {
        "user": user.get("id") if isinstance(user, dict) else event.get("user"),
        "command": action.get("action_id") if isinstance(action, dict) else event.get("type"),
    }


class TimedSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, each envelope timed and its log lines tagged."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        began = time.perf_counter()
        with logs.bound(request_id=req.envelope_id):
            super().handle(client, req)
        kind = SOCKET_KINDS.get(req.type, "other")
        metrics().ack_seconds.labels(kind).observe(time.perf_counter() - began)
