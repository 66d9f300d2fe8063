"""`inventory` and `inventory refresh`: what Ansible resolved from the sources, read again."""

from __future__ import annotations

import time

from bot.pipeline.builtins.registry import builtin
from bot.pipeline.context import Context
from bot.pipeline.inventory import report
from bot.pipeline.parse import BuiltinCall
from bot.pipeline.reply import Outcome, Reply
from bot.platform.errors import ParseError

SLACK_WAIT = 2.0  # seconds `inventory refresh` waits for Ansible when asked from Slack


@builtin(
    name="inventory",
    summary="The inventory's groups and host counts; `inventory refresh` reads the sources again",
    usage="inventory [refresh]",
    permission="inventory",
    argument="refresh",
)
def inventory(context: Context, call: BuiltinCall) -> Reply:
    inventories = context.inventories
    if inventories is None:  # pragma: no cover - every Bot passes its inventories
        raise RuntimeError("no inventory cache in this context")
    word = (call.argument or "").lower()
    if word not in ("", "refresh"):
        raise ParseError(report.bad_word(call.argument or ""))
    label = context.settings.inventory.label
    if word == "refresh":
        # Slack wants its answer within 3 s: a slower read goes on and `inventory` shows it.
        wait = SLACK_WAIT if context.request.source == "slack" else None
        state = inventories.refresh() if wait is None else inventories.refresh_within(wait)
        if state is None:
            answer = report.still_reading(context.settings.inventory.timeout)
            return Reply(Outcome.ANSWERED, answer, actions=report.ACTIONS)
        if state.error is not None and state.error_at is not None:
            answer = report.failure(state, time.time())
            return Reply(Outcome.REFUSED, answer, actions=report.ACTIONS)
        head = report.refreshed(state)
        return Reply(
            Outcome.ANSWERED,
            f"{head}\n{report.listing(state, label, time.time())}",
            actions=report.ACTIONS,
        )
    return Reply(
        Outcome.ANSWERED,
        report.listing(inventories.state, label, time.time()),
        actions=report.ACTIONS,
    )
