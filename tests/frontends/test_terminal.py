"""The bot's mrkdwn as a terminal shows it (bot/frontends/terminal.py), one rule at a time."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.frontends.console import ProgressLine
from bot.frontends.terminal import Terminal
from bot.platform.formatting import typed, when

PLAIN = Terminal()
TTY = Terminal(tty=True)
# Tue 2026-12-01 09:55 UTC: 10:55 in Oslo (CET), 04:55 in New York (EST)
EPOCH = int(datetime(2026, 12, 1, 9, 55, tzinfo=UTC).timestamp())


def test_bold_is_ansi_bold_on_a_tty_and_plain_otherwise():
    assert "Approval request 1 is open" == PLAIN.render("*Approval request 1* is open")
    assert "\x1b[1mApproval request 1\x1b[22m is open" == TTY.render("*Approval request 1* is open")


def test_italic_is_ansi_italic_on_a_tty_and_plain_otherwise():
    assert "… 3 more lines not shown." == PLAIN.render("_… 3 more lines not shown._")
    assert "\x1b[3mnote\x1b[23m" == TTY.render("_note_")


def test_stars_and_underscores_inside_words_or_code_stay():
    assert "cron 0 3 * * * for local_user" == PLAIN.render("cron `0 3 * * *` for local_user")
    assert "2 * 3 = 6, toil.summary_channel" == PLAIN.render("2 * 3 = 6, toil.summary_channel")


def test_code_spans_lose_their_backticks_and_are_coloured_on_a_tty():
    assert "Did you mean patch or pach?" == PLAIN.render("Did you mean `patch` or `pach`?")
    assert "run \x1b[36mstatus db\x1b[39m" == TTY.render("run `status db`")
    assert "*not bold* here" == PLAIN.render("`*not bold*` here")


def test_code_blocks_are_indented_text():
    text = "Recent:\n```\nweb-01  ok\nweb-02  *FAILED*\n```\nDone."
    assert "Recent:\n    web-01  ok\n    web-02  *FAILED*\nDone." == PLAIN.render(text)


def test_shortcodes_are_symbols_and_unknown_ones_stay():
    assert "⚠ careful ⏰ at 3" == PLAIN.render(":warning: careful :alarm_clock: at 3")
    assert "✅ done ❌ failed" == PLAIN.render(":white_check_mark: done :x: failed")
    assert "port :8080: and :nosuchemoji:" == PLAIN.render("port :8080: and :nosuchemoji:")
    assert "key toilbot:lock:web-01" == PLAIN.render("key toilbot:lock:web-01")
    assert ":warning:" == PLAIN.render("`:warning:`")


def test_entities_become_characters_after_sequences_are_read():
    assert "a < b > c & d" == PLAIN.render("a &lt; b &gt; c &amp; d")
    assert "&lt;" == PLAIN.render("&amp;lt;")
    assert "<targets>" == PLAIN.render("`&lt;targets&gt;`")


def test_people_channels_and_broadcasts_read_as_names():
    assert "asked by @U0OPER" == PLAIN.render("asked by <@U0OPER>")
    assert "asked by @alice" == PLAIN.render("asked by <@U0OPER|alice>")
    assert "in #C0OPS and #ops" == PLAIN.render("in <#C0OPS> and <#C0OPS|ops>")
    assert "@channel @here @ops" == PLAIN.render("<!channel> <!here> <!subteam^S01|@ops>")


def test_placeholders_and_other_angle_words_stay_as_written():
    usage = "Usage: `restart <nginx|cron|ssh|demo> on <targets>`, or `can <@user> <command>`"
    assert "Usage: restart <nginx|cron|ssh|demo> on <targets>, or can <@user> <command>" == (
        PLAIN.render(usage)
    )
    assert "connect to <host:port> as <user@host>" == PLAIN.render(
        "connect to <host:port> as <user@host>"
    )


def test_links_read_label_then_address():
    assert "the runbook (https://x.example/rb)" == PLAIN.render(
        "<https://x.example/rb|the runbook>"
    )
    assert "https://x.example" == PLAIN.render("<https://x.example>")


def test_dates_in_the_team_timezone_or_their_fallback():
    token = when(EPOCH)
    assert f"<!date^{EPOCH}^{{date_short_pretty}} {{time}}|2026-12-01 09:55 UTC>" == token
    assert "until 2026-12-01 09:55 UTC" == PLAIN.render(f"until {token}")
    oslo = Terminal(timezone="Europe/Oslo")
    assert "until Tue 2026-12-01 10:55 CET" == oslo.render(f"until {token}")
    york = Terminal(timezone="America/New_York")
    assert "at 04:55 EST" == york.render(f"at <!date^{EPOCH}^{{time}}|09:55 UTC>")


@pytest.mark.parametrize(
    "hostile",
    ["\x1b[2J\x1b[31mred", "bell\x07", "\x9b31mcsi"],
)
def test_control_characters_a_person_typed_are_dropped(hostile):
    shown = TTY.render(f"note: {typed(hostile)}")
    assert "\x1b[2J" not in shown and "\x1b[31m" not in shown and "\x07" not in shown
    assert "\x9b" not in shown


def test_typed_markup_stays_words():
    """A reason typed with markup (through typed()) shows as written, with no mention made."""
    shown = PLAIN.render(f"Denied: {typed('<!channel> <@U0BOB> <https://evil|click>')}")
    assert "Denied: ‹!channel› ‹@U0BOB› ‹https://evil|click›" == shown


# --- the progress line of a running job (bot/frontends/console.py) ---------------------


def _host(name: str, status: str, task: str | None = None, message: str | None = None):
    return {"host": name, "status": status, "failed_task": task, "message": message}


def test_progress_on_a_tty_is_one_line_rewritten_in_place():
    out = io.StringIO()
    progress = ProgressLine(out, tty=True)
    progress.start(["web-01", "web-02"])
    progress.update("Gathering Facts", [_host("web-01", "running"), _host("web-02", "running")])
    progress.update("Apply", [_host("web-01", "ok")])
    progress.update("Apply", [_host("web-02", "failed", "Apply", "disk \x1b[2Jfull")])
    progress.close()
    screen = out.getvalue()
    assert "\n" not in screen.replace("(2/2 hosts done)\n", "")  # only the failure is a line
    assert screen.count("\r\x1b[K  0/2 hosts done · Gathering Facts") == 1
    assert "\r\x1b[K  1/2 hosts done · Apply" in screen
    assert "  web-02: failed at 'Apply': disk [2Jfull (2/2 hosts done)\n" in screen
    assert "\x1b[2J" not in screen  # the message's escape sequence is inert
    assert screen.endswith("\r\x1b[K")  # the line is wiped before the job's result


def test_progress_to_a_pipe_is_a_line_when_a_host_ends():
    out = io.StringIO()
    progress = ProgressLine(out, tty=False)
    progress.start(["web-01", "web-02"])
    for task in ("Gathering Facts", "Apply", "Reboot"):
        progress.update(task, [_host("web-01", "running"), _host("web-02", "running")])
    progress.update(None, [_host("web-01", "changed"), _host("web-02", "unreachable", "Apply")])
    progress.update(None, [_host("web-01", "changed")])  # the final stats: said already
    progress.close()
    assert [
        "  web-01: changed (1/2 hosts done)",
        "  web-02: unreachable at 'Apply' (2/2 hosts done)",
    ] == out.getvalue().splitlines()
