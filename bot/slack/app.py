"""The Bolt app: /ops, mentions and DMs, buttons and App Home, on the same pipeline as the console.

Only fast work happens before Slack gets its answer (parse, policy, enqueue:
a few Redis round trips), with ``process_before_response=True``; the job's
own message is posted and edited by the worker that runs it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltResponse, Respond, Say
from slack_sdk import WebClient

from bot import messages
from bot.audit import AuditAction
from bot.service import Bot, Outcome, Reply
from bot.slack.blocks import confirm_blocks, home_view, reply_blocks, stop_timer_block
from bot.slack.settings import SlackSettings
from bot.store import QUEUE, Keys, text
from bot.toil.ledger import Ledger

log = logging.getLogger(__name__)
CONFIRM_SECONDS = 600
_MENTION = re.compile(r"<@[A-Z0-9]+>")


def build_app(bot: Bot, slack: SlackSettings, client: WebClient, *, socket_mode: bool) -> App:
    app = App(
        client=client,
        signing_secret=slack.signing_secret,
        process_before_response=True,
        request_verification_enabled=not socket_mode,
    )
    handlers = SlackHandlers(bot)
    app.middleware(handlers.skip_retried_events)
    app.command("/ops")(handlers.ops)
    app.command("/toil")(handlers.toil)
    app.event("app_mention")(handlers.mention)
    app.event({"type": "message", "channel_type": "im"})(handlers.direct_message)
    app.event("message")(lambda: None)  # other messages: nothing to do
    app.action("toilbot_confirm")(handlers.confirm)
    app.action("toilbot_decline")(handlers.decline)
    app.action("toilbot_cancel_job")(handlers.cancel_job)
    app.action("toilbot_stop_timer")(handlers.stop_timer)
    app.event("app_home_opened")(handlers.home)
    return app


class SlackHandlers:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.r = bot.jobs.r

    # --- middleware -----------------------------------------------------------

    def skip_retried_events(self, body: dict[str, Any], next: Callable[[], BoltResponse]) -> Any:
        """Slack re-sends an event it thinks was lost; each event runs once."""
        event_id = body.get("event_id")
        if event_id and not self.r.set(Keys.slack_event(str(event_id)), 1, nx=True, ex=3600):
            return BoltResponse(status=200, body="")
        return next()

    # --- commands ---------------------------------------------------------------

    def _reply(
        self, command_text: str, user: str, channel: str, thread_ts: str | None
    ) -> tuple[Reply, list[dict[str, Any]]]:
        notify = {"channel": channel, "user": user}
        if thread_ts:
            notify["thread_ts"] = thread_ts
        reply = self.bot.handle(command_text, user, "slack", queue=QUEUE, notify=notify)
        if reply.outcome is Outcome.NEEDS_CONFIRMATION:
            token = secrets.token_urlsafe(12)
            pending = {"text": command_text, "user": user, **notify}
            self.r.set(Keys.slack_confirm(token), json.dumps(pending), ex=CONFIRM_SECONDS)
            return reply, confirm_blocks(reply.text, token)
        return reply, reply_blocks(reply.text)

    def ops(self, ack: Ack, command: dict[str, Any]) -> None:
        reply, blocks = self._reply(
            command.get("text", ""), command["user_id"], command["channel_id"], None
        )
        ack(text=reply.text, blocks=blocks, response_type="ephemeral")

    def toil(self, ack: Ack, command: dict[str, Any]) -> None:
        user = command["user_id"]
        reply, blocks = self._reply(
            "toil " + command.get("text", ""), user, command["channel_id"], None
        )
        if Ledger(self.r).timer(user) is not None:
            blocks = [*blocks, stop_timer_block()]
        ack(text=reply.text, blocks=blocks, response_type="ephemeral")

    def stop_timer(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = self.bot.handle("toil stop", body["user"]["id"], "slack")
        respond(text=reply.text, replace_original=True)

    def mention(self, event: dict[str, Any], say: Say) -> None:
        words = _MENTION.sub("", event.get("text", "")).strip()
        thread = event.get("thread_ts") or event["ts"]
        reply, blocks = self._reply(words, event["user"], event["channel"], thread)
        say(text=reply.text, blocks=blocks, thread_ts=thread)

    def direct_message(self, event: dict[str, Any], say: Say) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return  # our own messages and edits
        reply, blocks = self._reply(event.get("text", ""), event["user"], event["channel"], None)
        say(text=reply.text, blocks=blocks)

    # --- buttons ------------------------------------------------------------------

    def confirm(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        token = body["actions"][0]["value"]
        raw = self.r.get(Keys.slack_confirm(token))
        clicker = body["user"]["id"]
        if raw is None:
            self._audit(AuditAction.CONFIRMATION_EXPIRED, clicker, body)
            respond(text=messages.confirmation_expired(), replace_original=True)
            return
        pending = json.loads(text(raw))
        if clicker != pending["user"]:
            self._audit(AuditAction.CONFIRMATION_REFUSED, clicker, body, pending)
            respond(
                text=messages.only_requester_confirms(pending["user"]),
                replace_original=False,
                response_type="ephemeral",
            )
            return
        if not self.r.delete(Keys.slack_confirm(token)):
            return  # a double click: the first one runs it
        notify = {k: pending[k] for k in ("channel", "user", "thread_ts") if k in pending}
        self.bot.record_confirmation(True, pending["text"], clicker, "slack", pending["channel"])
        reply = self.bot.handle(
            pending["text"], clicker, "slack", confirmed=True, queue=QUEUE, notify=notify
        )
        respond(text=reply.text, blocks=reply_blocks(reply.text), replace_original=True)

    def decline(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        token = body["actions"][0]["value"]
        raw = self.r.get(Keys.slack_confirm(token))
        pending = json.loads(text(raw)) if raw is not None else None
        if pending is not None and pending["user"] != body["user"]["id"]:
            return
        if self.r.delete(Keys.slack_confirm(token)) and pending is not None:
            self.bot.record_confirmation(
                False, pending["text"], pending["user"], "slack", pending["channel"]
            )
        respond(text=messages.confirm_declined(), replace_original=True)

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
            rule=messages.audit_requester_rule(pending["user"]) if pending else None,
        )

    def cancel_job(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        job_id = body["actions"][0]["value"]
        reply = self.bot.handle(f"cancel {job_id}", body["user"]["id"], "slack")
        respond(text=reply.text, replace_original=False, response_type="ephemeral")

    # --- App Home -------------------------------------------------------------------

    def home(self, event: dict[str, Any], client: WebClient) -> None:
        user = event["user"]
        self.bot.jobs.reap(self.bot.settings.jobs.lease_seconds)
        mine = [r for r in self.bot.jobs.recent(100) if r.user == user]
        running = [r for r in mine if not r.status.terminal]
        done = [r for r in mine if r.status.terminal]
        client.views_publish(user_id=user, view=home_view(user, running, done))
