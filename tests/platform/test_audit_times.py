"""The times `toilbot audit export` takes, and the retention toilbot.yaml gives: pure parsing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.platform.audit import parse_retention, parse_when

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=ZoneInfo("Europe/Oslo")).timestamp()),
        (
            "2026-11-01T09:30",
            datetime(2026, 11, 1, 9, 30, tzinfo=ZoneInfo("Europe/Oslo")).timestamp(),
        ),
        ("2026-11-01T09:30Z", datetime(2026, 11, 1, 9, 30, tzinfo=ZoneInfo("UTC")).timestamp()),
        ("7d", NOW - 7 * 86400),
        ("12h", NOW - 12 * 3600),
        ("90m", NOW - 90 * 60),
        ("last tuesday", None),
        ("2026-13-01", None),
        ("", None),
    ],
)
def test_parse_when(text, expected):
    """Dates are midnight in the team's timezone; ages count back from now; nonsense is None."""
    assert expected == parse_when(text, "Europe/Oslo", NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("365d", 365 * 86400), ("1d", 86400), ("0d", None), ("1y", None), ("12h", None)],
)
def test_parse_retention(text, expected):
    """Retention is a whole number of days."""
    assert expected == parse_retention(text)
