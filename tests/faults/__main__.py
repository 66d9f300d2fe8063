"""`make faults`: every fault of tests/faults/scenarios.py against real parts; a table.

    python -m tests.faults [--short] [NAME ...]

Exit code 0 when every loss, duplicate, overlap, survivor and secret column is zero.
TOILBOT_FAULTS_KEEP=1 keeps each stand's folder (logs, Redis files) for a look.
"""

from __future__ import annotations

import argparse
import sys

from tests.faults.run import run, table
from tests.faults.scenarios import SCENARIOS, SHORT


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults")
    parser.add_argument("--short", action="store_true", help="the short form of make test")
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    args = parser.parse_args()
    names = args.names or (list(SHORT) if args.short else list(SCENARIOS))
    tallies = []
    for name in names:
        print(f"… {name}", file=sys.stderr, flush=True)
        tallies.append(run(name))
    print(table(tallies))
    for tally in tallies:
        for note in tally.notes:
            print(f"  {tally.scenario}: {note}")
    return 0 if all(t.clean for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(main())
