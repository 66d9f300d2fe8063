"""The weekly toil summary in Slack: the team's figures and the chart in the configured channel
(``toil.summary.channel``), and each person's own figures in a DM.

The channel gets one message: the chart uploaded with files_upload_v2, the summary
text as its initial comment (Slack shows the text, then the image). The comment is
plain mrkdwn text (Slack ignores ``blocks`` when ``initial_comment`` is given), well
within Slack's size limits: a few headline lines and three short tables. If Slack
refuses the upload, the summary is still posted, as a message without the chart.

The scheduler calls :func:`post_weekly_summary` (by default every Monday
09:00, team time) for the week that just ended; `toilbot toil summary --post`
does the same by hand.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.frontends import text as frontend_text
from bot.frontends.scheduler import Task
from bot.frontends.slack import outbox
from bot.frontends.slack import text as slack_text
from bot.frontends.slack.blocks import text_blocks
from bot.frontends.slack.mrkdwn import escape
from bot.pipeline.settings import Settings
from bot.platform.errors import ConfigError, ParseError
from bot.platform.store import Store
from bot.toil.chart import chart_png
from bot.toil.ledger import Ledger
from bot.toil.report import chart_description, personal_message
from bot.toil.summary import Summary, build_summary
from bot.toil.weeks import parse_week, previous, week_of

log = logging.getLogger(__name__)
SUMMARY_TASK = "toilbot.weekly-summary"
SUMMARY_WINDOW = 12 * 3600  # a scheduler back by Monday 21:00 still posts Monday's summary


@dataclass
class Posted:
    summary: Summary
    text: str  # the channel message
    channel: str  # the channel's id
    file_id: str | None  # the chart, with the text as its initial comment; None: text only
    dms: list[str] = field(default_factory=list)  # people who got their figures
    failed: dict[str, str] = field(default_factory=dict)  # people Slack refused: user -> error
    queued: list[str] = field(default_factory=list)  # DMs kept in the outbox (Slack busy, down)


def summary_week(week: str | None, tz: str, now: float | None = None) -> tuple[int, int]:
    """``2026-W47``, or by default the last complete week before ``now`` in ``tz``."""
    if week is not None:
        parsed = parse_week(week)
        if parsed is None:
            raise ParseError(frontend_text.bad_week(week))
        return parsed
    return previous(*week_of(time.time() if now is None else now, tz))


def weekly_summary(
    settings: Settings, store: Store, week: str | None = None, now: float | None = None
) -> Summary:
    year, number = summary_week(week, settings.timezone, now)
    return build_summary(
        Ledger(store.redis), settings.timezone, settings.toil.thresholds, year, number
    )


def post_weekly_summary(
    settings: Settings,
    store: Store,
    client: WebClient,
    week: str | None = None,
    now: float | None = None,
) -> Posted:
    """Post the summary of ``week`` (default: the last complete week) with its chart, then DM
    each person their own figures. Raises ConfigError without a channel, ParseError for a
    malformed week, SlackApiError when Slack refuses the channel message or the chart."""
    channel = settings.toil.summary_channel
    if channel is None:
        raise ConfigError(
            str(settings.config_path),
            "toil.summary.channel",
            "is not set",
            'set it to the channel for the weekly summary, e.g. "#ops"',
        )
    summary = weekly_summary(settings, store, week, now)
    text = frontend_text.weekly_summary(summary, settings.toil.summary_names)
    channel_id = _channel_id(settings, client, channel)
    first, last = summary.weeks[0].week, summary.weeks[-1].week
    try:
        upload = client.files_upload_v2(
            channel=channel_id,
            file=chart_png(summary),
            filename=f"toil-ratio-{summary.week}.png",
            title=slack_text.summary_chart_title(first, last),
            alt_txt=chart_description(summary),
            initial_comment=escape(text),
        )
        posted = Posted(summary, text, channel_id, str(upload["file"]["id"]))
    except SlackApiError as exc:  # no chart (files:write revoked, upload refused): the text
        log.warning("weekly summary: the chart was refused (%s); posting the text", exc)
        client.chat_postMessage(channel=channel_id, text=escape(text), blocks=text_blocks(text))
        posted = Posted(summary, text, channel_id, None)
    for user in summary.people:
        args: dict[str, Any] = {"channel": user, "text": escape(personal_message(summary, user))}
        sent = outbox.deliver(
            store.redis, client, "chat.postMessage", args, about=f"weekly summary: DM to {user}"
        )
        if sent.outcome is outbox.Delivered.SENT:
            posted.dms.append(user)
        elif sent.outcome is outbox.Delivered.KEPT:  # Slack busy or unreachable: later
            posted.queued.append(user)
        else:  # not a Slack user (console ids), deactivated...
            posted.failed[user] = sent.error
    return posted


def _channel_id(settings: Settings, client: WebClient, channel: str) -> str:
    """files.completeUploadExternal takes a channel id only (C…, G…): a "#name" is looked up."""
    name = channel.lstrip("#")
    if re.fullmatch(r"[CGDZ][A-Z0-9]{8,}", name):
        return name
    cursor = ""
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        for found in page.get("channels") or []:
            if found.get("name") == name:
                return str(found["id"])
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            raise ConfigError(
                str(settings.config_path),
                "toil.summary.channel",
                f"names no channel the bot can see ({channel})",
                "check the name, or set the channel's id (C…), or invite the bot to it",
            )


def summary_tasks(settings: Settings, store: Store, client: WebClient) -> tuple[Task, ...]:
    """The weekly summary as a scheduler task (``toil.summary.cron``, default Monday 09:00 team
    time), when a channel is configured; once per week whatever the number of schedulers."""
    when = settings.summary_when
    if settings.toil.summary_channel is None or when is None:
        return ()

    def post(fire: int) -> str:
        posted = post_weekly_summary(settings, store, client, now=fire)
        return frontend_text.summary_posted(
            posted.channel, posted.summary.week, len(posted.dms), posted.failed
        )

    return (Task(SUMMARY_TASK, when, SUMMARY_WINDOW, post),)
