"""Confirm prompts: the command waiting for its requester's click, then what the click led to.

The prompt lives in Redis for ``CONFIRM_SECONDS``. The first click on it (Confirm or
Don't run it) claims it with ``SET NX`` and is remembered for ``OUTCOME_SECONDS``: a
second click, a double click, or Don't run it after Confirm is answered with what
really happened (job 12 was queued, and its status now), never "nothing was run".
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from bot.frontends.slack import text as slack_text
from bot.platform.errors import JobError
from bot.platform.store import Keys, text

if TYPE_CHECKING:
    from bot.execution.jobs import Jobs

CONFIRM_SECONDS = 600
OUTCOME_SECONDS = 86400  # the prompt stays on screen; its answer stays true for a day
CONFIRMED, DECLINED = "confirmed", "declined"


@dataclass(frozen=True)
class Outcome:
    """What the first click on a prompt chose and, once known, the job it queued."""

    choice: str  # CONFIRMED or DECLINED
    job_id: int | None = None
    said: str | None = None  # the answer to that click, when it queued no job
    settled: bool = False  # False while the confirmed command is still being handled


class Prompts:
    def __init__(self, r: redis.Redis, jobs: Jobs) -> None:
        self.r = r
        self.jobs = jobs

    def ask(self, pending: dict[str, Any]) -> str:
        """Store a command awaiting Confirm; returns the token its buttons carry."""
        token = secrets.token_urlsafe(12)
        self.r.set(Keys.slack_confirm(token), json.dumps(pending), ex=CONFIRM_SECONDS)
        return token

    def pending(self, token: str) -> dict[str, Any] | None:
        raw = self.r.get(Keys.slack_confirm(token))
        return dict(json.loads(text(raw))) if raw is not None else None

    def claim(self, token: str, choice: str) -> bool:
        """The first click wins (atomically); the prompt is used up."""
        claimed = self.r.set(
            Keys.slack_confirm_outcome(token),
            json.dumps({"choice": choice}),
            nx=True,
            ex=OUTCOME_SECONDS,
        )
        if claimed:
            self.r.delete(Keys.slack_confirm(token))
        return bool(claimed)

    def settle(self, token: str, choice: str, job_id: int | None, said: str) -> None:
        """Remember what the winning click led to."""
        outcome = {"choice": choice, "job_id": job_id, "said": said, "settled": True}
        self.r.set(Keys.slack_confirm_outcome(token), json.dumps(outcome), ex=OUTCOME_SECONDS)

    def outcome(self, token: str) -> Outcome | None:
        raw = self.r.get(Keys.slack_confirm_outcome(token))
        if raw is None:
            return None
        data = json.loads(text(raw))
        return Outcome(
            data["choice"], data.get("job_id"), data.get("said"), bool(data.get("settled"))
        )

    def repeat_answer(self, token: str) -> str | None:
        """The answer to a click on a prompt an earlier click answered; None: no such click."""
        outcome = self.outcome(token)
        if outcome is None:
            return None
        status = None
        if outcome.job_id is not None:
            try:
                status = self.jobs.get(outcome.job_id).status.value
            except JobError:
                status = None  # the record is gone; the job id stays true
        return _repeat_answer(outcome, status)


def _repeat_answer(outcome: Outcome, job_status: str | None) -> str:
    if outcome.choice == DECLINED:
        return slack_text.already_declined()
    if not outcome.settled:
        return slack_text.already_confirming()
    if outcome.job_id is None:
        return slack_text.already_confirmed_no_job((outcome.said or "").partition("\n")[0])
    return slack_text.already_confirmed(outcome.job_id, job_status)
