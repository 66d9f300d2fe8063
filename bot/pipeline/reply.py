"""What the pipeline answers: an Outcome, the text a person reads, and what it refers to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.execution.records import JobRecord
from bot.pipeline.approvals import ApprovalRequest
from bot.pipeline.policy.rules import Decision
from bot.schedule.model import Freeze


class Outcome(StrEnum):
    ANSWERED = "answered"  # a reply, nothing queued
    QUEUED = "queued"  # a job was queued
    NEEDS_CONFIRMATION = "needs_confirmation"  # ask the requester, then call again confirmed
    NEEDS_APPROVAL = "needs_approval"  # an approval request was recorded; someone else approves
    REFUSED = "refused"  # parse error, denial, unknown job...


@dataclass(frozen=True)
class Action:
    """A button under an answer: its label, and the command it runs for whoever clicks it
    (through the whole pipeline, as if that person typed it)."""

    label: str
    command: str


@dataclass
class Reply:
    outcome: Outcome
    text: str
    job: JobRecord | None = None
    decision: Decision | None = None
    freeze: Freeze | None = None  # refused because a change freeze is on
    approval: ApprovalRequest | None = None
    actions: tuple[Action, ...] = ()  # buttons a front end may show under the answer

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.REFUSED
