"""`approvals`, `approve <id>` and `deny <id> [reason]`: commands waiting for someone else.

`approve` and `deny` check the policy themselves (``bot.pipeline.approve``): the
requester is told first that they cannot approve their own command, whatever their roles.
"""

from __future__ import annotations

from bot.pipeline import approve as approving
from bot.pipeline import text as pipeline_text
from bot.pipeline.builtins import text
from bot.pipeline.builtins.registry import builtin
from bot.pipeline.context import Context
from bot.pipeline.parse import BuiltinCall
from bot.pipeline.reply import Reply
from bot.platform.errors import ParseError


def _approval_id(word: str | None, usage: str) -> int:
    if word is None or not word.isascii() or not word.lstrip("#").isdigit() or len(word) > 12:
        raise ParseError(text.bad_approval_id(word or "", usage))
    return int(word.lstrip("#"))


@builtin(
    name="approvals",
    summary="Commands waiting for approval",
    usage="approvals",
    permission="approve",
)
def approvals(context: Context, call: BuiltinCall) -> str:
    context.approvals.expire_due()
    pending = context.approvals.pending()
    return text.approvals_list(pending) if pending else text.no_pending_approvals()


@builtin(
    name="approve",
    summary="Approve someone else's command that needs approval",
    usage="approve <id>",
    permission=None,
    argument="id",
    argument_required=True,
)
def approve(context: Context, call: BuiltinCall) -> Reply:
    return approving.approve(context, _approval_id(call.argument, call.builtin.usage))


@builtin(
    name="deny",
    summary="Refuse a command waiting for approval",
    usage="deny <id> [reason]",
    permission=None,
    free_words=True,
)
def deny(context: Context, call: BuiltinCall) -> Reply:
    if not call.words:
        raise ParseError(pipeline_text.missing_argument("id", call.builtin.usage))
    request_id = _approval_id(call.words[0], call.builtin.usage)
    return approving.deny(context, request_id, " ".join(call.words[1:]))
