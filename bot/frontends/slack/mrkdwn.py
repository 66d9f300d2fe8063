"""Text made safe for Slack, once, at the Slack boundary.

Slack reads ``&``, ``<`` and ``>`` as control characters in every mrkdwn text (a
message's ``text``, section and context texts), inside code spans too: ``<targets>``
would be read as a link and ``<!channel>`` as a broadcast. :func:`escape` turns
them into ``&amp;``, ``&lt;`` and ``&gt;``, which Slack shows as the characters.

Our own markup is three forms only, built by text modules: a user mention ``<@U123>``,
a channel link ``<#C123>`` and a time as ``bot.platform.formatting.when`` writes it
(``<!date^1764582900^{date_short_pretty} {time}|2026-12-01 09:55 UTC>``, no link in
it); they are restored after escaping (never other ``<!...>`` broadcasts, never links).
A person's words never carry them: text modules show typed text through
``bot.platform.formatting.echoed``/``typed``, which turn ``<`` and ``>`` into ``‹``
and ``›``; a time's token a person might type reads as a time, never as a link. The
result is a :class:`Mrkdwn` string, and escaping one again returns it unchanged, so
nothing is escaped twice.
"""

from __future__ import annotations

import re

from bot.platform.formatting import WHEN_FORMAT

_OWN_MENTION = re.compile(
    r"&lt;(@[UW][A-Z0-9]{2,30}|#[CG][A-Z0-9]{2,30}"
    rf"|!date\^\d{{1,12}}\^{re.escape(WHEN_FORMAT)}\|[0-9A-Za-z :-]{{1,40}})&gt;"
)


class Mrkdwn(str):
    """Text ready for a Slack mrkdwn field: escaped, with only our own mentions and times live."""

    __slots__ = ()


def escape(text: str) -> Mrkdwn:
    """``text`` for Slack: ``&``, ``<``, ``>`` escaped; our ``<@U…>``, ``<#C…>``, dates kept."""
    if isinstance(text, Mrkdwn):
        return text
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Mrkdwn(_OWN_MENTION.sub(r"<\1>", safe))
