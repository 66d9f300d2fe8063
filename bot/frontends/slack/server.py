"""`toilbot serve` (HTTP, gunicorn workers, Bolt's request verification) and `toilbot socket`.

Each gunicorn worker builds its own Bolt app after the fork, with its own
Redis connections. In front of Bolt, `guard.SlackGate` answers what must not
reach it: unsigned or stale requests (401), malformed ones (400), copies of a
request already received (not run again). Bolt verifies the signature again.
`/healthz`, `/readyz` and `/metrics` are answered before the gate
(``bot.platform.health``): no signature, no Bolt.

`toilbot run` over HTTP starts `toilbot serve` as its child: gunicorn everywhere,
never wsgiref. gunicorn's control socket is off: its default path is one per user
($XDG_RUNTIME_DIR or ~/.gunicorn), so two servers on one host deleted each other's.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.frontends.slack import text as slack_text
from bot.frontends.slack.app import build_app
from bot.frontends.slack.client import make_client
from bot.frontends.slack.guard import SlackGate
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.slack.timing import TimedSocketModeHandler, timed_acks
from bot.frontends.wiring import assemble
from bot.pipeline.settings import Settings
from bot.platform import metrics
from bot.platform.errors import ConfigError
from bot.platform.health import HealthRoutes
from bot.platform.logs import gunicorn_logging
from bot.platform.store import connect

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


#: Answers that say Slack is busy or down, not that the token is wrong.
_SLACK_BUSY = frozenset({"ratelimited", "service_unavailable", "fatal_error", "internal_error"})


def _configured_url(client: WebClient) -> bool:
    """True when the API address is not Slack's own (a typo there is a config error)."""
    return not client.base_url.startswith("https://slack.com/")


def check_token(client: WebClient) -> str:
    """Ask Slack who we are: a wrong token is a start-up error, not a silent bot."""
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error", "unknown error"))
        if exc.response.status_code >= 500 or error in _SLACK_BUSY:
            log.warning("Slack is not answering (%s); starting anyway", error)
            return slack_text.identity_unknown(error)  # a restart during an outage still serves
        raise ConfigError(
            "environment",
            "SLACK_BOT_TOKEN",
            f"was refused by Slack ({error})",
            "copy the Bot User OAuth Token (xoxb-...) from api.slack.com/apps, OAuth & Permissions",
        ) from None
    except Exception as exc:
        if _configured_url(client):
            raise ConfigError(
                "environment",
                "SLACK_API_URL",
                f"Slack could not be reached ({exc})",
                "check the network, or SLACK_API_URL if you set it",
            ) from None
        log.warning("Slack could not be reached (%s); starting anyway", exc)
        return slack_text.identity_unknown(str(exc))
    return f"{answer.get('user', '?')} in {answer.get('team', '?')}"


def _bolt_app(settings: Settings, slack: SlackSettings, *, socket_mode: bool) -> Any:
    store = connect(settings.redis_url, settings.data_dir)
    bot = assemble(settings, store).bot
    return build_app(bot, slack, make_client(slack), socket_mode=socket_mode)


def _http_app(settings: Settings, slack: SlackSettings) -> HealthRoutes:
    """The WSGI application of the HTTP endpoint: health and metrics, else the gate, then Bolt."""
    store = connect(settings.redis_url, settings.data_dir)
    app = build_app(assemble(settings, store).bot, slack, make_client(slack), socket_mode=False)
    handler = SlackRequestHandler(app, EVENTS_PATH)
    gate = SlackGate(handler, store.redis, slack.signing_secret or "", EVENTS_PATH)
    return HealthRoutes(timed_acks(gate, EVENTS_PATH), store.redis)


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


def _child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: a worker's live gauges go with it (multiprocess metrics)."""
    metrics.worker_gone(worker.pid)


def serve_http(
    settings: Settings, slack: SlackSettings, host: str, port: int, workers: int
) -> None:
    metrics.multiprocess(settings.data_dir, "serve")  # before any worker is forked
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        "proc_name": "toilbot-serve",
        "control_socket_disable": True,  # a per-user path by default: see the module docstring
        "child_exit": _child_exit,
    }
    options.update(gunicorn_logging())
    _Gunicorn(settings, slack, options).run()


def serve_socket(settings: Settings, slack: SlackSettings) -> None:
    app = _bolt_app(settings, slack, socket_mode=True)
    handler = TimedSocketModeHandler(app, slack.app_token, web_client=make_client(slack))
    handler.start()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated


def start_in_background(
    settings: Settings, slack: SlackSettings, port: int
) -> tuple[str, subprocess.Popen[bytes] | None]:
    """For `toilbot run`: Socket Mode on threads of this process, or `toilbot serve` as a child
    (gunicorn, one worker) sharing this process's metrics directory. Returns how it listens
    and the child, to stop when the run ends."""
    if slack.app_token:
        app = _bolt_app(settings, slack, socket_mode=True)
        handler = TimedSocketModeHandler(app, slack.app_token, web_client=make_client(slack))
        handler.connect()  # type: ignore[no-untyped-call]  # slack_bolt leaves it unannotated
        return "Socket Mode", None
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--workers", "1"]
    child = subprocess.Popen(command, env=metrics.child_env(), preexec_fn=_die_with_parent)
    return f"HTTP on port {port}, path {EVENTS_PATH} (gunicorn, pid {child.pid})", child


def stop_child(child: subprocess.Popen[bytes] | None) -> None:
    if child is None or child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when `toilbot run` dies (even by -9).
    libc is loaded before the fork (``_LIBC``): nothing is loaded between fork and exec."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent already died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()
