"""Words a person typed, matched against the ones we know."""

from __future__ import annotations

import difflib


def suggest(word: str, candidates: list[str]) -> list[str]:
    """Up to three known words close to ``word``, for "did you mean"."""
    return difflib.get_close_matches(word.lower(), candidates, n=3, cutoff=0.6)
