"""Captured Slack messages drawn as Slack draws them: an HTML page, then a PNG (headless chromium).

    html = page("Job 12", message_html(slack.message(CHANNEL, ts).to_api(), names))
    screenshot(html, Path("docs/screenshots/job.png"), width=390)

What it draws, from what the local Slack (tests/slack) recorded: a message's blocks (section
with fields and accessory, context, actions with buttons, header, divider, image, rich_text,
markdown, table), or its `text` when it has no blocks; its files (an image inline, a text file as
a snippet card); its thread below it; an ephemeral answer ("Only visible to you"); an App Home.
mrkdwn as Slack reads it: *bold*, _italic_, ~strike~, `code`, ``` blocks, > quotes, control
sequences (<url|label> links, <@U…> mentions as a highlighted @name, <#C…> channels,
<!here>/<!channel> broadcasts highlighted like Slack does, <!date^…|fallback> as the fallback),
emoji shortcodes as their characters for the ones below (others stay as `:name:`, which is what
a reader sees for an emoji Slack does not know), and &lt; &gt; &amp; shown as < > &.

Every string from a message is HTML-escaped: the page holds no markup from a message.
Simplified: Lato and the system emoji font instead of Slack's own, one look for desktop and
phone, no avatars' pictures, links are never followed.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The shortcodes toilbot uses (and a few it may come to use), as Slack shows them.
EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "heavy_multiplication_x": "✖️",
    "warning": "⚠️",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "octagonal_sign": "🛑",
    "stop_sign": "🛑",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "alarm_clock": "⏰",
    "stopwatch": "⏱️",
    "clock3": "🕒",
    "lock": "🔒",
    "unlock": "🔓",
    "key": "🔑",
    "bell": "🔔",
    "rotating_light": "🚨",
    "fire": "🔥",
    "tada": "🎉",
    "rocket": "🚀",
    "robot_face": "🤖",
    "gear": "⚙️",
    "wrench": "🔧",
    "hammer_and_wrench": "🛠️",
    "package": "📦",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "calendar": "📆",
    "date": "📅",
    "memo": "📝",
    "page_facing_up": "📄",
    "information_source": "ℹ️",
    "question": "❓",
    "grey_question": "❔",
    "exclamation": "❗",
    "bulb": "💡",
    "eyes": "👀",
    "point_right": "👉",
    "thumbsup": "👍",
    "+1": "👍",
    "wave": "👋",
    "zzz": "💤",
    "construction": "🚧",
    "arrows_counterclockwise": "🔄",
    "repeat": "🔁",
    "fast_forward": "⏩",
    "black_right_pointing_triangle_with_double_vertical_bar": "⏯️",
    "double_vertical_bar": "⏸️",
    "pause_button": "⏸️",
    "stop_button": "⏹️",
    "arrow_right": "➡️",
    "arrow_up": "⬆️",
    "arrow_down": "⬇️",
    "small_red_triangle": "🔺",
    "small_red_triangle_down": "🔻",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "large_orange_circle": "🟠",
    "red_circle": "🔴",
    "large_blue_circle": "🔵",
    "white_circle": "⚪",
    "black_circle": "⚫",
    "heavy_minus_sign": "➖",
    "heavy_plus_sign": "➕",
    "skull": "💀",
    "sos": "🆘",
    "link": "🔗",
    "paperclip": "📎",
    "toolbox": "🧰",
    "mag": "🔍",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "timer_clock": "⏲️",
}

_FENCE = re.compile(r"```(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_CONTROL = re.compile(r"<([^<>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_SHORTCODE = re.compile(r":([a-z0-9_+\-]+):")
_HOLD = re.compile("\x00(\\d+)\x00")


def _unescape(text: str) -> str:
    """Slack's three entities, as the reader sees them."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def emoji(text: str) -> str:
    """Known shortcodes as characters (on already HTML-escaped text)."""
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)


class _Inline:
    """mrkdwn of one line (or one code text) to HTML; parts already drawn are held aside."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = names
        self.held: list[str] = []

    def hold(self, fragment: str) -> str:
        self.held.append(fragment)
        return f"\x00{len(self.held) - 1}\x00"

    def restore(self, text: str) -> str:
        while _HOLD.search(text):
            text = _HOLD.sub(lambda m: self.held[int(m.group(1))], text)
        return text

    def control(self, inner: str) -> str:
        """One ``<…>`` sequence as Slack shows it."""
        target, _, label = _unescape(inner).partition("|")
        if target.startswith("@"):
            user = target[1:]
            name = label or self.names.get(user, user)
            return f'<span class="mention">@{_e(name.removeprefix("@"))}</span>'
        if target.startswith("#"):
            name = label or self.names.get(target[1:], target[1:])
            return f'<span class="mention">#{_e(name.removeprefix("#"))}</span>'
        if target.startswith("!"):
            command = target[1:]
            if command in ("here", "channel", "everyone"):
                return f'<span class="broadcast">@{_e(command)}</span>'
            if command.startswith("subteam^"):
                name = label or command.partition("^")[2]
                return f'<span class="mention">{_e(name)}</span>'
            if command.startswith("date^"):
                return f'<span class="date">{_e(label)}</span>'
            return _e(label or target)
        return f'<a href="{_e(target)}">{_e(label or target)}</a>'

    def controls(self, text: str) -> str:
        """Control sequences held aside; the rest decoded and HTML-escaped."""
        out, last = [], 0
        for match in _CONTROL.finditer(text):
            out.append(_e(_unescape(text[last : match.start()])))
            out.append(self.hold(self.control(match.group(1))))
            last = match.end()
        out.append(_e(_unescape(text[last:])))
        return "".join(out)

    def code(self, text: str) -> str:
        """Code text: sequences still read (as Slack does), no other formatting."""
        return self.restore(self.controls(text))

    def line(self, text: str) -> str:
        text = _CODE.sub(lambda m: self.hold(f"<code>{self.code(m.group(1))}</code>"), text)
        text = self.controls(text)
        text = _BOLD.sub(r"<b>\1</b>", text)
        text = _ITALIC.sub(r"<i>\1</i>", text)
        text = _STRIKE.sub(r"<s>\1</s>", text)
        return self.restore(emoji(text))


def mrkdwn(text: str, names: Mapping[str, str] | None = None) -> str:
    """One mrkdwn text as HTML."""
    text = text.replace("\x00", "")  # the marker of parts held aside
    inline = _Inline(names or {})
    out, last = [], 0
    for match in _FENCE.finditer(text):
        out.append(_lines(text[last : match.start()], inline))
        body = match.group(1).removeprefix("\n")
        out.append(f"<pre>{inline.code(body)}</pre>")
        last = match.end()
    out.append(_lines(text[last:], inline))
    return "".join(out)


def _lines(text: str, inline: _Inline) -> str:
    if not text:
        return ""
    parts: list[str] = []
    quote: list[str] = []
    for line in text.split("\n"):
        if line.startswith(("&gt;", ">")):
            quote.append(inline.line(re.sub(r"^(&gt;|>) ?", "", line)))
            continue
        if quote:
            parts.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote = []
        parts.append(inline.line(line) + "<br>")
    if quote:
        parts.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    return "".join(parts).removesuffix("<br>")


def text_object(obj: Mapping[str, Any] | None, names: Mapping[str, str]) -> str:
    """A Block Kit text object: mrkdwn read as such, plain_text shown as is (emoji read)."""
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, names)
    return emoji(_e(text)).replace("\n", "<br>")


# ------------------------------------------------------------------------------- blocks


def _button(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    style = element.get("style", "")
    css = f"button {style}" if style in ("primary", "danger") else "button"
    return f'<span class="{css}">{text_object(element.get("text"), names)}</span>'


def element_html(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    kind = element.get("type")
    if kind == "button":
        return _button(element, names)
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{text_object(element, names)}</span>"
    if kind == "image":
        return f'<img class="ctx-img" alt="{_e(str(element.get("alt_text", "")))}">'
    if kind == "overflow":
        return '<span class="button">⋯</span>'
    if kind and ("select" in kind or kind.endswith("picker")):
        placeholder = text_object(element.get("placeholder"), names) or _e(kind)
        return f'<span class="select">{placeholder} ▾</span>'
    return f'<span class="unknown">{_e(str(kind))}</span>'


def _image(block: Mapping[str, Any], names: Mapping[str, str], files: Files) -> str:
    url = str(block.get("image_url", ""))
    alt = _e(str(block.get("alt_text", "")))
    title = f'<div class="img-title">{text_object(block.get("title"), names)}</div>'
    source = url if url.startswith("data:image/") else files.get(url)
    if source:
        return f'<div class="image">{title}<img src="{_e(source)}" alt="{alt}"></div>'
    return f'<div class="image">{title}<div class="img-missing">{alt or _e(url)}</div></div>'


def _rich(element: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """A rich_text element, recursively."""
    kind = element.get("type")
    children = element.get("elements", [])
    inner = "".join(_rich(child, names) for child in children)
    if kind == "rich_text_section":
        return f"<div>{inner}</div>"
    if kind == "rich_text_preformatted":
        return f"<pre>{inner}</pre>"
    if kind == "rich_text_quote":
        return f"<blockquote>{inner}</blockquote>"
    if kind == "rich_text_list":
        tag = "ol" if element.get("style") == "ordered" else "ul"
        items = "".join(f"<li>{_rich(child, names)}</li>" for child in children)
        return f"<{tag}>{items}</{tag}>"
    if kind == "text":
        out = _e(str(element.get("text", ""))).replace("\n", "<br>")
        style = element.get("style") or {}
        for flag, tag in (("code", "code"), ("bold", "b"), ("italic", "i"), ("strike", "s")):
            if style.get(flag):
                out = f"<{tag}>{out}</{tag}>"
        return out
    if kind == "link":
        url = str(element.get("url", ""))
        return f'<a href="{_e(url)}">{_e(str(element.get("text") or url))}</a>'
    if kind == "user":
        user = str(element.get("user_id", ""))
        return f'<span class="mention">@{_e(names.get(user, user))}</span>'
    if kind == "emoji":
        name = str(element.get("name", ""))
        return EMOJI.get(name, f":{_e(name)}:")
    if kind == "broadcast":
        return f'<span class="broadcast">@{_e(str(element.get("range", "")))}</span>'
    return inner


def _table(block: Mapping[str, Any], names: Mapping[str, str]) -> str:
    rows = []
    for row in block.get("rows", []):
        cells = []
        for cell in row:
            if cell.get("type") == "raw_text":
                cells.append(f"<td>{_e(str(cell.get('text', '')))}</td>")
            else:
                cells.append(f"<td>{_rich(cell, names)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table class="table">' + "".join(rows) + "</table>"


Files = Mapping[str, str]  # a file's url_private -> a data: URL of its bytes (images)


def block_html(block: Mapping[str, Any], names: Mapping[str, str], files: Files) -> str:
    """One Block Kit block as HTML."""
    kind = block.get("type")
    if kind == "section":
        body = f'<div class="text">{text_object(block.get("text"), names)}</div>'
        fields = block.get("fields") or []
        if fields:
            body += (
                '<div class="fields">'
                + "".join(f"<div>{text_object(f, names)}</div>" for f in fields)
                + "</div>"
            )
        accessory = block.get("accessory")
        side = f'<div class="accessory">{element_html(accessory, names)}</div>' if accessory else ""
        return f'<div class="block section"><div class="main">{body}</div>{side}</div>'
    if kind == "context":
        parts = "".join(element_html(e, names) for e in block.get("elements", []))
        return f'<div class="block context">{parts}</div>'
    if kind == "actions":
        parts = "".join(element_html(e, names) for e in block.get("elements", []))
        return f'<div class="block actions">{parts}</div>'
    if kind == "header":
        return f'<div class="block header">{text_object(block.get("text"), names)}</div>'
    if kind == "divider":
        return '<hr class="block divider">'
    if kind == "image":
        return f'<div class="block">{_image(block, names, files)}</div>'
    if kind == "rich_text":
        parts = "".join(_rich(e, names) for e in block.get("elements", []))
        return f'<div class="block rich">{parts}</div>'
    if kind == "markdown":
        text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", str(block.get("text", "")))  # Markdown bold
        return f'<div class="block text">{mrkdwn(text, names)}</div>'
    if kind == "table":
        return f'<div class="block">{_table(block, names)}</div>'
    return f'<div class="block unknown">unsupported block: {_e(str(kind))}</div>'


# ---------------------------------------------------------------------------- messages


def _file_html(file: Mapping[str, Any], files: Files, snippets: Mapping[str, str]) -> str:
    url = str(file.get("url_private", ""))
    name = _e(str(file.get("title") or file.get("name") or "file"))
    if url in files:
        image = f'<img src="{_e(files[url])}">'
        return f'<div class="file image"><div class="img-title">{name}</div>{image}</div>'
    size = int(file.get("size") or 0)
    text = snippets.get(url)
    if text is None:
        return f'<div class="file card"><b>{name}</b><div class="meta">{size:,} bytes</div></div>'
    lines = text.splitlines()
    preview = _e("\n".join(lines[:8]))
    more = f"{len(lines) - 8:,} more lines" if len(lines) > 8 else ""
    return (
        f'<div class="file card"><b>{name}</b><div class="meta">{len(lines):,} lines · '
        f"{size:,} bytes</div><pre>{preview}</pre>"
        f'<div class="meta">{more}</div></div>'
    )


def _clock(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M") if ts else ""


def message_html(
    message: Mapping[str, Any],
    names: Mapping[str, str],
    *,
    files: Files | None = None,
    snippets: Mapping[str, str] | None = None,
    replies: list[Mapping[str, Any]] | None = None,
    ephemeral: bool = False,
) -> str:
    """One message (its Web API form) as Slack shows it in a channel; its thread below it."""
    files = files or {}
    user = str(message.get("user", ""))
    author = names.get(user, user)
    badge = ' <span class="app">APP</span>' if message.get("bot_id") else ""
    edited = ' <span class="meta">(edited)</span>' if message.get("edited") else ""
    blocks = message.get("blocks") or []
    if blocks:
        body = "".join(block_html(b, names, files) for b in blocks)
    else:
        text = mrkdwn(str(message.get("text", "")), names)
        body = f'<div class="block text">{text}</div>'
    body += "".join(_file_html(f, files, snippets or {}) for f in message.get("files") or [])
    note = '<div class="only-you">👁 Only visible to you</div>' if ephemeral else ""
    thread = ""
    if replies:
        count = f"{len(replies)} repl{'y' if len(replies) == 1 else 'ies'}"
        thread = f'<div class="replies">{count}</div><div class="thread">'
        thread += "".join(message_html(r, names, files=files, snippets=snippets) for r in replies)
        thread += "</div>"
    initial = _e(author[:1].upper() or "?")
    return (
        f'<div class="message{" ephemeral" if ephemeral else ""}">{note}'
        f'<div class="avatar">{initial}</div><div class="content">'
        f'<div class="who"><b>{_e(author)}</b>{badge} '
        f'<span class="meta">{_clock(str(message.get("ts", "")))}</span>{edited}</div>'
        f"{body}{thread}</div></div>"
    )


def home_html(view: Mapping[str, Any], names: Mapping[str, str], app: str = "toilbot") -> str:
    """A published App Home: the app's name, its tabs, the view's blocks."""
    blocks = "".join(block_html(b, names, {}) for b in view.get("blocks", []))
    return (
        f'<div class="home"><div class="home-top"><div class="avatar">{_e(app[:1].upper())}'
        f'</div><b>{_e(app)}</b></div><div class="tabs"><span class="tab on">Home</span>'
        f'<span class="tab">Messages</span><span class="tab">About</span></div>'
        f'<div class="home-body">{blocks}</div></div>'
    )


def data_url(content: bytes, mimetype: str = "image/png") -> str:
    return f"data:{mimetype};base64,{base64.b64encode(content).decode()}"


CSS = """
body { margin: 0; background: #fff; color: #1d1c1d;
  font: 15px/1.46668 Lato, "Slack-Lato", "Helvetica Neue", Helvetica, "Noto Color Emoji",
  sans-serif; -webkit-font-smoothing: antialiased; }
.channel { display: flex; align-items: center; gap: 8px; padding: 10px 16px;
  border-bottom: 1px solid #e2e2e2; font-weight: 900; font-size: 17px; }
.channel .sub { font-weight: 400; color: #616061; font-size: 13px; }
.message { display: flex; gap: 8px; padding: 8px 16px; }
.message.ephemeral { flex-wrap: wrap; background: #f8f8f8; }
.only-you { width: 100%; font-size: 12px; color: #616061; }
.avatar { flex: 0 0 36px; height: 36px; border-radius: 6px; background: #4a154b;
  color: #fff; font-weight: 900; display: flex; align-items: center; justify-content: center; }
.content { flex: 1; min-width: 0; }
.who b { font-weight: 900; }
.app { font-size: 10px; font-weight: 700; color: #616061; background: rgba(29,28,29,.13);
  border-radius: 2px; padding: 1px 3px; vertical-align: 2px; }
.meta { color: #616061; font-size: 12px; }
.block { margin: 4px 0; }
.section { display: flex; gap: 8px; }
.section .main, .text { flex: 1; min-width: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 4px; }
.accessory { flex: 0 0 auto; }
.context { display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: center; font-size: 13px;
  color: #616061; }
.context code { font-size: 11px; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.button { display: inline-flex; align-items: center; height: 28px; padding: 0 12px;
  border: 1px solid rgba(29,28,29,.3); border-radius: 4px; font-size: 13px; font-weight: 700;
  background: #fff; white-space: nowrap; }
.button.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.button.danger { background: #e01e5a; color: #fff; border-color: #e01e5a; }
.select { display: inline-flex; height: 28px; align-items: center; padding: 0 10px;
  border: 1px solid rgba(29,28,29,.3); border-radius: 4px; font-size: 13px; }
.header { font-size: 18px; font-weight: 900; line-height: 1.33; }
.divider { border: 0; border-top: 1px solid #e2e2e2; margin: 12px 0; }
code { font: 12px Monaco, Menlo, "DejaVu Sans Mono", monospace; color: #e01e5a;
  background: rgba(29,28,29,.04); border: 1px solid rgba(29,28,29,.13); border-radius: 3px;
  padding: 2px 3px 1px; }
pre { font: 12px/1.5 Monaco, Menlo, "DejaVu Sans Mono", monospace; background: #f8f8f8;
  border: 1px solid rgba(29,28,29,.13); border-radius: 4px; padding: 8px; margin: 4px 0;
  white-space: pre-wrap; overflow-wrap: anywhere; }
pre code { color: inherit; border: 0; background: none; padding: 0; }
blockquote { margin: 4px 0; padding-left: 12px; border-left: 4px solid #ddd; }
a { color: #1264a3; text-decoration: none; }
.mention { color: #1264a3; background: rgba(29,155,209,.1); border-radius: 3px; padding: 0 2px; }
.broadcast { color: #8f5b00; background: rgba(242,199,68,.4); border-radius: 3px;
  padding: 0 2px; font-weight: 700; }
.image img, .file.image img { max-width: 100%; border-radius: 8px;
  border: 1px solid rgba(29,28,29,.13); }
.img-title { font-size: 13px; color: #616061; }
.img-missing { padding: 24px; background: #f8f8f8; color: #616061; border-radius: 8px; }
.file { margin: 6px 0; }
.file.card { border: 1px solid rgba(29,28,29,.13); border-radius: 8px; padding: 8px 12px; }
.table { border-collapse: collapse; font-size: 13px; }
.table td { border: 1px solid #ddd; padding: 4px 8px; }
.unknown { color: #e01e5a; border: 1px dashed #e01e5a; padding: 4px; }
.replies { color: #1264a3; font-weight: 700; font-size: 13px; margin-top: 4px; }
.thread { border-left: 2px solid #e2e2e2; margin-top: 4px; }
.thread .message { padding: 6px 0 6px 10px; }
.thread .avatar { flex-basis: 24px; height: 24px; font-size: 12px; }
.home-top { display: flex; gap: 8px; align-items: center; padding: 10px 16px; font-size: 17px; }
.home-top b { font-weight: 900; }
.tabs { display: flex; gap: 16px; padding: 0 16px; border-bottom: 1px solid #e2e2e2;
  font-size: 14px; }
.tab { padding: 6px 0; color: #616061; }
.tab.on { color: #1d1c1d; font-weight: 700; border-bottom: 2px solid #1264a3; }
.home-body { padding: 8px 16px; }
.ctx-img { width: 16px; height: 16px; background: #ddd; border-radius: 3px; }
"""


def page(title: str, body: str, channel: str | None = "# ops") -> str:
    """A whole HTML page around drawn messages; ``channel`` ("# ops", "@toilbot") titles it
    like Slack's header."""
    top = ""
    if channel:
        top = f'<div class="channel">{_e(channel)} <span class="sub">{_e(title)}</span></div>'
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body>{top}{body}</body></html>"
    )


# -------------------------------------------------------------------------- screenshots

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PHONE = 390
DESKTOP = 1000
TALL = 4000  # the window is this tall; the PNG is cut to the page's content


def browser() -> str | None:
    """The headless browser to screenshot with, if one is installed."""
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def screenshot(
    html_text: str, png: Path, *, width: int = PHONE, run: Callable[..., Any] = subprocess.run
) -> Path:
    """``html_text`` drawn by headless chromium ``width`` px wide, saved as ``png``, cut below
    the content. Raises RuntimeError when no browser is installed or it draws nothing."""
    binary = browser()
    if binary is None:
        raise RuntimeError("no chromium: apt-get install chromium (scripts/bootstrap does)")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="toilbot-screens-") as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(html_text, encoding="utf-8")
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp}/profile",
            f"--window-size={width},{TALL}",
            f"--screenshot={png}",
            source.as_uri(),
        ]
        done = run(command, capture_output=True, text=True, timeout=120, check=False)
    if not png.exists() or png.stat().st_size == 0:
        raise RuntimeError(f"chromium drew nothing: {done.stderr[-500:]}")
    _crop(png)
    return png


# What a phone shows of a channel without scrolling, in CSS px: 844 px of screen (390 x 844)
# less Slack's header, composer and the system bars.
FOLD = 650


def first_block_bottom(html_text: str, *, width: int = PHONE) -> float:
    """How far down the page (CSS px) the first block of the first message ends, laid out by
    headless chromium at ``width``: under FOLD, a phone shows it without scrolling."""
    binary = browser()
    if binary is None:
        raise RuntimeError("no chromium: apt-get install chromium (scripts/bootstrap does)")
    probe = (
        "<script>const b = document.querySelector('.message .block');"
        "document.body.setAttribute('data-bottom', b ? b.getBoundingClientRect().bottom : -1);"
        "</script>"
    )
    with tempfile.TemporaryDirectory(prefix="toilbot-screens-") as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(html_text.replace("</body>", probe + "</body>"), encoding="utf-8")
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp}/profile",
            f"--window-size={width},844",
            "--dump-dom",
            source.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'data-bottom="([\d.\-]+)"', done.stdout)
    if found is None:
        raise RuntimeError(f"chromium laid out nothing: {done.stderr[-500:]}")
    return float(found.group(1))


def _crop(png: Path, margin: int = 12) -> None:
    """Cut the white below the content (the window is taller than most pages)."""
    from PIL import Image, ImageChops

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    background = Image.new("RGB", rgb.size, (255, 255, 255))
    box = ImageChops.difference(rgb, background).getbbox()
    if box is not None:
        rgb.crop((0, 0, rgb.width, min(rgb.height, box[3] + margin))).save(png)
