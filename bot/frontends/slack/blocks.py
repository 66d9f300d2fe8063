"""Block Kit views within Slack's limits: 50 blocks a message, 3000 characters a section,
and about 12,000 characters of text in all the blocks of a message together.

The total is measured, not guessed from the block count: Slack refuses a message over it
with ``msg_blocks_too_long`` although every block is within its own limit. A job table that
does not fit becomes a summary (``JobView.complete`` is False) and the caller posts the full
text as a file in the thread; other long text is cut with a note saying so.
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
# Slack's total for the text of all blocks of a message (slackapi/bolt-js#2509). Slack counts
# in ways it does not document (#2867: refused at 11,341 by a text-only count), so toilbot
# stays well below it.
MAX_MESSAGE_TEXT = 12000
TEXT_BUDGET = 10000
SUMMARY_HOSTS = 10  # host lines in the summary of a job too large for one message
SUMMARY_LINE = 200  # characters of one host line there
Block = dict[str, Any]


def text_length(value: Any) -> int:
    """The characters of every ``text`` string in blocks (sections, buttons, confirm dialogs)."""
    if isinstance(value, list):
        return sum(text_length(item) for item in value)
    if not isinstance(value, dict):
        return 0
    return sum(
        len(item) if key == "text" and isinstance(item, str) else text_length(item)
        for key, item in value.items()
    )


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


def _sections(text: str, code: bool) -> list[Block]:
    fence = 8 if code else 0  # room for ``` and newlines
    blocks = []
    for piece in _chunks(escape(text), MAX_SECTION - fence):  # measured as Slack gets it
        body = f"```\n{piece.rstrip()}\n```" if code else piece
        blocks.append(section(Mrkdwn(body)))
    return blocks


def text_blocks(
    text: str, *, code: bool = False, budget: int = TEXT_BUDGET, job: int | None = None
) -> list[Block]:
    """``text`` in sections of at most 3000 characters, ``budget`` characters in all.

    Text over the budget is cut at a line end, with a note saying how much is missing
    and, for a job's text, where the whole of it is (``job``).
    """
    blocks = _sections(text, code)
    if text_length(blocks) <= budget and len(blocks) < MAX_BLOCKS:
        return blocks
    lines = [
        line[i : i + 1000] for line in text.splitlines() for i in range(0, len(line) or 1, 1000)
    ]
    note = section(slack_text.cut_to_fit(len(lines), job))  # the longest the note can be

    def fits(kept: int) -> bool:
        shown = _sections("\n".join(lines[:kept]), code)
        return text_length([*shown, note]) <= budget and len(shown) < MAX_BLOCKS

    low, high = 0, len(lines)  # fits(low); the most lines that fit, in log2(lines) measures
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    shown = _sections("\n".join(lines[:low]), code) if low else []
    return [*shown, section(slack_text.cut_to_fit(len(lines) - low, job))]


def reply_blocks(text: str, *, job: int | None = None) -> list[Block]:
    """A reply: prose as is; tables (lines indented by the renderer) in monospace."""
    head, _, rest = text.partition("\n")
    if rest and any(line.startswith("  ") for line in rest.splitlines()):
        first = section(head)
        budget = TEXT_BUDGET - text_length(first)
        return [first, *text_blocks(rest, code=True, budget=budget, job=job)]
    return text_blocks(text, job=job)


@dataclass(frozen=True)
class JobView:
    blocks: list[Block]
    text: str  # the whole message as plain text: the file, when the table does not fit
    complete: bool  # False: the blocks carry a summary; post ``text`` as a file
    outcome: str = ""  # the first line (mrkdwn): the notification text

    def message(self) -> dict[str, Any]:
        """Arguments of chat.postMessage / chat.update: the notification text is the outcome."""
        return {"text": escape(self.outcome[:MAX_SECTION]), "blocks": self.blocks}


def job_blocks(record: JobRecord, output: list[str] | None = None) -> JobView:
    """The job message: the outcome first, what ran, the per-host table (failed hosts first),
    where the full output is, and a Cancel button while it runs.

    When the table would take Slack over its total (``TEXT_BUDGET``, measured) or over 50
    blocks, the message is a summary instead: the outcome, what ran, at most
    ``SUMMARY_HOSTS`` host lines (failed first); ``complete`` is False and the caller
    posts ``text`` as a file in the thread.
    """
    outcome = render.headline(record)
    head = section(f"*{outcome}*\n{render.about_line(record)}")
    table = render.host_table(record) + render.output_lines(output)
    blocks: list[Block] = [
        head,
        *_sections("\n".join(table), code=True),
        _context(slack_text.full_output(record.id)),
    ]
    actions = [] if record.status.terminal else [cancel_button(record.id)]
    complete = (
        len(blocks) + len(actions) <= MAX_BLOCKS
        and text_length(blocks) + text_length(actions) <= TEXT_BUDGET
    )
    if not complete:
        blocks = _summary_blocks(record, head)
    if actions:
        blocks.append({"type": "actions", "elements": actions})
    return JobView(blocks, render.job_text(record, output, render.PLAIN), complete, outcome)


def _summary_blocks(record: JobRecord, head: Block) -> list[Block]:
    """Outcome first, then what ran, the first host lines (failed first), where the rest is."""
    hosts = render.ordered(record)
    width = max((len(h.host) for h in hosts[:SUMMARY_HOSTS]), default=4)
    lines = [render.host_line(h, width)[:SUMMARY_LINE] for h in hosts[:SUMMARY_HOSTS]]
    if len(hosts) > SUMMARY_HOSTS:
        lines.append(slack_text.more_hosts(len(hosts) - SUMMARY_HOSTS))
    return [
        head,
        *_sections("\n".join(lines), code=True),
        section(slack_text.results_in_file(len(record.hosts))),
        _context(slack_text.full_output(record.id)),
    ]


def _context(text: str) -> Block:
    """A line in small print under the message; escaped like a section."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(text)}]}


def cancel_button(job_id: int) -> Block:
    """Cancel, with Slack's confirmation dialog: a job message's and App Home's."""
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
