"""The screenshot renderer: every block type drawn, message text never becomes markup, and one
real screenshot by headless chromium (scripts/bootstrap installs it)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tests.screens.render import (
    FOLD,
    PHONE,
    browser,
    data_url,
    first_block_bottom,
    home_html,
    message_html,
    mrkdwn,
    page,
    screenshot,
)

NAMES = {"U0ANA": "ana", "U0TOILBOT": "toilbot", "C0OPS": "ops"}
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)


class Tags(HTMLParser):
    """Every start tag and its attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str, style: str | None = None) -> dict[str, object]:
    found: dict[str, object] = {"type": "button", "text": {"type": "plain_text", "text": label}}
    if style:
        found["style"] = style
    return found


EVERY_BLOCK = [
    {"type": "header", "text": {"type": "plain_text", "text": "Job 12 :white_check_mark:"}},
    {
        **section("*Job 12 succeeded* on 4 hosts"),
        "fields": [{"type": "mrkdwn", "text": "_web-01_ ok"}, {"type": "mrkdwn", "text": "~x~"}],
        "accessory": button("Open"),
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U0ANA>"}]},
    {"type": "divider"},
    {"type": "actions", "elements": [button("Confirm", "primary"), button("Cancel", "danger")]},
    {"type": "image", "image_url": data_url(PNG_1PX), "alt_text": "the chart"},
    {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "rich words"}]},
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "pre"}]},
        ],
    },
    {"type": "markdown", "text": "**markdown block**"},
    {"type": "table", "rows": [[{"type": "raw_text", "text": "cell"}]]},
    {"type": "video", "title": {"type": "plain_text", "text": "v"}},
]


def test_every_block_type_is_drawn():
    """Header, section (fields, accessory), context, divider, actions (button styles), image,
    rich_text, markdown and table each become their part of the page; an unknown one says so."""
    message = {"user": "U0TOILBOT", "bot_id": "B1", "ts": "1764600000.0001", "blocks": EVERY_BLOCK}
    html = message_html(message, NAMES)
    tags = parse(html)
    classes = {c for _, attrs in tags.tags for c in (attrs.get("class") or "").split()}
    assert {"header", "section", "fields", "accessory", "context", "divider", "actions"} <= classes
    assert {"button", "primary", "danger", "image", "rich", "table", "unknown", "app"} <= classes
    assert ("img", {"src": data_url(PNG_1PX), "alt": "the chart"}) in tags.tags
    words = "".join(tags.text)
    for seen in ("Job 12 ✅", "Job 12 succeeded", "@ana", "Confirm", "rich words", "cell"):
        assert seen in words
    assert "unsupported block: video" in words
    assert "<b>markdown block</b>" in html and "<b>Job 12 succeeded</b>" in html
    assert "<i>web-01</i>" in html and "<s>x</s>" in html


def test_mrkdwn_reads_like_slack():
    """Code spans and blocks, links, mentions, broadcasts, dates, emoji and the three entities."""
    html = mrkdwn(
        "`restart &lt;nginx|cron&gt;` <https://x.example/a?b=1&amp;c=2|the log> <@U0ANA> "
        "<#C0OPS> <!here> <!date^1764600000^{time}|10:00 UTC> :warning: :no_such_emoji: "
        "a &amp; b\n&gt; quoted\n```web-01  ok\n*not bold*```",
        NAMES,
    )
    assert "<code>restart &lt;nginx|cron&gt;</code>" in html
    assert '<a href="https://x.example/a?b=1&amp;c=2">the log</a>' in html
    assert '<span class="mention">@ana</span>' in html
    assert '<span class="mention">#ops</span>' in html
    assert '<span class="broadcast">@here</span>' in html
    assert '<span class="date">10:00 UTC</span>' in html and "1764600000" not in html
    assert "⚠️" in html and ":no_such_emoji:" in html
    assert "a &amp; b" in html  # shown as "a & b"
    assert "<blockquote>quoted</blockquote>" in html
    assert "<pre>web-01  ok\n*not bold*</pre>" in html


HOSTILE = [
    '<script>alert("x")</script>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '<https://evil.example/"><img src=x onerror=alert(1)>|click>',
    "<img src=x onerror=alert(1)>",
    '*<b onmouseover="x">bold</b>*',
    '`<iframe src="https://evil.example">`',
    "```</pre><script>alert(2)</script>```",
    '<@U0ANA|"><svg onload=alert(3)>>',
    "<!date^1^{x}|<style>body{display:none}</style>>",
    "`<b>` \x000\x00 *\x001\x00*",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_message_text_never_becomes_markup(text):
    """Whatever a message says, in its text, a block, a button, a header or a file name, the page
    holds only the renderer's own tags and no event handler or script."""
    message = {
        "user": "U0ANA",
        "ts": "1764600000.0001",
        "text": text,
        "files": [{"name": text, "title": text, "url_private": "u", "size": 3}],
    }
    with_blocks = {
        **message,
        "blocks": [
            section(text),
            {"type": "header", "text": {"type": "plain_text", "text": text}},
            {"type": "context", "elements": [{"type": "plain_text", "text": text}]},
            {"type": "actions", "elements": [button(text)]},
        ],
    }
    for drawn in (message, with_blocks):
        html = page(text, message_html(drawn, NAMES, snippets={"u": text}))
        tags = parse(html)
        allowed = {"html", "head", "meta", "title", "style", "body", "div", "span", "b", "i", "s"}
        allowed |= {"a", "code", "pre", "br", "blockquote"}
        assert set() == {tag for tag, _ in tags.tags} - allowed
        assert [] == [(t, a) for t, a in tags.tags for name in a if name.startswith("on")]
        assert 1 == html.count("<style>")


def test_app_home_is_drawn_with_its_tabs():
    view = {"type": "home", "blocks": [section("*Your recent results*"), {"type": "divider"}]}
    html = home_html(view, NAMES)
    assert "<b>Your recent results</b>" in html and "Home" in "".join(parse(html).text)


@pytest.mark.skipif(
    browser() is None, reason="no chromium installed (scripts/bootstrap installs it)"
)
def test_a_message_is_screenshot_at_phone_width(tmp_path: Path):
    """Headless chromium draws a job message 390 px wide; the PNG is cut below the content and
    shows the green button where the HTML puts it."""
    message = {
        "user": "U0TOILBOT",
        "bot_id": "B1",
        "ts": "1764600000.0001",
        "blocks": [
            section(":white_check_mark: *Job 12 succeeded* on 4 hosts in 38s"),
            EVERY_BLOCK[4],
        ],
    }
    png = screenshot(page("Job 12", message_html(message, NAMES)), tmp_path / "job.png")
    with Image.open(png) as image:
        rgb = image.convert("RGB")
    assert PHONE == rgb.width
    assert 100 < rgb.height < 600  # cut to the message, not the 4000 px window
    green = (0, 122, 90)  # the primary button's background
    assert any(rgb.getpixel((x, y)) == green for x in range(rgb.width) for y in range(rgb.height))


@pytest.mark.skipif(
    browser() is None, reason="no chromium installed (scripts/bootstrap installs it)"
)
def test_where_the_first_block_ends_on_a_phone():
    """An outcome in a short first block is above the fold; after 60 lines of table it is not."""
    short = {"user": "U0TOILBOT", "ts": "1.0", "blocks": [section("*Job 12 succeeded*")]}
    table = "```" + "\n".join(f"web-{i:02d}  ok" for i in range(60)) + "```\n*Job 12 succeeded*"
    long = {"user": "U0TOILBOT", "ts": "1.0", "blocks": [section(table)]}
    assert first_block_bottom(page("t", message_html(short, NAMES))) < FOLD
    assert first_block_bottom(page("t", message_html(long, NAMES))) > FOLD
