"""Entries a new entry of the same person overlaps: said when it is logged, not found later.

Overlaps are allowed and resolved when figures are computed (the entry recorded last counts
where two overlap, bot.toil.ratio); before, the earlier entry was silently counted for less
(`toil log 2h coding` then `toil log 90m overhead` left 30 minutes of coding).
"""

from __future__ import annotations

from bot.toil import text
from bot.toil.ledger import Ledger
from bot.toil.model import Entry


def overlap_note(ledger: Ledger, entry: Entry) -> str | None:
    """What ``entry`` now covers of the person's other entries, or None if nothing."""
    covered = []
    for other in ledger.between(entry.start, entry.end, user=entry.user):
        if other.id == entry.id:
            continue
        seconds = min(other.end, entry.end) - max(other.start, entry.start)
        if seconds > 0:
            covered.append((other.id, other.kind.value, other.category, seconds))
    return text.overlaps(entry.id, covered) if covered else None
