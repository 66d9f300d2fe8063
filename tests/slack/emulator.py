"""A local Slack for tests: Web API, file uploads, response_urls and Socket Mode on 127.0.0.1.

    with SlackEmulator() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        client.chat_postMessage(channel="C0OPS", text="deploying")
        assert slack.messages("C0OPS")[0].text == "deploying"

One threaded HTTP server on a free loopback port serves:

* `/api/<method>`: the Web API (`webapi.py`), form-encoded or JSON bodies, the
  token in `Authorization: Bearer …` (or a form `token` field, as Slack allows);
* `/upload/v1/<id>`: the upload URLs `files.getUploadURLExternal` hands out;
* `/commands/…` and `/actions/…`: response_urls from `new_response_url()`;
* `/link/?ticket=…`: the Socket Mode WebSocket `apps.connections.open` points to;
* `/files/<id>/<name>`: a completed upload's `url_private` (bot token required).

Faithful: HTTP 200 with `{"ok": false, "error": …}` for API errors, HTTP 429
with `Retry-After` and `{"ok": false, "error": "ratelimited"}` when rate limited,
503/500 for outages and server errors (what slack_sdk's retry handlers key on),
`missing_scope` for a call without the scope the manifest grants,
`x-oauth-scopes` and `x-slack-req-id` headers, Socket Mode's `hello` on connect,
envelopes with `envelope_id`/`type`/`payload`/`accepts_response_payload`
(plus `retry_attempt`/`retry_reason` for events), acks matched by envelope id,
a slash command's ack payload shown to the user like Slack does, server pings,
`disconnect` messages and close frames.
Simplified: plain HTTP and `ws://` (slack_sdk only skips TLS because the port
is not 443), a single workspace and app, Socket Mode envelopes go to the newest
connection and are never redelivered, an outage affects `/api/` only.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import secrets
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from tests.slack import webapi
from tests.slack.model import (
    APP_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_CHANNEL_ID,
    DEFAULT_USER_ID,
    Call,
    Channel,
    Ephemeral,
    Home,
    Message,
    ResponsePost,
    SocketAck,
    UploadedFile,
    User,
)
from tests.slack.websocket import CLOSE_GOING_AWAY, WebSocketConnection, accept_key
from tests.slack.workspace import ResponseTarget, Workspace

log = logging.getLogger(__name__)
T = TypeVar("T")

_SERVER_ERRORS = {
    429: "ratelimited",
    500: "fatal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


@dataclass
class Fault:
    """An injected failure for the next `times` calls of one method (or "*": any)."""

    status: int
    error: str
    retry_after: int | None
    times: int
    delay: float


@dataclass
class _Envelope:
    type: str
    payload: dict[str, Any]


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(status: int, body: dict[str, Any], **headers: str) -> _Reply:
    return _Reply(status, json.dumps(body).encode("utf-8"), headers=headers)


def _text_reply(status: int, text: str) -> _Reply:
    return _Reply(status, text.encode("utf-8"), "text/plain; charset=utf-8")


class SlackEmulator:
    """A faithful-enough Slack on 127.0.0.1 for end-to-end tests of bots.

    Start it with `with SlackEmulator() as slack:` (or `start()`/`stop()`).
    Point `slack_sdk.WebClient(base_url=slack.base_url)` at it; Socket Mode
    clients find the WebSocket through `apps.connections.open`.

    `scopes`: what the bot tokens were granted; by default the bot scopes of
    slack/manifest.yml. A call without the scope its method needs gets
    `missing_scope` (tests/slack/scopes.py).

    `ping_interval`: the emulator pings Socket Mode clients this often (Slack
    pings too). Each ping also wakes slack_sdk's blocking `recv` (3 s timeout),
    which `close()` has to wait for; None turns pinging off.
    """

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        extra_bot_tokens: Iterable[str] = (),
        scopes: Iterable[str] | None = None,
        ping_interval: float | None = 0.1,
    ) -> None:
        self.workspace = Workspace(bot_tokens={bot_token, *extra_bot_tokens}, app_token=app_token)
        if scopes is not None:
            self.workspace.scopes = tuple(scopes)
        self.bot_token = bot_token
        self.app_token = app_token
        self.ping_interval = ping_interval
        self._faults: dict[str, collections.deque[Fault]] = collections.defaultdict(
            collections.deque
        )
        self._outage = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: list[WebSocketConnection] = []
        self._envelopes: dict[str, _Envelope] = {}
        self._connections: set[socket.socket] = set()
        self._pongs: list[bytes] = []

    # --------------------------------------------------------------- lifecycle

    def start(self) -> SlackEmulator:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        self._server = server
        self.workspace.root_url = f"http://127.0.0.1:{server.server_address[1]}/"
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.01,), name="slack-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        for ws in self._socket_list():
            ws.abort()
        self._server.shutdown()
        with self.workspace.lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server root, e.g. "http://127.0.0.1:54321/"."""
        return self.workspace.root_url

    @property
    def base_url(self) -> str:
        """What `WebClient(base_url=...)` wants: "http://127.0.0.1:<port>/api/"."""
        return self.url + "api/"

    # ----------------------------------------------------------- configuration

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        real_name: str = "",
        tz: str = "America/Los_Angeles",
        tz_label: str | None = None,
        tz_offset: int | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> User:
        """Add or replace a member; `tz_label`/`tz_offset` default to what `tz` says today."""
        user = User(
            user_id,
            name or user_id.lower(),
            real_name=real_name,
            tz=tz,
            tz_label=tz_label,
            tz_offset=tz_offset,
            email=email,
            is_admin=is_admin,
            is_bot=is_bot,
            deleted=deleted,
        )
        return self.workspace.add_user(user)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
        members: Iterable[str] | None = None,
    ) -> Channel:
        """Add or replace a channel; `members=None` means everyone is in it."""
        channel = Channel(
            channel_id,
            name,
            is_private=is_private,
            is_archived=is_archived,
            is_member=is_member,
            members=set(members) if members is not None else None,
        )
        return self.workspace.add_channel(channel)

    def set_usergroup(self, usergroup_id: str, users: Iterable[str]) -> None:
        """What `usergroups.users.list(usergroup=usergroup_id)` answers."""
        with self.workspace.lock:
            self.workspace.usergroups[usergroup_id] = list(users)
            self.workspace.changed()

    def revoke_token(self, token: str) -> None:
        """From now on `token` gets `token_revoked`."""
        with self.workspace.lock:
            self.workspace.revoked.add(token)

    def post_user_message(
        self, channel: str, text: str, *, user: str = DEFAULT_USER_ID, thread_ts: str | None = None
    ) -> str:
        """A message a person wrote (the bot cannot update or delete it); returns its ts."""
        with self.workspace.lock:
            if channel not in self.workspace.channels:
                raise KeyError(f"no channel {channel}: add_channel() it first")
            ts = self.workspace.clock.next()
            self.workspace.post(
                Message(channel, ts, text, user=user, bot_id=None, thread_ts=thread_ts)
            )
        return ts

    def new_response_url(
        self,
        *,
        channel: str | None = DEFAULT_CHANNEL_ID,
        user: str | None = DEFAULT_USER_ID,
        message_ts: str | None = None,
        kind: str = "commands",
    ) -> str:
        """A response_url for a slash command (`kind="commands"`) or an action ("actions").

        Posts to it are recorded in `responses` and applied: in_channel → a
        message in `channel`; replace_original/delete_original → the message at
        `message_ts`; otherwise an ephemeral for `user`.
        """
        return self.workspace.new_response_target(kind, channel, user, message_ts)

    # ----------------------------------------------------------------- faults

    def fail(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make the next `times` calls of `method` ("*" for any) fail.

        429 answers with a `Retry-After: retry_after` header and
        `{"ok": false, "error": "ratelimited"}`; 500/503 with a server error;
        status 200 with `error` makes a plain API error (e.g. "channel_not_found");
        status 200 without one applies the call as usual and answers `delay` seconds
        late (Slack did it, the client timed out before hearing so).
        `delay` holds the answer back that many seconds (client timeouts).
        """
        default = _SERVER_ERRORS.get(status, "internal_error")
        fault = Fault(
            status,
            default if error is None else error,
            retry_after if status == 429 else None,
            times,
            delay,
        )
        with self.workspace.lock:
            self._faults[method].append(fault)

    def set_outage(self, down: bool) -> None:
        """While down, every Web API call answers HTTP 503."""
        with self.workspace.lock:
            self._outage = down

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.set_outage(True)
        try:
            yield
        finally:
            self.set_outage(False)

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.popleft()
                return fault
        return None

    # -------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        """Every request answered, in order (Web API methods, "upload_url", "response_url")."""
        return self.workspace.snapshot(self.workspace.calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """The messages as they are now (updates applied, deletions gone), oldest first."""
        return self.workspace.messages(channel)

    def message(self, channel: str, ts: str) -> Message | None:
        with self.workspace.lock:
            return self.workspace.current(channel, ts)

    def updates(self, channel: str, ts: str) -> list[Message]:
        """Every version of one message: as posted, then after each chat.update."""
        return self.workspace.versions(channel, ts)

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in a thread, oldest first (without the parent)."""
        return [m for m in self.messages(channel) if m.thread_ts == thread_ts and m.ts != thread_ts]

    def dm_channel(self, user: str) -> str | None:
        """The ID of the bot's DM with `user`, once opened."""
        with self.workspace.lock:
            return self.workspace.dms.get(user)

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return self.workspace.snapshot(self.workspace.ephemerals)

    def home(self, user: str) -> dict[str, Any] | None:
        """The App Home view last published for `user` (as views.publish returned it)."""
        home = self.workspace.home(user)
        return home.view if home is not None else None

    def homes(self, user: str) -> list[Home]:
        """Every publish of `user`'s App Home, oldest first."""
        with self.workspace.lock:
            return list(self.workspace.homes.get(user, []))

    @property
    def files(self) -> list[UploadedFile]:
        """Files whose upload completed (files.completeUploadExternal)."""
        return self.workspace.completed_files()

    @property
    def responses(self) -> list[ResponsePost]:
        return self.workspace.snapshot(self.workspace.responses)

    @property
    def socket_acks(self) -> list[SocketAck]:
        return self.workspace.snapshot(self.workspace.socket_acks)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Wait until `predicate()` is truthy (re-checked on every change); return its value.

        The predicate runs outside the emulator's lock and should only read the
        emulator. Raises TimeoutError.
        """
        return self.workspace.wait_until(predicate, timeout)

    # ------------------------------------------------------------- socket mode

    @property
    def socket_connections(self) -> int:
        return len(self._socket_list())

    def _socket_list(self) -> list[WebSocketConnection]:
        with self.workspace.lock:
            self._sockets = [ws for ws in self._sockets if not ws.closed]
            return list(self._sockets)

    def wait_for_socket(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected (and has had its hello)."""
        self.wait_for(lambda: self.socket_connections > 0, timeout)

    def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,
    ) -> str:
        """Push an envelope ("slash_commands", "interactive", "events_api") to the
        newest connected client; returns its envelope_id."""
        self.wait_for_socket(timeout)
        envelope_id = str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = _accepts_response_payload(envelope_type, payload)
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        with self.workspace.lock:
            self._envelopes[envelope_id] = _Envelope(envelope_type, payload)
        sockets = self._socket_list()
        if not sockets or not sockets[-1].send_text(json.dumps(envelope)):
            raise ConnectionError("the Socket Mode client went away before the envelope was sent")
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:
        def find() -> SocketAck | None:
            return next((a for a in self.socket_acks if a.envelope_id == envelope_id), None)

        return self.wait_for(find, timeout)

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `{"type": "disconnect"}`; slack_sdk clients then reconnect."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}}
        for ws in self._socket_list():
            ws.send_text(json.dumps(message))

    def socket_close(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Start a WebSocket close handshake on every connection."""
        for ws in self._socket_list():
            ws.close(code, reason)

    @property
    def pongs(self) -> list[bytes]:
        """Pong payloads clients sent back (to `socket_ping` and the periodic pings)."""
        return self.workspace.snapshot(self._pongs)

    def socket_ping(self, payload: bytes = b"ping") -> None:
        for ws in self._socket_list():
            ws.ping(payload)

    # ------------------------------------------------------ request handling

    def handle_api(self, method: str, request: _ParsedRequest) -> _Reply:
        with self.workspace.lock:
            fault = None if self._outage else self._take_fault(method)
            outage = self._outage
        applied = fault is not None and fault.status == 200 and not fault.error
        if fault is not None and fault.delay and not applied:
            time.sleep(fault.delay)
        if applied:  # Slack did it, but its answer comes late (past the client's timeout)
            reply_body, status = self._dispatch(method, request), 200
            time.sleep(fault.delay if fault is not None else 0.0)
        elif outage:
            reply_body, status = {"ok": False, "error": "service_unavailable"}, 503
        elif fault is not None:
            reply_body, status = {"ok": False, "error": fault.error}, fault.status
        elif request.invalid:
            reply_body, status = {"ok": False, "error": request.invalid}, 200
        else:
            reply_body, status = self._dispatch(method, request), 200
        self._record(method, request.params, request.token, status, reply_body)
        headers = {"x-slack-req-id": secrets.token_hex(16)}
        if fault is not None and fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if request.token in self.workspace.bot_tokens:
            headers["x-oauth-scopes"] = ",".join(self.workspace.scopes)
        elif request.token == self.workspace.app_token:
            headers["x-oauth-scopes"] = "connections:write"
        return _json_reply(status, reply_body, **headers)

    def _dispatch(self, method: str, request: _ParsedRequest) -> dict[str, Any]:
        try:
            return webapi.dispatch(self.workspace, method, request.params, request.token)
        except Exception as e:  # a bug in the emulator: say so instead of dropping the connection
            log.exception("emulator failed on %s", method)
            return {"ok": False, "error": "fatal_error", "emulator_exception": repr(e)}

    def handle_file_download(self, path: str, token: str | None) -> _Reply:
        """`url_private`: the file's bytes for a bot token, as files.slack.com serves them."""
        with self.workspace.lock:
            uploaded = [f for f in self.workspace.files.values() if f.completed]
            found = next((f for f in uploaded if path == f"/files/{f.id}/{f.filename}"), None)
        if token not in self.workspace.bot_tokens or found is None or found.content is None:
            return _text_reply(404, "Not Found")
        return _Reply(200, found.content, "application/octet-stream")

    def handle_upload(self, path: str, body: bytes) -> _Reply:
        upload = self.workspace.receive_upload(path, body)
        status = 200 if upload is not None else 404
        self._record("upload_url", {"path": path, "size": len(body)}, None, status, {})
        return _text_reply(status, f"OK - {len(body)}" if upload is not None else "Not Found")

    def handle_response_url(self, path: str, request: _ParsedRequest) -> _Reply:
        if request.invalid or request.json_body is None:
            self._record("response_url", {"path": path}, None, 400, {})
            return _text_reply(400, "invalid_payload")
        status, text = self.workspace.respond(path, request.json_body, "response_url")
        self._record("response_url", request.json_body, None, status, {"text": text})
        return _text_reply(status, text)

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        token: str | None,
        status: int,
        body: dict[str, Any],
    ) -> None:
        self.workspace.record_call(Call(method, dict(params), token, time.time(), status, body))

    def open_socket(self, ticket: str | None) -> bool:
        with self.workspace.lock:
            if ticket not in self.workspace.socket_tickets:
                return False
            self.workspace.socket_tickets.discard(ticket)
            return True

    def serve_socket(self, ws: WebSocketConnection) -> None:
        hello = {
            "type": "hello",
            "num_connections": self.socket_connections + 1,
            "debug_info": {
                "host": "applink-emulator",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }
        ws.send_text(json.dumps(hello))
        with self.workspace.lock:
            self._sockets.append(ws)
            self.workspace.changed()
        if self.ping_interval:
            ws.keep_pinging(self.ping_interval)
        ws.serve(self._on_socket_text, self._on_pong)
        self._socket_list()
        self.workspace.changed()

    def _on_pong(self, payload: bytes) -> None:
        with self.workspace.lock:
            self._pongs.append(payload)
            self.workspace.changed()

    def _on_socket_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            log.warning("socket mode: not JSON: %r", text)
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        envelope_id, payload = str(message["envelope_id"]), message.get("payload")
        with self.workspace.lock:
            envelope = self._envelopes.get(envelope_id)
            if envelope is not None and envelope.type == "slash_commands" and payload:
                self._show_ack_payload(envelope.payload, payload)
            self.workspace.record_ack(SocketAck(envelope_id, payload, time.time()))

    def _show_ack_payload(self, command: dict[str, Any], payload: dict[str, Any]) -> None:
        """Slack shows a slash command's ack payload to the user (or the channel if in_channel)."""
        target = ResponseTarget(
            command.get("channel_id"), command.get("user_id"), None, time.time()
        )
        self.workspace.apply_response(target, payload, "ack")

    def track(self, conn: socket.socket, open_: bool) -> None:
        with self.workspace.lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def _accepts_response_payload(envelope_type: str, payload: dict[str, Any]) -> bool:
    if envelope_type == "slash_commands":
        return True
    if envelope_type == "interactive":
        return payload.get("type") in ("block_suggestion", "view_submission")
    return False


# ------------------------------------------------------------------ HTTP layer


@dataclass
class _ParsedRequest:
    params: dict[str, Any]
    token: str | None
    json_body: dict[str, Any] | None = None
    invalid: str | None = None


def parse_request(query: str, content_type: str, body: bytes, authorization: str) -> _ParsedRequest:
    """Arguments from the query string and a form or JSON body.

    The token comes from `Authorization: Bearer` or, for form bodies only, a
    `token` field (Slack takes neither from JSON bodies nor query strings).
    """
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    request = _ParsedRequest(params, token)
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" and body:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if not isinstance(decoded, dict):
            request.invalid = "invalid_json"
            return request
        request.json_body = decoded
        params.update(decoded)
    elif body:
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        request.token = request.token or form.pop("token", None)
        params.update(form)
    params.pop("token", None)
    return request


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: SlackEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (its timeout, a late answer) is not an emulator error."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, keep-alive
        # clients wait for delayed ACKs (~40 ms a request)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emulator.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.emulator.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/link/"):
            self._upgrade()
        elif path.startswith("/files/"):
            token = parse_request("", "", b"", self.headers.get("Authorization", "")).token
            self._send(self.server.emulator.handle_file_download(path, token))
        else:
            self._route(b"")

    def do_POST(self) -> None:
        self._route(self._read_body())

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _route(self, body: bytes) -> None:
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        request = parse_request(
            parts.query,
            self.headers.get("Content-Type", ""),
            body,
            self.headers.get("Authorization", ""),
        )
        if parts.path.startswith("/api/"):
            reply = emulator.handle_api(parts.path[len("/api/") :], request)
        elif parts.path.startswith("/upload/v1/") and self.command == "POST":
            reply = emulator.handle_upload(parts.path, body)
        elif parts.path.startswith(("/commands/", "/actions/")) and self.command == "POST":
            reply = emulator.handle_response_url(parts.path, request)
        else:
            reply = _text_reply(404, "Not Found")
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _upgrade(self) -> None:
        emulator = self.server.emulator
        key = self.headers.get("Sec-WebSocket-Key")
        is_upgrade = self.headers.get("Upgrade", "").lower() == "websocket"
        if not key or not is_upgrade or self.headers.get("Sec-WebSocket-Version") != "13":
            self._send(_text_reply(400, "Bad Request"))
            return
        ticket = dict(parse_qsl(urlsplit(self.path).query)).get("ticket")
        if not emulator.open_socket(ticket):
            self._send(_text_reply(401, "invalid ticket"))
            return
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept_key(key))
        self.end_headers()
        self.close_connection = True
        emulator.serve_socket(WebSocketConnection(self.connection, self.rfile))
