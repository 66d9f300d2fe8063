"""The bot's replies for a terminal: the same text Slack gets, without raw mrkdwn.

The pipeline writes its replies in Slack's mrkdwn, the one text language every
front end receives. Slack shows it as it is; :class:`Terminal` turns it into what
a terminal reads, rule by rule:

- ``*bold*`` and ``_italic_``: ANSI bold and italic on a TTY, plain text otherwise;
- ```` `code` ````: without backticks (cyan on a TTY); a ```` ``` ```` block: its
  lines indented by four spaces;
- ``:warning:`` and the other shortcodes the bot uses: a symbol (:data:`EMOJI`);
- ``<@U123>``: ``@U123`` (``<@U123|alice>``: ``@alice``); ``<#C123|ops>``: ``#ops``;
  ``<!channel>``: ``@channel``; ``<https://x|label>``: ``label (https://x)``; any other
  ``<...>`` is words (a usage line's ``<targets>``: the Slack front end escapes it);
- ``<!date^1764582900^{date_short_pretty} {time}|fallback>``: the time in the
  team's timezone (the fallback without one);
- ``&lt;``, ``&gt;``, ``&amp;``: ``<``, ``>``, ``&``.

As in Slack, ``<...>`` sequences and entities are read inside code too; bold,
italic and shortcodes only outside it. Control characters in the text (an ANSI
sequence in a typed note) are dropped before our own styling is added, so text
a person typed cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

# The shortcodes the bot's text modules use, and a few a playbook report may carry.
EMOJI = {
    "warning": "⚠",
    "alarm_clock": "⏰",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "x": "❌",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "stopwatch": "⏱",
    "rotating_light": "🚨",
    "information_source": "ℹ",
    "lock": "🔒",
    "calendar": "📅",
    "arrows_counterclockwise": "🔄",
    "large_green_circle": "🟢",
    "red_circle": "🔴",
    "large_yellow_circle": "🟡",
    "grey_question": "❔",
    "heavy_minus_sign": "➖",
    "fast_forward": "⏩",
    "stop_button": "⏹",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_SEQUENCE = re.compile(r"<([^<>\n]*)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=[^*\s])([^*\n]*?[^*\s])\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=[^_\s])([^_\n]*?[^_\s])_(?![\w_])")
_SHORTCODE = re.compile(r"(?<![\w:]):([a-z0-9_+-]+):(?![\w:])")  # not in toilbot:lock:web
# What Slack reads in <...>: people, channels, !commands (dates, broadcasts), links.
_MARKUP = re.compile(r"[@#][A-Z0-9]{2,}$|!|https?://|mailto:|tel:|slack://")
_DATE = re.compile(r"date\^(\d+)\^([^^|]*)(?:\^[^|]*)?")

BOLD, ITALIC, CODE = ("\x1b[1m", "\x1b[22m"), ("\x1b[3m", "\x1b[23m"), ("\x1b[36m", "\x1b[39m")


def inert(text: str) -> str:
    """Text that is not mrkdwn (a host's message from Ansible), with no control characters."""
    return _CONTROL.sub("", text)


@dataclass(frozen=True)
class Terminal:
    """How replies look on one output: styled when it is a TTY; times in ``timezone``."""

    tty: bool = False
    timezone: str | None = None

    def render(self, text: str) -> str:
        """``text`` (the bot's mrkdwn) as this terminal shows it."""
        text = inert(text)
        parts: list[str] = []
        last = 0
        for block in _BLOCK.finditer(text):
            parts.append(self._prose(text[last : block.start()]))
            body = self._sequences(block.group(1))
            parts.append("\n".join("    " + line for line in body.split("\n")))
            last = block.end()
        parts.append(self._prose(text[last:]))
        return "".join(parts)

    def _prose(self, text: str) -> str:
        """Text outside code blocks: code spans apart, the rest styled."""
        parts: list[str] = []
        last = 0
        for code in _CODE.finditer(text):
            parts.append(self._styled(text[last : code.start()]))
            parts.append(self._style(CODE, self._sequences(code.group(1))))
            last = code.end()
        parts.append(self._styled(text[last:]))
        return "".join(parts)

    def _styled(self, text: str) -> str:
        text = _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
        text = _BOLD.sub(lambda m: self._style(BOLD, m.group(1)), text)
        text = _ITALIC.sub(lambda m: self._style(ITALIC, m.group(1)), text)
        return self._sequences(text)

    def _style(self, style: tuple[str, str], text: str) -> str:
        return f"{style[0]}{text}{style[1]}" if self.tty else text

    def _sequences(self, text: str) -> str:
        """``<...>`` sequences as words, then the three entities as characters."""
        text = _SEQUENCE.sub(lambda m: self._sequence(m.group(1)), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def _sequence(self, inner: str) -> str:
        target, _, label = inner.partition("|")
        if not _MARKUP.match(target):
            return f"<{inner}>"  # a placeholder such as <targets>: words, as Slack is sent them
        if target.startswith(("@", "#")):
            return target[0] + (label.lstrip("@#") or target[1:])
        if target.startswith("!"):
            name = target[1:]
            date = _DATE.fullmatch(name)
            if date:
                return self._date(int(date.group(1)), date.group(2), label)
            if name.startswith("subteam^"):
                return label or "@" + name.partition("^")[2]
            return label or "@" + name
        return f"{label} ({target})" if label and label != target else target

    def _date(self, epoch: int, fmt: str, fallback: str) -> str:
        """Slack's date token as the team reads it: Tue 2026-12-01 10:55 CET, or 10:55 CET."""
        if self.timezone is None and fallback:
            return fallback
        local = datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo(self.timezone or "UTC"))
        return local.strftime("%a %Y-%m-%d %H:%M %Z" if "{date" in fmt else "%H:%M %Z")
