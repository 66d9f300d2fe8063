"""The Bolt app: /ops, mentions and DMs, buttons and App Home, on the same pipeline as the console.

Only fast work happens before Slack gets its answer (parse, policy, enqueue:
a few Redis round trips), with ``process_before_response=True``; the job's
own message is posted and edited by the worker that runs it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltResponse, Respond, Say
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.frontends import text as frontend_text
from bot.frontends.slack import outbox
from bot.frontends.slack import text as slack_text
from bot.frontends.slack.actions import ACTION, action_blocks, run_action
from bot.frontends.slack.blocks import (
    Block,
    approval_blocks,
    confirm_blocks,
    reply_blocks,
    stop_timer_block,
)
from bot.frontends.slack.confirmations import CONFIRMED, DECLINED, Prompts
from bot.frontends.slack.directory import SlackDirectory
from bot.frontends.slack.fallback import say_or_dm
from bot.frontends.slack.home import home_view
from bot.frontends.slack.identity import authorizer
from bot.frontends.slack.mrkdwn import escape
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.slack.still_working import clock
from bot.frontends.slack.zones import learn_zone
from bot.pipeline.approvals import ApprovalRequest
from bot.pipeline.bot import Bot, Outcome, Reply
from bot.pipeline.request import Channel, ReplyTo, Request
from bot.platform.audit import AuditAction
from bot.platform.store import QUEUE, Keys
from bot.toil.ledger import Ledger
from bot.toil.report import person_weeks

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@[A-Z0-9]+>")


def build_app(bot: Bot, slack: SlackSettings, client: WebClient, *, socket_mode: bool) -> App:
    app = App(
        client=client,
        signing_secret=slack.signing_secret,
        process_before_response=True,
        request_verification_enabled=not socket_mode,
        # Not Bolt's auth.test at build time: a worker built while Slack is down would fail
        # to boot and stop the server. The identity is asked once and kept (identity.py).
        authorize=authorizer(client, bot.jobs.r),
    )
    directory = SlackDirectory(client, bot.jobs.r)
    bot.groups = directory  # roles given to Slack user groups
    handlers = SlackHandlers(bot, directory)
    app.middleware(handlers.skip_retried_events)
    app.command("/ops")(handlers.ops)
    app.command("/toil")(handlers.toil)
    app.event("app_mention")(handlers.mention)
    app.event({"type": "message", "channel_type": "im"})(handlers.direct_message)
    app.event("message")(lambda: None)  # other messages: nothing to do
    app.action("toilbot_confirm")(handlers.confirm)
    app.action("toilbot_decline")(handlers.decline)
    app.action("toilbot_cancel_job")(handlers.cancel_job)
    app.action("toilbot_approve")(handlers.approve)
    app.action("toilbot_deny")(handlers.deny)
    app.action("toilbot_stop_timer")(handlers.stop_timer)
    app.action("toilbot_skip_run")(handlers.skip_run)
    app.action("toilbot_timer_keep")(handlers.keep_timer)
    app.action("toilbot_timer_stop_at_limit")(handlers.stop_timer_at_limit)
    app.action(ACTION)(lambda ack, body, respond: run_action(bot, ack, body, respond))
    app.event("app_home_opened")(handlers.home)
    app.event("subteam_members_changed")(handlers.usergroup_changed)
    app.event("subteam_updated")(handlers.usergroup_changed)
    return app


def _unescape(text: str) -> str:
    """Slack escapes &, < and > in what people type; the parser reads what they typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackHandlers:
    def __init__(self, bot: Bot, directory: SlackDirectory) -> None:
        self.bot = bot
        self.r = bot.jobs.r
        self.directory = directory
        self.prompts = Prompts(self.r, bot.jobs)

    # --- middleware -----------------------------------------------------------

    def skip_retried_events(self, body: dict[str, Any], next: Callable[[], BoltResponse]) -> Any:
        """Slack re-sends an event it thinks was lost; each event runs once."""
        event_id = body.get("event_id")
        if event_id and not self.r.set(Keys.slack_event(str(event_id)), 1, nx=True, ex=3600):
            return BoltResponse(status=200, body="")
        return next()

    # --- commands ---------------------------------------------------------------

    def _reply(
        self,
        command_text: str,
        user: str,
        channel: Channel,
        thread_ts: str | None,
        client: WebClient,
    ) -> tuple[Reply, list[Block]]:
        # The channel's name travels with the job: policy rules may name channels.
        reply_to = ReplyTo(channel.id or "", user, channel.name, thread_ts)
        reply = self.bot.handle(
            Request(command_text, user, "slack", queue=QUEUE, reply_to=reply_to, channel=channel)
        )
        if reply.outcome is Outcome.NEEDS_CONFIRMATION:
            pending = {
                "text": command_text,
                "user": user,
                "channel_name": channel.name,
                **reply_to.to_json(),
            }
            return reply, confirm_blocks(reply.text, self.prompts.ask(pending))
        if reply.outcome is Outcome.NEEDS_APPROVAL and reply.approval is not None:
            note = self._post_approval(client, reply.approval, channel, thread_ts)
            reply = Reply(reply.outcome, f"{reply.text}\n{note}", approval=reply.approval)
        blocks = reply_blocks(reply.text, job=reply.job.id if reply.job else None)
        return reply, [*blocks, *action_blocks(reply)]

    def _learn_zone(self, client: WebClient, user: str, command_text: str) -> None:
        """Before a `toil` command: the person's timezone from Slack, if not cached."""
        if command_text.strip().lower().startswith("toil"):
            learn_zone(self.r, client, user, self.bot.settings.timezone)

    def _post_approval(
        self, client: WebClient, request: ApprovalRequest, channel: Channel, thread_ts: str | None
    ) -> str:
        """The request message with Approve / Deny, where the command was typed."""
        args: dict[str, Any] = {
            "channel": channel.id or f"#{channel.name}",
            "text": escape(slack_text.approval_message(request)),
            "blocks": approval_blocks(request),
        }
        if thread_ts:
            args["thread_ts"] = thread_ts
        try:
            posted = client.chat_postMessage(**args)
        except SlackApiError as exc:
            return slack_text.approval_not_posted(request.id, str(exc.response.get("error", "")))
        except Exception as exc:  # Slack unreachable: the request stands; approve by command
            return slack_text.approval_not_posted(request.id, str(exc))
        ts = str(posted["ts"])
        self.bot.approvals.set_message(request.id, str(posted["channel"]), ts, thread_ts or ts)
        return slack_text.approval_posted(request.id)

    def _deliver_announcements(self, client: WebClient) -> None:
        """Post the thread announcements a click queued, without holding up Slack's answer."""
        threading.Thread(
            target=outbox.deliver_due, args=(self.r, client), name="toilbot-announce", daemon=True
        ).start()

    def ops(self, ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        reply, blocks = self._reply(
            _unescape(command.get("text", "")),
            command["user_id"],
            _slash_channel(command),
            None,
            client,
        )
        ack(text=escape(reply.text), blocks=blocks, response_type="ephemeral")

    def toil(self, ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        user = command["user_id"]
        self._learn_zone(client, user, "toil")
        reply, blocks = self._reply(
            "toil " + _unescape(command.get("text", "")),
            user,
            _slash_channel(command),
            None,
            client,
        )
        if Ledger(self.r).timer(user) is not None:
            blocks = [*blocks, stop_timer_block()]
        ack(text=escape(reply.text), blocks=blocks, response_type="ephemeral")

    def stop_timer(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        user = body["user"]["id"]
        had_timer = Ledger(self.r).timer(user) is not None
        reply = self.bot.handle(Request("toil stop", user, "slack"))
        if (body.get("view") or {}).get("type") == "home":  # the new figures, and what happened
            stopped = slack_text.home_timer_stopped(reply.text) if had_timer else reply.text
            self._publish_home(client, user, notice=stopped)
        else:
            respond(text=escape(reply.text), replace_original=True)

    def keep_timer(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """ "Still working?" > Keep going: the timer counts on for another limit."""
        ack()
        user, started = body["user"]["id"], float(body["actions"][0]["value"])
        kept = Ledger(self.r).keep(user, started, time.time(), self.bot.settings.toil.timer_limit)
        if kept is None:
            respond(text=slack_text.timer_gone(), replace_original=True)
            return
        until = clock(kept.counts_until(self.bot.settings.toil.timer_limit), kept.tz)
        respond(text=slack_text.still_working_kept(until), replace_original=True)

    def stop_timer_at_limit(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """ "Still working?" > Stop: the timer ends where it stopped counting."""
        ack()
        user, started = body["user"]["id"], float(body["actions"][0]["value"])
        timer = Ledger(self.r).timer(user)
        if timer is None or timer.started != started:
            respond(text=slack_text.timer_gone(), replace_original=True)
            return
        reply = self.bot.handle(Request("toil stop", user, "slack"))
        respond(text=escape(slack_text.still_working_stopped(reply.text)), replace_original=True)

    def mention(self, event: dict[str, Any], say: Say, client: WebClient) -> None:
        words = _MENTION.sub("", event.get("text", "")).strip()
        self._learn_zone(client, event["user"], words)
        thread = event.get("thread_ts") or event["ts"]
        channel = Channel(event["channel"], self.directory.channel_name(event["channel"]))
        reply, blocks = self._reply(_unescape(words), event["user"], channel, thread, client)
        say_or_dm(say, client, event["user"], event["channel"], escape(reply.text), blocks, thread)

    def direct_message(self, event: dict[str, Any], say: Say, client: WebClient) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return  # our own messages and edits
        self._learn_zone(client, event["user"], event.get("text", ""))
        reply, blocks = self._reply(
            _unescape(event.get("text", "")), event["user"], Channel(event["channel"]), None, client
        )
        say(text=escape(reply.text), blocks=blocks)

    # --- buttons ------------------------------------------------------------------

    def confirm(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        token = body["actions"][0]["value"]
        pending = self.prompts.pending(token)
        clicker = body["user"]["id"]
        if pending is None:
            self._audit(AuditAction.CONFIRMATION_EXPIRED, clicker, body)
            if self._answer_repeat(token, respond):
                return
            respond(text=escape(slack_text.confirmation_expired()), replace_original=True)
            return
        if clicker != pending["user"]:
            self._audit(AuditAction.CONFIRMATION_REFUSED, clicker, body, pending)
            respond(
                text=slack_text.only_requester_confirms(pending["user"]),
                replace_original=False,
                response_type="ephemeral",
            )
            return
        if not self.prompts.claim(token, CONFIRMED):  # a double click: the first one runs it
            self._answer_repeat(token, respond)
            return
        request = _confirmed(pending)  # the clicker is its requester
        self.bot.record_confirmation(request, True)
        reply = self.bot.handle(request)
        self.prompts.settle(token, CONFIRMED, reply.job.id if reply.job else None, reply.text)
        blocks = reply_blocks(reply.text, job=reply.job.id if reply.job else None)
        respond(text=escape(reply.text), blocks=blocks, replace_original=True)

    def decline(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        token = body["actions"][0]["value"]
        pending = self.prompts.pending(token)
        if pending is not None and pending["user"] != body["user"]["id"]:
            return
        if pending is None or not self.prompts.claim(token, DECLINED):
            if self._answer_repeat(token, respond):
                return  # Confirm came first: say what it queued
        else:
            self.bot.record_confirmation(_confirmed(pending), False)
            self.prompts.settle(token, DECLINED, None, frontend_text.confirm_declined())
        respond(text=escape(frontend_text.confirm_declined()), replace_original=True)

    def _answer_repeat(self, token: str, respond: Respond) -> bool:
        """A click on a prompt an earlier click answered: what that click led to, privately."""
        said = self.prompts.repeat_answer(token)
        if said is not None:
            respond(text=escape(said), replace_original=False, response_type="ephemeral")
        return said is not None

    def _audit(
        self,
        action: AuditAction,
        user: str,
        body: dict[str, Any],
        pending: dict[str, Any] | None = None,
    ) -> None:
        """A click that runs nothing: expired, or not the requester's."""
        self.bot.audit.try_record(
            action,
            user=user,
            source="slack",
            channel=(body.get("channel") or {}).get("id"),
            command=pending["text"] if pending else None,
            rule=slack_text.audit_requester_rule(pending["user"]) if pending else None,
        )

    def cancel_job(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        job_id = body["actions"][0]["value"]
        where = body.get("channel") or {}
        channel = Channel(where.get("id"), where.get("name")) if where else None
        reply = self.bot.handle(
            Request(f"cancel {job_id}", body["user"]["id"], "slack", channel=channel)
        )
        respond(text=escape(reply.text), replace_original=False, response_type="ephemeral")

    def skip_run(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The Skip button of a heads-up: the owner, or anyone with `schedule`, skips that run."""
        ack()
        name, _, fire = str(body["actions"][0]["value"]).partition(" ")
        reply = self.bot.handle(
            Request(f"schedule skip {name} {fire}", body["user"]["id"], "slack")
        )
        if reply.ok:
            respond(text=escape(reply.text), replace_original=False, response_type="in_channel")
        else:
            respond(text=escape(reply.text), replace_original=False, response_type="ephemeral")

    # --- user groups -----------------------------------------------------------------

    def usergroup_changed(self, event: dict[str, Any]) -> None:
        """Slack says a user group changed: its cached members are dropped."""
        group = event.get("subteam_id") or (event.get("subteam") or {}).get("id")
        if group:
            self.directory.forget(str(group))

    def approve(self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """Approve on a request message: the same checks as `approve <id>`, answered privately."""
        self._vote("approve", ack, body, respond, client)

    def deny(self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        self._vote("deny", ack, body, respond, client)

    def _vote(
        self, verb: str, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        request_id = body["actions"][0]["value"]
        reply = self.bot.handle(
            Request(f"{verb} {request_id}", body["user"]["id"], "slack", queue=QUEUE)
        )
        respond(text=escape(reply.text), replace_original=False, response_type="ephemeral")
        self._deliver_announcements(client)

    # --- App Home -------------------------------------------------------------------

    def home(self, event: dict[str, Any], client: WebClient) -> None:
        self._publish_home(client, event["user"])

    def _publish_home(self, client: WebClient, user: str, notice: str | None = None) -> None:
        self.bot.jobs.reap(self.bot.settings.jobs.lease_seconds)
        mine = [r for r in self.bot.jobs.recent(100) if r.user == user]
        running = [r for r in mine if not r.status.terminal]
        done = [r for r in mine if r.status.terminal]
        settings, now = self.bot.settings, time.time()
        ledger = Ledger(self.r)
        timer = ledger.timer(user)
        toil = slack_text.home_toil(
            person_weeks(ledger, user, settings.timezone, now),
            settings.toil.thresholds,
            (timer.kind.value, timer.category, now - timer.started) if timer else None,
        )
        view = home_view(running, done, toil, timer is not None, notice)
        client.views_publish(user_id=user, view=view)


def _confirmed(pending: dict[str, Any]) -> Request:
    """The command a confirmation prompt asked about, confirmed by its requester."""
    return Request(
        pending["text"],
        pending["user"],
        "slack",
        confirmed=True,
        queue=QUEUE,
        reply_to=ReplyTo(pending["channel"], pending["user"], thread_ts=pending.get("thread_ts")),
        channel=Channel(pending["channel"] or None, pending.get("channel_name")),
    )


def _slash_channel(command: dict[str, Any]) -> Channel:
    return Channel(command.get("channel_id"), command.get("channel_name") or None)
