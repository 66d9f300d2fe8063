"""Times on the command line: `toilbot audit export --since 7d`, `audit.retention: 365d`."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.platform.schema import parse_duration

_DAYS = re.compile(r"(\d+)d")


def parse_retention(value: str) -> int | None:
    """'365d' -> seconds; None if malformed. Retention is counted in whole days."""
    match = _DAYS.fullmatch(value.strip().lower())
    return int(match.group(1)) * 86400 if match and int(match.group(1)) > 0 else None


def parse_when(value: str, timezone: str, now: float | None = None) -> float | None:
    """'2026-11-01' (midnight in ``timezone``), an ISO time, or an age ('7d', '12h'): epoch."""
    value = value.strip()
    now = time.time() if now is None else now
    days = _DAYS.fullmatch(value.lower())
    if days:
        return now - int(days.group(1)) * 86400
    age = parse_duration(value) if value and not value.isdigit() else None
    if age:
        return now - age
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.timestamp()
