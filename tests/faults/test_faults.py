"""The short form of `make faults` inside `make test`: one fault of each kind, every loss,
duplicate, overlap, survivor and secret column zero (the whole table: `make faults`)."""

from __future__ import annotations

import pytest

from tests.faults.run import run, table
from tests.faults.scenarios import SHORT


@pytest.mark.parametrize("name", SHORT)
def test_a_fault_leaves_nothing_lost_doubled_or_overlapping(name):
    tally = run(name)
    assert tally.clean, f"{table([tally])}\n" + "\n".join(tally.notes)
    assert tally.jobs > 0
