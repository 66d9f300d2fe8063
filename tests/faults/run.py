"""Run one scenario in a fresh stand and print tallies as a table."""

from __future__ import annotations

from tests.faults.scenarios import SCENARIOS
from tests.faults.stand import Stand, Tally

HEADERS = (
    "scenario",
    "faults",
    "jobs",
    "records lost",
    "finals missing",
    "duplicated",
    "host overlaps",
    "procs alive",
    "secrets",
    "unanswered",
    "tracebacks",
)


def run(name: str) -> Tally:
    scenario, options = SCENARIOS[name]
    with Stand(name.replace(" ", "-").replace(",", ""), **options) as stand:
        stand.tally.scenario = name
        stand.tally.faults = scenario(stand)
        stand.settle()
    return stand.tally  # with the tracebacks its processes printed, counted as they stopped


def table(tallies: list[Tally]) -> str:
    rows = [HEADERS] + [
        (
            t.scenario,
            str(t.faults),
            str(t.jobs),
            str(t.lost),
            str(t.final_missing),
            str(t.duplicated),
            str(t.overlaps),
            str(t.alive),
            str(t.secrets),
            str(t.unanswered),
            str(t.tracebacks),
        )
        for t in tallies
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = [
        " | ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
