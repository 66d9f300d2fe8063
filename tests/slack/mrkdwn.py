"""How Slack reads the mrkdwn of a message: its control sequences, and the text a person sees.

Slack treats every ``<...>`` in a mrkdwn text as a control sequence, inside code
spans and code blocks too, and shows ``&amp;``, ``&lt;`` and ``&gt;`` as ``&``,
``<`` and ``>``. So ``<!channel>`` notifies the channel, ``<https://x|click>``
is a link that reads "click", ``<@U123>`` is a mention, and
``<nginx|cron|ssh|demo>`` is a link to "nginx" that reads "cron|ssh|demo"
("nginx" disappears). :func:`controls` lists what Slack would act on in a message
(its ``text`` and the mrkdwn texts of its blocks); :func:`shown` is what a
person reads in place of one text.

Faithful: the sequences of Slack's "Formatting text for app surfaces" (users
``@U``/``@W``, channels ``#C``, broadcasts ``!here``/``!channel``/``!everyone``,
user groups ``!subteam^``, dates ``!date^``, links with or without a label) and
the three entities. Simplified: any other ``<...>`` counts as a link (as Slack
renders it), and plain-text texts (buttons, headers) are not read: Slack shows them as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SEQUENCE = re.compile(r"<([^<>]*)>")
BROADCASTS = frozenset({"here", "channel", "everyone"})


@dataclass(frozen=True)
class Control:
    """One control sequence Slack would act on: what kind, aimed at what, reading how."""

    kind: str  # "user", "channel", "broadcast", "usergroup", "date", "link"
    target: str
    label: str


def _control(inner: str) -> Control:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return Control("user", target[1:], label or target)
    if target.startswith("#"):
        return Control("channel", target[1:], label or target)
    if target.startswith("!"):
        name = target[1:]
        if name.startswith("subteam^"):
            return Control("usergroup", name.partition("^")[2], label or name)
        if name.startswith("date^"):
            return Control("date", name, label)
        if name in BROADCASTS:
            return Control("broadcast", name, "@" + name)
        return Control("link", target, label or target)  # Slack: an unknown command, as text
    return Control("link", target, label or target)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def text_controls(text: str) -> list[Control]:
    """The control sequences Slack finds in one mrkdwn text."""
    return [_control(_unescape(m.group(1))) for m in _SEQUENCE.finditer(text)]


def shown(text: str) -> str:
    """What a person reads for one mrkdwn text: sequences replaced, entities decoded."""
    return _unescape(_SEQUENCE.sub(lambda m: _control(_unescape(m.group(1))).label, text))


def mrkdwn_texts(blocks: list[dict[str, Any]] | None) -> list[str]:
    """The mrkdwn texts of a message's blocks (sections, their fields, context elements)."""
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(blocks or [])
    return found


def controls(text: str, blocks: list[dict[str, Any]] | None = None) -> list[Control]:
    """What Slack acts on in a message: the control sequences of its text and its blocks."""
    return [c for t in [text, *mrkdwn_texts(blocks)] for c in text_controls(t)]
