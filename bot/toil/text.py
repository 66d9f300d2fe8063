"""What the toil domain says about rows it cannot import."""

from __future__ import annotations


def import_row(line: int, problem: str) -> str:
    """``line`` > 0: a line of a CSV file; < 0: the -line'th row of a JSON list."""
    return f"line {line}: {problem}" if line > 0 else f"row {-line}: {problem}"
