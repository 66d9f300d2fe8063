"""Logging and the metrics port of the long-running commands (worker, scheduler, run).

`toilbot serve` has /healthz, /readyz and /metrics on its own port
(``bot.frontends.slack.server``); the others open `metrics.port` of toilbot.yaml
(or TOILBOT_METRICS_PORT) when it is set, and keep no port open when it is not.
"""

from __future__ import annotations

import sys

from bot.frontends import text as frontend_text
from bot.pipeline.settings import Settings
from bot.platform import metrics
from bot.platform.errors import ConfigError
from bot.platform.health import serve_side
from bot.platform.store import Store


def open_metrics_port(settings: Settings, store: Store, role: str, *, horses: bool) -> None:
    """Multiprocess metrics under the data directory and the port, if one is set.

    ``horses``: this process forks work horses (a worker, `run`)."""
    if settings.metrics.port is None and role != "run":
        return
    metrics.multiprocess(settings.data_dir, role, horses=horses)
    if settings.metrics.port is None:
        return
    host, port = settings.metrics.host, settings.metrics.port
    try:
        serve_side(host, port, store.redis)
    except OSError as exc:
        raise ConfigError(
            "toilbot.yaml",
            "metrics.port",
            f"port {port} on {host} cannot be opened ({exc.strerror})",
            "choose a free port; give each process on a host its own with TOILBOT_METRICS_PORT",
        ) from None
    print(frontend_text.metrics_port(host, port), file=sys.stderr, flush=True)
