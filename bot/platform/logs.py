"""Log lines: plain text, or one JSON object per line; the level from the settings.

`TOILBOT_LOG_FORMAT=json` (or `logging: {format: json}` in toilbot.yaml) writes

    {"time": "2026-12-01T15:04:05.123Z", "level": "INFO", "logger": "bot.execution.run",
     "message": "...", "job_id": 12, "user": "U0ADMIN", "command": "status web-01",
     "request_id": "5f0c..."}

the last four when known: bound for a stretch of work with ``bound(...)`` (a
contextvar: a job in a work horse, a Slack request in a gunicorn thread), or
given to one call as ``extra={"job_id": ...}``. A traceback goes in "exc".
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("text", "json")
FIELDS = ("job_id", "user", "command", "request_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "toilbot_log_context", default=None
)


@dataclass(frozen=True)
class LogSettings:
    level: str | None = None  # one of LEVELS; None: each command's own default
    json: bool = False


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every log line written inside carries these fields (None values are left out)."""
    token = _context.set(_with(fields))
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields until the current context ends (a WSGI request's thread, a job's horse)."""
    _context.set(_with(fields))


def _with(fields: dict[str, Any]) -> dict[str, Any]:
    return {**(_context.get() or {}), **{k: v for k, v in fields.items() if v is not None}}


_active = [LogSettings()]  # what ``configure`` last installed


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, Any] = {
            "time": f"{moment}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_context.get() or {})
        for name in FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(settings: LogSettings, default: str) -> None:
    """The root logger: one stderr handler, at the level set (else ``default``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.json else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel((settings.level or default).upper())
    _active[0] = settings


def level_name(default: str) -> str:
    """The level in force, for libraries that take one (RQ's worker)."""
    return (_active[0].level or default).upper()


def gunicorn_logging() -> dict[str, Any]:
    """gunicorn's options that make its own log lines (access, errors) follow ours."""
    settings = _active[0]
    if not settings.json:
        return {"loglevel": (settings.level or "info")}
    formatter = {"()": f"{__name__}.JsonFormatter"}
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    access = {**handler, "stream": "ext://sys.stdout"}
    level = (settings.level or "info").upper()
    return {
        "loglevel": settings.level or "info",
        "logconfig_dict": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": formatter},
            "handlers": {"console": handler, "error_console": handler, "access": access},
            "root": {"level": level, "handlers": ["console"]},
            "loggers": {
                "gunicorn.error": {
                    "level": level,
                    "handlers": ["error_console"],
                    "propagate": False,
                },
                "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
            },
        },
    }
