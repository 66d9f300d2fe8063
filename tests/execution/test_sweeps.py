"""Background duties as sweeps: each at its own pace; a failing one never stops the rest."""

from __future__ import annotations

import logging

import pytest

from bot.execution.sweeps import Sweep, Sweeper


def test_each_sweep_runs_when_due_and_a_failing_one_is_logged(caplog: pytest.LogCaptureFixture):
    """At the first pass every sweep runs; then each one only once its own interval passed."""
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("Redis went away")

    sweeper = Sweeper(
        [
            Sweep("fast", lambda: ran.append("fast"), 1.0),
            Sweep("broken", broken, 1.0),
            Sweep("hourly", lambda: ran.append("hourly"), 3600.0),
        ]
    )
    with caplog.at_level(logging.ERROR, logger="bot.execution.sweeps"):
        sweeper.run_due(now=10**6)
        sweeper.run_due(now=10**6 + 0.5)  # nothing due yet
        sweeper.run_due(now=10**6 + 1.0)
    assert ["fast", "broken", "hourly", "fast", "broken"] == ran
    assert 2 == sum("sweep 'broken' failed" in r.getMessage() for r in caplog.records)


def test_the_thread_ticks_at_the_fastest_sweep_and_stops():
    """The sweeper's thread wakes as often as its most frequent sweep needs, and stops when told."""
    sweeper = Sweeper([Sweep("a", lambda: None, 0.5), Sweep("b", lambda: None, 30.0)])
    assert 0.5 == sweeper.tick
    sweeper.start()
    sweeper.stopped.set()
    sweeper.join(timeout=5)
    assert not sweeper.is_alive()
