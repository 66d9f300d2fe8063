"""Block Kit views within Slack's limits: 50 blocks a message, 3000 characters a section.

Text that does not fit is never cut silently: ``fits`` says so, and the caller
posts the full text as a file in the thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.execution import render
from bot.execution.records import JobRecord
from bot.frontends.slack import text as slack_text
from bot.frontends.slack.mrkdwn import Mrkdwn, escape

if TYPE_CHECKING:
    from bot.pipeline.approvals import ApprovalRequest

MAX_BLOCKS = 50
MAX_SECTION = 3000
Block = dict[str, Any]


def section(text: str) -> Block:
    """A mrkdwn section; its text is escaped here (once: escaped text is left as it is)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": escape(text)}}


def _chunks(text: str, size: int) -> list[str]:
    """Split at line ends into pieces of at most ``size`` characters."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > size:  # a single very long line
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:size])
            line = line[size:]
        if len(current) + len(line) > size:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return pieces


def text_blocks(text: str, *, code: bool = False) -> list[Block]:
    fence = 8 if code else 0  # room for ``` and newlines
    blocks = []
    for piece in _chunks(escape(text), MAX_SECTION - fence):  # measured as Slack gets it
        body = f"```\n{piece.rstrip()}\n```" if code else piece
        blocks.append(section(Mrkdwn(body)))
    return blocks


def reply_blocks(text: str) -> list[Block]:
    """A reply: prose as is; tables (lines indented by the renderer) in monospace."""
    head, _, rest = text.partition("\n")
    if rest and any(line.startswith("  ") for line in rest.splitlines()):
        return [section(head), *text_blocks(rest, code=True)]
    return text_blocks(text)


@dataclass(frozen=True)
class JobView:
    blocks: list[Block]
    text: str  # the whole message as text (notifications, and the file when it does not fit)
    complete: bool  # False: the blocks carry a summary; post ``text`` as a file

    def message(self) -> dict[str, Any]:
        """Arguments of chat.postMessage / chat.update (text is the notification fallback)."""
        return {"text": escape(self.text[:MAX_SECTION]), "blocks": self.blocks}


def job_blocks(record: JobRecord, output: list[str] | None = None) -> JobView:
    """The job message: summary, per-host table, a Cancel button while it runs."""
    full = render.job_text(record, output)
    head, _, table = full.partition("\n")
    blocks: list[Block] = [section(head), *text_blocks(table, code=True)]
    actions = [] if record.status.terminal else [_cancel_button(record.id)]
    complete = len(blocks) + len(actions) <= MAX_BLOCKS
    if not complete:
        blocks = [
            section(head),
            section(render.summary_line(record)),
            section(
                f"The per-host results of {len(record.hosts)} hosts are in the thread, as a file."
            ),
        ]
    if actions:
        blocks.append({"type": "actions", "elements": actions})
    return JobView(blocks, full, complete)


def _cancel_button(job_id: int) -> Block:
    return {
        "type": "button",
        "action_id": "toilbot_cancel_job",
        "text": {"type": "plain_text", "text": "Cancel job"},
        "style": "danger",
        "value": str(job_id),
        "confirm": {
            "title": {"type": "plain_text", "text": f"Cancel job {job_id}?"},
            "text": {"type": "mrkdwn", "text": "The Ansible run is stopped where it is."},
            "confirm": {"type": "plain_text", "text": "Cancel it"},
            "deny": {"type": "plain_text", "text": "Keep it running"},
        },
    }


def stop_timer_block() -> Block:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "toilbot_stop_timer",
                "text": {"type": "plain_text", "text": "Stop timer"},
                "value": "stop",
            }
        ],
    }


def still_working_blocks(prompt: str, started: float, until: str) -> list[Block]:
    """The "still working?" DM: Keep going, or Stop where the timer stopped counting."""
    value = repr(started)
    return [
        section(prompt),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "toilbot_timer_keep",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Keep going"},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": "toilbot_timer_stop_at_limit",
                    "text": {"type": "plain_text", "text": f"Stop at {until}"},
                    "value": value,
                },
            ],
        },
    ]


def confirm_blocks(prompt: str, token: str) -> list[Block]:
    return [
        section(prompt),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "toilbot_confirm",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Confirm"},
                    "value": token,
                },
                {
                    "type": "button",
                    "action_id": "toilbot_decline",
                    "text": {"type": "plain_text", "text": "Don't run it"},
                    "value": token,
                },
            ],
        },
    ]


def approval_blocks(request: ApprovalRequest) -> list[Block]:
    """The request message: what would run, for whom, until when; Approve / Deny while open."""
    blocks: list[Block] = text_blocks(slack_text.approval_message(request))
    if request.state.open:
        value = str(request.id)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"toilbot_approval_{request.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "toilbot_approve",
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Approve"},
                        "value": value,
                    },
                    {
                        "type": "button",
                        "action_id": "toilbot_deny",
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Deny"},
                        "value": value,
                    },
                ],
            }
        )
    return blocks


def home_view(
    user: str,
    running: list[JobRecord],
    recent: list[JobRecord],
    toil: str = "",
    timer_running: bool = False,
) -> dict[str, Any]:
    """App Home: the person's toil week (with Stop while a timer runs), jobs, recent results."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "toilbot"}},
    ]
    if toil:
        blocks.append(section(toil))
        if timer_running:
            blocks.append(stop_timer_block())
        blocks.append({"type": "divider"})
    blocks += [
        section("*Your running jobs*" if running else "*Your running jobs*\nNone right now."),
    ]
    for record in running[:10]:
        blocks.append(section(render.summary_line(record) + f"\n`{record.command}`"))
        blocks.append({"type": "actions", "elements": [_cancel_button(record.id)]})
    blocks.append({"type": "divider"})
    blocks.append(
        section("*Your recent results*" if recent else "*Your recent results*\nNo jobs yet.")
    )
    for record in recent[:15]:
        blocks.append(section(f"`{record.command}`\n{render.summary_line(record)}"))
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Type `/ops help` for the commands."}],
        }
    )
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def heads_up_blocks(text: str, schedule: str, fire: int) -> list[Block]:
    return [
        section(text),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "toilbot_skip_run",
                    "text": {"type": "plain_text", "text": "Skip this run"},
                    "value": f"{schedule} {fire}",
                }
            ],
        },
    ]
