"""Ledger import and export: CSV or JSON rows of user, kind, category, start, end, note.

Times are ISO 8601 with an offset (exported in the team's timezone). An import is checked
whole before anything is written: every bad row is reported by its line
number, and either every row becomes an entry (one Redis transaction) or none
does. Export lists entries in the order they were recorded, so an import of
an export resolves overlaps the same way and gives identical reports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.platform.errors import ToilbotError
from bot.platform.ids import USER_ID
from bot.platform.schema import parse_duration
from bot.toil import text
from bot.toil.ledger import MAX_ENTRY, Ledger
from bot.toil.model import Entry, Kind, Source
from bot.toil.zones import Zones

COLUMNS = ("user", "kind", "category", "start", "end", "note")
MAX_NOTE = 200


class ImportRefused(ToilbotError):
    """The file has bad rows; ``problems`` lists them by line, nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Row:
    line: int
    user: str
    kind: Kind
    category: str
    start: float
    end: float
    note: str


def _instant(value: str) -> float | None:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a local time without its offset is ambiguous
    return moment.timestamp()


def instant_or_date(value: str, tz: str, now: float | None = None) -> float | None:
    """An ISO time with offset, a date meaning its midnight in ``tz``, or an age before
    ``now`` ('7d', '12h', '90m'), as `toilbot audit export --since` takes them."""
    age = _age(value.strip().lower())
    if age is not None:
        return (time.time() if now is None else now) - age
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return _instant(value)
    return dt.datetime.combine(day, dt.time(), tzinfo=zoneinfo.ZoneInfo(tz)).timestamp()


def _age(value: str) -> int | None:
    """'7d' -> seconds, or '12h', '90m', '1h30m'; None for anything else (a bare number too)."""
    days = re.fullmatch(r"(\d{1,4})\s*d", value)
    if days:
        return int(days.group(1)) * 86400
    if not value or value.isdigit():
        return None
    return parse_duration(value)


def _iso(timestamp: float, tz: str) -> str:
    """A time in ``tz`` with its offset (UTC as ``Z``): 2026-11-16T09:00:00+01:00."""
    local = dt.datetime.fromtimestamp(timestamp, zoneinfo.ZoneInfo(tz))
    return local.isoformat().replace("+00:00", "Z")


def check_row(line: int, record: dict[str, Any], categories: Iterable[str]) -> Row | str:
    """A good row, or what is wrong with it (a message naming the line)."""
    missing = [c for c in COLUMNS[:5] if not str(record.get(c) or "").strip()]
    if missing:
        return text.import_row(line, f"{', '.join(missing)} missing")
    user = str(record["user"]).strip()
    if not re.fullmatch(USER_ID, user):
        return text.import_row(line, f"user `{user}` is not a Slack user id such as U0123")
    try:
        kind = Kind(str(record["kind"]).strip().lower())
    except ValueError:
        return text.import_row(
            line, f"kind `{record['kind']}` is not one of {', '.join(k.value for k in Kind)}"
        )
    category = str(record["category"]).strip().lower()
    if category not in categories:
        return text.import_row(
            line, f"category `{category}` is not in toil.categories of toilbot.yaml"
        )
    start, end = _instant(str(record["start"])), _instant(str(record["end"]))
    if start is None or end is None:
        name = "start" if start is None else "end"
        return text.import_row(
            line,
            f"{name} `{record[name]}` is not an ISO 8601 time with its offset "
            "(write 2026-11-16T09:00:00+01:00 or 2026-11-16T08:00:00Z)",
        )
    if end <= start:
        return text.import_row(line, "end is not after start")
    if end - start > MAX_ENTRY:
        return text.import_row(line, "an entry covers at most 24 hours; split it by day")
    note = str(record.get("note") or "")
    if len(note) > MAX_NOTE:
        return text.import_row(line, f"the note is longer than {MAX_NOTE} characters")
    return Row(line, user, kind, category, start, end, note)


def read_rows(content: str, fmt: str, categories: Iterable[str]) -> list[Row]:
    """Every row of a CSV or JSON export, checked; raises ImportRefused listing the bad ones."""
    categories = set(categories)
    records: list[tuple[int, Any]] = []
    if fmt == "json":
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise ImportRefused([text.import_row(exc.lineno, f"not JSON ({exc.msg})")]) from None
        if not isinstance(data, list):
            raise ImportRefused([text.import_row(1, "a JSON list of rows was expected")])
        records = [(-number, item) for number, item in enumerate(data, start=1)]
    else:
        reader = csv.DictReader(io.StringIO(content))
        header = reader.fieldnames or []
        absent = [c for c in COLUMNS if c not in header]
        if absent:
            raise ImportRefused(
                [text.import_row(1, f"the header lacks {', '.join(absent)} ({','.join(COLUMNS)})")]
            )
        try:
            records = [(reader.line_num, record) for record in reader]
        except csv.Error as exc:
            raise ImportRefused([text.import_row(reader.line_num, str(exc))]) from None
    rows, problems = [], []
    for line, record in records:
        if not isinstance(record, dict):
            problems.append(text.import_row(line, "a row must be an object"))
            continue
        checked = check_row(line, record, categories)
        if isinstance(checked, str):
            problems.append(checked)
        else:
            rows.append(checked)
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused([text.import_row(1, "no rows")])
    return rows


def not_yet_in(ledger: Ledger, rows: list[Row]) -> tuple[list[Row], int]:
    """The rows the ledger does not hold yet, and how many it does: importing a file twice
    adds nothing the second time (the same person, kind, category, start, end and note)."""
    if not rows:
        return [], 0
    held = {
        (e.user, e.kind, e.category, round(e.start), round(e.end), e.note)
        for e in ledger.between(min(r.start for r in rows), max(r.end for r in rows))
    }
    new = [
        r
        for r in rows
        if (r.user, r.kind, r.category, round(r.start), round(r.end), r.note) not in held
    ]
    return new, len(rows) - len(new)


def import_rows(ledger: Ledger, rows: list[Row], team_tz: str) -> list[Entry]:
    """Write every row as an entry in one transaction, in file order (later rows win overlaps)."""
    zones = Zones(ledger.r, team_tz)
    return ledger.add_many(
        [
            (
                row.user,
                row.kind,
                row.category,
                row.start,
                row.end,
                zones.of(row.user).name,
                Source.IMPORT,
                row.note,
            )
            for row in rows
        ]
    )


def export_entries(entries: list[Entry], fmt: str, tz: str) -> str:
    """Entries in the order they were recorded, as CSV (with a header) or a JSON list; times
    in ``tz`` (the team's) with their offset, so an import reads the same instants."""
    ordered = sorted(entries, key=lambda e: (e.created_at, e.id))
    rows = [
        {
            "user": e.user,
            "kind": e.kind.value,
            "category": e.category,
            "start": _iso(e.start, tz),
            "end": _iso(e.end, tz),
            "note": e.note,
        }
        for e in ordered
    ]
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
