"""The approval notices port: how people hear that a request changed.

``Approvals`` calls an ``ApprovalNotifier`` after every recorded event; the
start-up wiring chooses it (the Slack front end posts in the request's thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.pipeline.approvals import ApprovalRequest


class ApprovalNotifier(Protocol):
    def approval_changed(self, request: ApprovalRequest, code: str, who: str) -> None:
        """``who`` changed ``request`` (``code``: the transition's outcome); tell people."""


class NoNotices:
    """Where nobody is told (tests, tools): the change is still audited."""

    def approval_changed(self, request: ApprovalRequest, code: str, who: str) -> None:
        return None
