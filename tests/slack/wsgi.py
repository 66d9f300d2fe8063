"""Serve a Bolt `App` over HTTP on 127.0.0.1, in-process, the way a WSGI server would.

    with serve_bolt(app) as url:   # "http://127.0.0.1:<port>/slack/events"
        SignedClient(url, secret).post(slash_command_body(...))

Uses Bolt's own `slack_bolt.adapter.wsgi.SlackRequestHandler` in a threaded
`wsgiref` server, so requests go through Bolt's real HTTP path: raw body,
signature verification, ack → HTTP response.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean; pytest shows failures anyway."""


@contextmanager
def serve_bolt(app: App, path: str = "/slack/events") -> Iterator[str]:
    """Run `app` behind Bolt's WSGI adapter; yields the request URL."""
    server = make_server(
        "127.0.0.1",
        0,
        SlackRequestHandler(app, path=path),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(
        target=server.serve_forever, args=(0.01,), name="bolt-wsgi", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
