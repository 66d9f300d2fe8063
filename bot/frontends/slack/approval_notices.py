"""Approval events in Slack: each one in the request's thread, and the request message updated.

Deliveries go through the outbox, so whichever process made the change
(the Slack app, a console, a worker's sweeper) need not reach Slack itself,
and an outage loses nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from bot.frontends.slack import outbox, text
from bot.frontends.slack.blocks import approval_blocks
from bot.frontends.slack.mrkdwn import escape

if TYPE_CHECKING:
    from bot.pipeline.approvals import ApprovalRequest


class SlackApprovalNotices:
    """ApprovalNotifier: approval events in the request's Slack thread, via the outbox."""

    def __init__(self, r: redis.Redis) -> None:
        self.r = r

    def approval_changed(self, request: ApprovalRequest, code: str, who: str) -> None:
        approval_changed(self.r, request, code, who)


def approval_changed(r: redis.Redis, request: ApprovalRequest, code: str, who: str) -> None:
    """Announce a change of ``request`` made by ``who``; nothing for requests not (yet) in Slack."""
    if not request.channel or not request.message_ts:
        return
    event = text.approval_event(
        request.state.value,
        code,
        who,
        request.approvers,
        request.quorum,
        request.job_id,
        request.reason,
    )
    outbox.put(
        r,
        "chat.postMessage",
        {
            "channel": request.channel,
            "thread_ts": request.thread_ts or request.message_ts,
            "text": escape(event),
        },
    )
    body = text.approval_message(request)
    outbox.put(
        r,
        "chat.update",
        {
            "channel": request.channel,
            "ts": request.message_ts,
            "text": escape(body),
            "blocks": approval_blocks(request),
        },
    )
