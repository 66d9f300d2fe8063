"""App Home: the person's toil week (with Stop while a timer runs), their running jobs and
their recent results, each with when it ended (Slack's date token: the reader's own time).

After a click on Stop here, the Home is published again with a line at the top saying
what happened ("Timer stopped. Logged entry 5: 42m of operating (incident)."): the
click's feedback, where the click was.
"""

from __future__ import annotations

from typing import Any

from bot.execution import render
from bot.execution.records import JobRecord
from bot.frontends.slack import text as slack_text
from bot.frontends.slack.blocks import (
    MAX_BLOCKS,
    TEXT_BUDGET,
    Block,
    cancel_button,
    section,
    stop_timer_block,
    text_length,
)
from bot.frontends.slack.mrkdwn import Mrkdwn, escape
from bot.platform.formatting import typed, when

RUNNING_SHOWN = 10
RECENT_SHOWN = 15


def _result(record: JobRecord) -> Block:
    """A finished job: its command, how it ended and when (in the reader's time)."""
    ended = record.finished_at or record.started_at or record.created_at
    line = escape(f"`{typed(record.command)}`\n{render.summary_line(record)}")
    return section(Mrkdwn(f"{line} · {when(ended)}"))


def home_view(
    running: list[JobRecord],
    recent: list[JobRecord],
    toil: str = "",
    timer_running: bool = False,
    notice: str | None = None,
) -> dict[str, Any]:
    """The Home tab; ``notice`` (the answer to a click on it) goes first."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "toilbot"}},
    ]
    if notice:
        blocks.append(section(notice))
    if toil:
        blocks.append(section(toil))
        if timer_running:
            blocks.append(stop_timer_block())
        blocks.append({"type": "divider"})
    blocks.append(section(slack_text.home_running(bool(running))))
    for record in running[:RUNNING_SHOWN]:
        started = record.started_at or record.created_at
        job = escape(f"{render.summary_line(record)}\n`{typed(record.command)}`")
        blocks.append(section(Mrkdwn(f"{job} · {slack_text.home_since(when(started))}")))
        blocks.append({"type": "actions", "elements": [cancel_button(record.id)]})
    blocks.append({"type": "divider"})
    blocks.append(section(slack_text.home_recent(bool(recent))))
    for record in recent[:RECENT_SHOWN]:
        result = _result(record)
        if text_length([*blocks, result]) > TEXT_BUDGET - 100:  # room for the footer
            break  # Slack's total for a view: the newest results are shown
        blocks.append(result)
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": slack_text.home_footer()}],
        }
    )
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
