"""The toil ledger on a real Redis: entries, one timer per person, edits with history, undo."""

from __future__ import annotations

import pytest

from bot.toil.ledger import MAX_ENTRY, Ledger, LedgerError
from bot.toil.model import Kind, Source
from bot.toil.ratio import split_time

HOUR = 3600.0
T0 = 1_795_000_000.0  # a Monday morning in November 2026


@pytest.fixture
def ledger(r) -> Ledger:
    return Ledger(r)


def test_a_week_reads_only_its_entries(ledger):
    """Entries are found by time, including one that started the day before and crosses in."""
    ledger.add("U1", Kind.CODING, "terraform", T0 - 3 * HOUR, T0 + HOUR, "UTC", Source.LOG)
    ledger.add("U1", Kind.OPERATING, "incident", T0 + 2 * HOUR, T0 + 3 * HOUR, "UTC", Source.LOG)
    ledger.add(
        "U1", Kind.OPERATING, "old", T0 - 5 * MAX_ENTRY, T0 - 4 * MAX_ENTRY, "UTC", Source.LOG
    )
    found = ledger.between(T0, T0 + 7 * 24 * HOUR)
    assert ["terraform", "incident"] == [e.category for e in found]
    figures = split_time(found, T0, T0 + 7 * 24 * HOUR)
    assert (HOUR, HOUR) == (figures.coding, figures.operating)


def test_one_timer_per_person(ledger):
    """Starting a timer stops the open one, which becomes an entry."""
    ledger.start("U1", Kind.OPERATING, "interrupts", "", "Europe/Oslo", now=T0)
    timer, stopped = ledger.start("U1", Kind.CODING, "automation", "", "Europe/Oslo", now=T0 + HOUR)
    assert stopped is not None and (Kind.OPERATING, HOUR) == (stopped.kind, stopped.seconds)
    assert Source.TIMER == stopped.source
    assert Kind.CODING == timer.kind == ledger.timer("U1").kind
    final = ledger.stop("U1", now=T0 + 3 * HOUR)
    assert final is not None and 2 * HOUR == final.seconds
    assert ledger.timer("U1") is None
    assert ledger.stop("U1") is None


def test_a_forgotten_timer_counts_only_up_to_the_limit(ledger):
    """A timer left running past the limit counts the limit, not the night."""
    ledger.start("U1", Kind.OPERATING, "on-call", "", "UTC", now=T0)
    entry = ledger.stop("U1", now=T0 + 14 * HOUR, limit=4 * HOUR)
    assert entry is not None and 4 * HOUR == entry.seconds


def test_edits_keep_their_history_and_undo_takes_them_back(ledger):
    """An edit records the previous version; undo restores it, then removes the entry."""
    entry = ledger.add("U1", Kind.CODING, "ci", T0, T0 + HOUR, "UTC", Source.LOG)
    edited = ledger.edit("U1", entry.id, kind=Kind.OPERATING, end=T0 + 2 * HOUR)
    assert (Kind.OPERATING, 2 * HOUR, 1) == (edited.kind, edited.seconds, len(edited.revisions))
    assert "coding" == edited.revisions[0]["kind"]
    assert f"edit of entry {entry.id}" == ledger.undo("U1")
    restored = ledger.get(entry.id)
    assert restored is not None and (Kind.CODING, HOUR) == (restored.kind, restored.seconds)
    assert f"add of entry {entry.id}" == ledger.undo("U1")
    assert [] == ledger.between(T0 - HOUR, T0 + 3 * HOUR)
    assert ledger.undo("U1") is None


@pytest.mark.parametrize(
    ("start", "end", "fragment"),
    [(T0, T0, "must come after"), (T0, T0 + 25 * HOUR, "at most 24 hours")],
)
def test_impossible_entries_are_refused(ledger, start, end, fragment):
    """Zero-length and day-long-plus entries are refused with the reason."""
    with pytest.raises(LedgerError, match=fragment):
        ledger.add("U1", Kind.CODING, "x", start, end, "UTC", Source.LOG)


def test_people_edit_only_their_own_entries(ledger):
    """Another person's entry cannot be edited."""
    entry = ledger.add("U1", Kind.CODING, "x", T0, T0 + HOUR, "UTC", Source.LOG)
    with pytest.raises(LedgerError, match=f"no entry {entry.id}"):
        ledger.edit("U2", entry.id, kind=Kind.OPERATING)
