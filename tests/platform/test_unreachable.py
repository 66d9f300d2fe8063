"""Redis unreachable is one warning line; any other failure keeps its traceback."""

from __future__ import annotations

import logging

import pytest
import redis

from bot.platform.unreachable import log_failure


def _logged(exc: Exception, caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    log = logging.getLogger("test.unreachable")
    with caplog.at_level(logging.WARNING, logger="test.unreachable"):
        try:
            raise exc
        except Exception:
            log_failure(log, "sweep %r failed", "deliver")
    [record] = caplog.records
    return record


def test_an_outage_is_a_warning_without_a_traceback(caplog):
    record = _logged(redis.ConnectionError("Error 111 connecting, 100% refused"), caplog)
    assert logging.WARNING == record.levelno and record.exc_info is None
    assert "sweep 'deliver' failed: Redis is unreachable (Error 111 connecting, 100% refused)" in (
        record.getMessage()
    )


def test_a_bug_keeps_its_traceback(caplog):
    record = _logged(KeyError("status"), caplog)
    assert logging.ERROR == record.levelno and record.exc_info is not None
