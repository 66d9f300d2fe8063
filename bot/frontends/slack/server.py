"""`toilbot serve` (HTTP, gunicorn workers, Bolt's request verification) and `toilbot socket`.

Each gunicorn worker builds its own Bolt app after the fork, with its own
Redis connections. In front of Bolt, `guard.SlackGate` answers what must not
reach it: unsigned or stale requests (401), malformed ones (400), copies of a
request already received (not run again). Bolt verifies the signature again.
"""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from gunicorn.app.base import BaseApplication
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.frontends.slack.app import build_app
from bot.frontends.slack.client import make_client
from bot.frontends.slack.guard import SlackGate
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.wiring import assemble
from bot.pipeline.settings import Settings
from bot.platform.errors import ConfigError
from bot.platform.store import connect

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


def check_token(client: WebClient) -> str:
    """Ask Slack who we are: a wrong token is a start-up error, not a silent bot."""
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error")
        raise ConfigError(
            "environment",
            "SLACK_BOT_TOKEN",
            f"was refused by Slack ({error})",
            "copy the Bot User OAuth Token (xoxb-...) from api.slack.com/apps, OAuth & Permissions",
        ) from None
    except Exception as exc:
        raise ConfigError(
            "environment",
            "SLACK_API_URL",
            f"Slack could not be reached ({exc})",
            "check the network, or SLACK_API_URL if you set it",
        ) from None
    return f"{answer.get('user', '?')} in {answer.get('team', '?')}"


def _bolt_app(settings: Settings, slack: SlackSettings, *, socket_mode: bool) -> Any:
    store = connect(settings.redis_url, settings.data_dir)
    bot = assemble(settings, store).bot
    return build_app(bot, slack, make_client(slack), socket_mode=socket_mode)


def _http_app(settings: Settings, slack: SlackSettings) -> SlackGate:
    """The WSGI application of the HTTP endpoint: the gate, then Bolt."""
    store = connect(settings.redis_url, settings.data_dir)
    app = build_app(assemble(settings, store).bot, slack, make_client(slack), socket_mode=False)
    handler = SlackRequestHandler(app, EVENTS_PATH)
    return SlackGate(handler, store.redis, slack.signing_secret or "", EVENTS_PATH)


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, settings: Settings, slack: SlackSettings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.slack = slack
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return _http_app(self.settings, self.slack)


def serve_http(
    settings: Settings, slack: SlackSettings, host: str, port: int, workers: int
) -> None:
    _Gunicorn(
        settings,
        slack,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": "-",
            "proc_name": "toilbot-serve",
        },
    ).run()


def serve_socket(settings: Settings, slack: SlackSettings) -> None:
    app = _bolt_app(settings, slack, socket_mode=True)
    handler = SocketModeHandler(app, slack.app_token, web_client=make_client(slack))
    handler.start()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated


def start_in_background(settings: Settings, slack: SlackSettings, port: int) -> str:
    """For `toilbot run`: the Slack app on threads of this process; returns how it listens."""
    if slack.app_token:
        app = _bolt_app(settings, slack, socket_mode=True)
        handler = SocketModeHandler(app, slack.app_token, web_client=make_client(slack))
        handler.connect()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
        return "Socket Mode"
    server = make_server(
        "0.0.0.0",  # noqa: S104 - a server for Slack to reach
        port,
        _http_app(settings, slack),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="toilbot-http", daemon=True).start()
    return f"HTTP on port {port}, path {EVENTS_PATH}"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)
