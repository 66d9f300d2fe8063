"""escape() at the Slack boundary keeps exactly the bot's own markup live: mentions it builds
and times from formatting.when; the same forms typed by a person stay words."""

from __future__ import annotations

from bot.frontends.slack.mrkdwn import escape
from bot.platform.formatting import typed, when
from tests.slack.mrkdwn import controls


def test_our_mentions_and_times_stay_live():
    text = escape(f"Approved by <@U0LEAD1>; expires {when(1796137083)} in <#C0OPS>.")
    kinds = [(c.kind, c.target) for c in controls(text)]
    assert [
        ("user", "U0LEAD1"),
        ("date", "date^1796137083^{date_short_pretty} {time}"),
        ("channel", "C0OPS"),
    ] == kinds


def test_typed_mentions_broadcasts_and_dates_stay_words():
    hostile = "<!channel> <@U0BOB> <#C0X> <!date^1^{date_short_pretty} {time}|now>"
    assert [] == controls(escape(f"Denied: {typed(hostile)}"))


def test_a_date_token_with_a_link_is_never_restored():
    """Slack's date token may carry a link (^https://…); ours never does, so that form stays
    escaped even when it reaches escape() without typed()."""
    forged = "<!date^1^{date_short_pretty} {time}^https://evil.example|today>"
    assert [] == controls(escape(f"note {forged}"))
    assert [] == controls(escape("<!date^1^{date_long}|x> <!here>"))
