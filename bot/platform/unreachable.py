"""Redis unreachable is an outage, not a bug: one log line, no traceback.

Loops that must outlive a Redis restart (the sweeper, the scheduler, the worker's
own duties) log a failure through ``log_failure``: a connection error or timeout
to Redis becomes one warning naming what was being done; anything else keeps its
traceback, because it is a bug to fix.
"""

from __future__ import annotations

import logging
import sys

import redis

OUTAGE = (redis.ConnectionError, redis.TimeoutError)  # BusyLoadingError is a ConnectionError


def is_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, OUTAGE)


def log_failure(log: logging.Logger, what: str, *args: object) -> None:
    """Call inside ``except``: a warning for a Redis outage, else the traceback."""
    exc = sys.exc_info()[1]
    if is_outage(exc):
        reason = str(exc).replace("%", "%%")  # the message is a format string: keep it one
        log.warning(f"{what}: Redis is unreachable ({reason}); trying again", *args)
    else:
        log.exception(what, *args)
