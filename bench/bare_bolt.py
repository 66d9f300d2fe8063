"""The baseline of bench/ack.py: a bare Bolt app that only acks, served as `toilbot serve` is.

    python bench/bare_bolt.py --host 127.0.0.1 --port 8001 --workers 2

The gunicorn options are those of ``bot/frontends/slack/server.py: serve_http``
(gthread, 4 threads a worker, the access log on stdout); the App is built as
``build_app`` builds it (a WebClient with the bot token, the signing secret,
``process_before_response=True``), so Bolt does the same verification and
authorization per request. Every slash command is acked with one short line;
nothing else runs. Environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
SLACK_API_URL (the local Slack stand-in of the bench).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

EVENTS_PATH = "/slack/events"


def build_bare_app() -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )

    def ack_only(ack: Ack) -> None:
        ack(text="ok", response_type="ephemeral")

    app.command("/ops")(ack_only)
    return app


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return SlackRequestHandler(build_bare_app(), EVENTS_PATH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    _Gunicorn(
        {
            "bind": f"{args.host}:{args.port}",
            "workers": args.workers,
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": "-",
            "proc_name": "bench-bare-bolt",
        }
    ).run()


if __name__ == "__main__":
    main()
