"""`toilbot toil import FILE` and `toilbot toil export --since ...`: the ledger to and from
CSV or JSON files (bot.toil.transfer does the reading and writing)."""

from __future__ import annotations

import argparse
import sys
import time

from bot.frontends import text as frontend_text
from bot.frontends.console import EXIT_REFUSED
from bot.pipeline.settings import Settings
from bot.platform.store import Store


def toil_import(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from pathlib import Path

    from bot.toil.ledger import Ledger
    from bot.toil.transfer import ImportRefused, import_rows, not_yet_in, read_rows

    try:
        content = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(frontend_text.unreadable_file(args.file, str(exc)), file=sys.stderr)
        return EXIT_REFUSED
    fmt = "json" if args.file.lower().endswith(".json") else "csv"
    try:
        rows = read_rows(content, fmt, settings.toil.categories)
    except ImportRefused as exc:
        print(frontend_text.import_refused(args.file, exc.problems), file=sys.stderr)
        return EXIT_REFUSED
    ledger = Ledger(store.redis)
    rows, held = not_yet_in(ledger, rows)
    if not rows:
        print(frontend_text.nothing_new(args.file, held))
        return 0
    entries = import_rows(ledger, rows, settings.timezone)
    print(
        frontend_text.imported(
            len(entries), args.file, f"#{entries[0].id}", f"#{entries[-1].id}", held
        )
    )
    return 0


def toil_export(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    from bot.toil.ledger import Ledger
    from bot.toil.transfer import export_entries, instant_or_date

    since = instant_or_date(args.since, settings.timezone)
    if since is None:
        print(frontend_text.bad_since(args.since), file=sys.stderr)
        return EXIT_REFUSED
    until = instant_or_date(args.until, settings.timezone) if args.until else time.time()
    if until is None:
        print(frontend_text.bad_since(args.until), file=sys.stderr)
        return EXIT_REFUSED
    entries = Ledger(store.redis).between(since, until)
    sys.stdout.write(export_entries(entries, args.format, settings.timezone))
    return 0
