"""Ledger entries: who spent which time on what, in UTC with the person's timezone."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    OPERATING = "operating"  # running infrastructure: interrupts, on-call, patching...
    CODING = "coding"  # writing the code that automates it
    OVERHEAD = "overhead"  # meetings, admin: left out of the ratio


class Source(StrEnum):
    TIMER = "timer"  # /toil start ... /toil stop
    LOG = "log"  # /toil log 2h ...
    BOT = "bot"  # hands-on time of a toilbot job
    IMPORT = "import"


@dataclass
class Entry:
    id: int
    user: str
    kind: Kind
    category: str
    start: float  # UTC epoch seconds
    end: float
    tz: str  # the person's IANA timezone when it was recorded
    source: Source
    note: str = ""
    created_at: float = 0.0
    deleted: bool = False
    revisions: list[dict[str, Any]] = field(default_factory=list)  # earlier versions

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "kind": self.kind.value,
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "tz": self.tz,
            "source": self.source.value,
            "note": self.note,
            "created_at": self.created_at,
            "deleted": self.deleted,
            "revisions": self.revisions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(
            id=int(data["id"]),
            user=data["user"],
            kind=Kind(data["kind"]),
            category=data["category"],
            start=float(data["start"]),
            end=float(data["end"]),
            tz=data["tz"],
            source=Source(data["source"]),
            note=data.get("note", ""),
            created_at=float(data.get("created_at", 0.0)),
            deleted=bool(data.get("deleted")),
            revisions=list(data.get("revisions", [])),
        )
