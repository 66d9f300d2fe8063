"""People named in slash commands: Slack escapes `@name` into `<@U…|name>` only for commands
whose manifest entry says `should_escape: true`; `/toil report @alice` needs it."""

from __future__ import annotations

from tests.conftest import ADMIN, OPERATOR
from tests.slack.chat import SlackChat, as_slack_sends, escaping_commands
from tests.slack.mrkdwn import controls


def test_both_slash_commands_have_mentions_escaped():
    """The manifest asks Slack to escape mentions for /ops (`can @user`) and /toil (`report`)."""
    assert {"/ops", "/toil"} == escaping_commands()


def test_the_local_slack_escapes_as_the_manifest_says():
    names = {"alice": OPERATOR}
    assert f"report <@{OPERATOR}|alice> @nobody" == as_slack_sends(
        "report @alice @nobody", True, names
    )
    assert "report @alice" == as_slack_sends("report @alice", False, names)


def test_toil_report_at_name_in_slack(workspace: SlackChat, slack):
    """`/toil report @alice` typed in Slack reaches the bot as a mention and answers with
    alice's weeks, mentioning her (the only live markup in the answer)."""
    slack.add_user(OPERATOR, "alice")
    assert "Logged entry 1" in workspace.toil("log 2h operating interrupts", as_=OPERATOR).text
    seen = workspace.toil("report @alice —weeks 2", as_=ADMIN)
    assert f"<@{OPERATOR}>'s toil ratio by week" in seen.text, seen.text
    assert {("user", OPERATOR)} == {(c.kind, c.target) for c in controls(seen.text, seen.blocks)}
    nobody = workspace.toil("report @nobody", as_=ADMIN)
    assert "`@nobody` reached me as plain text, not as a mention of a member" in nobody.text
