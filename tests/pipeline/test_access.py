"""Who may run what, end to end: scoped rules, Slack user groups read from the local Slack,
channels from signed slash commands, policy reload, the rate limit and hostile input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from slack_sdk import WebClient

from bot.config.settings import load_settings
from bot.frontends.slack.app import build_app
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.wiring import assemble
from bot.pipeline.bot import Bot, Outcome
from bot.pipeline.request import Channel, Request
from bot.platform.store import QUEUE, Store
from tests.conftest import ADMIN, OPERATOR, toilbot_cli, write_config
from tests.slack import SignedClient, SlackEmulator, event_body, serve_bolt, slash_command_body
from tests.slack.signing import DEFAULT_SIGNING_SECRET

ALICE = "U0ALICE"  # in the user group S0ONCALL
BOB = "U0BOB"  # in no group
POLICY = {
    "rate_limit": "off",
    "patterns": ["web-*", "web:!web-01"],
    "roles": {
        "admin": {"permissions": ["*"], "members": [ADMIN]},
        "operator": {
            "members": [OPERATOR, "S0ONCALL"],
            "permissions": ["status", "jobs"],
            "allow": [
                {"permission": "restart", "targets": ["web"]},
                {
                    "permission": "restart",
                    "targets": ["db"],
                    "args": {"service": ["nginx"]},
                    "channels": ["#ops"],
                    "confirm": "approve",
                },
            ],
        },
    },
}


def load_bot(env: dict[str, str], r: redis.Redis) -> Bot:
    return assemble(load_settings(env), Store(r, "test Redis")).bot


@pytest.fixture
def policy_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    write_config(tmp_path / "scoped", policy=POLICY)
    return {**env, "TOILBOT_CONFIG": str(tmp_path / "scoped" / "toilbot.yaml")}


def nothing_queued(r: redis.Redis) -> None:
    """No job record, no RQ job, no host lock: nothing was queued or run."""
    assert [] == [k for k in r.keys("toilbot:job*")]
    assert [] == [k for k in r.keys("toilbot:lock:*")]
    assert [] == [k for k in r.keys("rq:job:*")]
    assert 0 == r.llen(f"rq:queue:{QUEUE}")


# --- Slack: user groups, channels, signed slash commands -------------------------------


@pytest.fixture
def slack_app(policy_env, r) -> Iterator[tuple[SlackEmulator, str]]:
    with SlackEmulator() as slack:
        slack.set_usergroup("S0ONCALL", [ALICE])
        bot = load_bot(policy_env, r)
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        settings = SlackSettings(slack.bot_token, DEFAULT_SIGNING_SECRET, None, slack.base_url)
        app = build_app(bot, settings, client, socket_mode=False)
        with serve_bolt(app) as url:
            yield slack, url


def ops(url: str, text: str, user: str, channel: tuple[str, str] = ("C0OPS", "ops")) -> str:
    with SignedClient(url) as client:
        response = client.post(
            slash_command_body(
                text=text, user_id=user, channel_id=channel[0], channel_name=channel[1]
            )
        )
    assert 200 == response.status_code, response.text
    return str(json.loads(response.text)["text"])


GENERAL = ("C0GEN", "general")


@pytest.mark.parametrize(
    ("user", "text", "channel", "expected"),
    [
        (ALICE, "restart cron on web --check", GENERAL, "queued: `restart cron on web --check`"),
        (BOB, "restart cron on web --check", GENERAL, "needs the `restart` permission"),
        (ALICE, "restart nginx on db-01 --check", ("C0OPS", "ops"), "queued"),
        (ALICE, "restart nginx on db-01 --check", GENERAL, "only from #ops (this came from #gen"),
        (ALICE, "restart cron on db-01 --check", ("C0OPS", "ops"), "service is cron, not nginx"),
        (ALICE, "restart nginx on localhost --check", ("C0OPS", "ops"), "localhost is not in db"),
        (ALICE, "status web-*", GENERAL, "queued: `status web-*` on 2 hosts"),
        (BOB, "status web", GENERAL, "needs the `status` permission"),
        (
            OPERATOR,
            "restart cron on web:!web-01 --check",
            GENERAL,
            "queued: `restart cron on web:!web-01 --check` on 1 host",
        ),
        (ADMIN, "restart ssh on db --check", GENERAL, "queued"),
    ],
)
def test_policy_table_over_slack(slack_app, r, user, text, channel, expected):
    """user x command x targets x channel -> allowed or refused with the rule, through Slack."""
    _slack, url = slack_app
    answer = ops(url, text, user, channel)
    assert expected in answer
    if "queued" not in expected:
        nothing_queued(r)


def test_whoami_and_can_explain_over_slack(slack_app):
    """whoami lists groups and rules; `can` names the rule that decides, for another person."""
    _slack, url = slack_app
    me = ops(url, "whoami", ALICE)
    assert "Slack user groups: S0ONCALL." in me
    assert "Roles: operator (S0ONCALL)." in me
    assert "restart on db with service nginx, from #ops, needs approval" in me
    yes = ops(url, f"can <@{ALICE}|alice> restart nginx on db-01", ALICE)
    assert (
        "U0ALICE may run `restart nginx on db-01` from #ops: role operator allows restart on db "
        "with service nginx, from #ops, needs approval by a second person "
        "(policy.roles.operator.allow[1]); confirmation: approve." == yes
    )
    no = ops(url, f"can {BOB} restart nginx on db-01", ALICE, GENERAL)
    assert "U0BOB may not run `restart nginx on db-01` from #general" in no
    assert "no role of U0BOB grants restart" in no


def test_group_changes_apply_on_slacks_event(slack_app, r):
    """Members are cached; Slack's subteam_members_changed event drops the cache at once."""
    slack, url = slack_app
    assert "queued" in ops(url, "status web", ALICE)
    slack.set_usergroup("S0ONCALL", [BOB])
    assert "queued" in ops(url, "status web", ALICE)  # still cached
    event = {"type": "subteam_members_changed", "subteam_id": "S0ONCALL", "team_id": "T0TOIL"}
    with SignedClient(url) as client:
        assert 200 == client.post(event_body(event)).status_code
    assert "needs the `status` permission" in ops(url, "status web", ALICE)
    assert "queued" in ops(url, "status web", BOB)
    assert 2 == len(slack.calls_to("usergroups.users.list"))  # once cached, once after the event


HOSTILE = [
    ("status 'web; rm -rf /'", "is not a host or group name"),
    ("status '$(reboot)'", "is not a host or group name"),
    ("status '`id`'", "is not a host or group name"),
    ('status \'{{ lookup("pipe", "id") }}\'', "is not a host or group name"),
    ("restart '{{7*7}}' on web", "is not allowed (allowed: nginx, cron, ssh, demo)"),
    ("restart 'nginx;id' on web", "is not allowed"),
    ("status all", "is an Ansible host pattern"),
    ("status '*'", "is an Ansible host pattern"),
    ("status 'web,db'", "is an Ansible host pattern"),
    ("status 'web:&db'", "is an Ansible host pattern"),
    ("status '!db'", "is an Ansible host pattern"),
    ("status '~.*'", "is an Ansible host pattern"),
    ("status @hosts.txt", "is an Ansible host pattern"),
    ("status ｗｅｂ", "FULLWIDTH LATIN SMALL LETTER W (U+FF57)"),
    ("restart ngіnx on web", "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I"),
    ("status web\u200b", "ZERO WIDTH SPACE (U+200B)"),
    ("status \u202eweb", "RIGHT-TO-LEFT OVERRIDE"),
    ("status " + "w" * 10_000, "the limit is 500"),
    ("status " + "w" * 150, "words here are at most 100"),
    ("status web --serial 99999999999999999999", "is not an option of this command"),
    ("restart nginx on web --serial '1;reboot'", "is not a whole number"),
    ("status web\x00", "control characters"),
    ("sta\u0074us <!channel>", "is not a host or group name"),
]


@pytest.mark.parametrize(("text", "fragment"), HOSTILE)
def test_hostile_slash_commands_are_refused(slack_app, r, markers, text, fragment):
    """Hostile arguments in a signed slash command get a clear ephemeral refusal; nothing runs."""
    _slack, url = slack_app
    answer = ops(url, text, ADMIN)
    assert fragment in answer
    assert "Traceback" not in answer and "<!channel>" not in answer
    nothing_queued(r)
    assert [] == list(markers.iterdir())


@pytest.mark.parametrize(("text", "fragment"), HOSTILE)
def test_hostile_text_through_the_pipeline(policy_env, r, markers, text, fragment):
    """The same strings through Bot.handle (console, exec): refused, nothing queued or run."""
    reply = load_bot(policy_env, r).handle(Request(text, ADMIN, "test"))
    assert Outcome.REFUSED == reply.outcome
    assert fragment in reply.text
    nothing_queued(r)
    assert [] == list(markers.iterdir())


# --- reload, rate limit, console ------------------------------------------------------


def rewrite_policy(env: dict[str, str], policy: object) -> None:
    path = Path(env["TOILBOT_CONFIG"])
    config = yaml.safe_load(path.read_text())
    config["policy"] = policy
    path.write_text(yaml.safe_dump(config))


def test_policy_reloads_and_a_broken_one_keeps_the_last_good(policy_env, r):
    """Edits apply without a restart; a broken policy is refused, whoami says it is stale."""
    bot = load_bot(policy_env, r)
    assert not bot.handle(Request("status web", BOB, "test")).ok
    rewrite_policy(policy_env, {**POLICY, "roles": {**POLICY["roles"], "bob": {
        "members": [BOB], "permissions": ["status"]}}})  # fmt: skip
    assert "queued" in bot.handle(Request("status web", BOB, "test")).text
    broken = {"roles": {"bob": {"members": [BOB], "allow": [{"permission": "status",
              "targets": ["prdo"]}]}}}  # fmt: skip
    rewrite_policy(policy_env, broken)
    assert "queued" in bot.handle(Request("status web", BOB, "test")).text  # the last good policy
    me = bot.handle(Request("whoami", BOB, "test")).text
    assert "Policy: STALE." in me
    assert "policy.roles.bob.allow[0].targets[0]: 'prdo' is not a host or group" in me
    rewrite_policy(policy_env, POLICY)
    assert not bot.handle(Request("status web", BOB, "test")).ok
    assert "Policy: loaded from" in bot.handle(Request("whoami", BOB, "test")).text


def test_rate_limit_per_user(policy_env, r):
    """Past the limit a user is told when to retry; others are not affected; nothing queued."""
    rewrite_policy(policy_env, {**POLICY, "rate_limit": "3/min"})
    bot = load_bot(policy_env, r)
    assert all(bot.handle(Request("jobs", OPERATOR, "test")).ok for _ in range(3))
    refused = bot.handle(Request("status web", OPERATOR, "test"))
    assert Outcome.REFUSED == refused.outcome
    assert refused.text.startswith("Slow down: you have sent more than 3/min commands")
    assert refused.text.endswith("Try again in 1m.")
    nothing_queued(r)
    assert bot.handle(Request("jobs", ADMIN, "test")).ok


def test_outside_slack_groups_are_nobody_and_channels_never_match(policy_env, r):
    """Console and exec: user groups resolve to nobody (whoami says so), channel rules fail."""
    bot = load_bot(policy_env, r)
    me = bot.handle(Request("whoami", ALICE, "test")).text
    assert "Slack is not configured here, so Slack user groups resolve to nobody" in me
    refused = bot.handle(Request("restart nginx on db-01 --check", OPERATOR, "test"))
    assert "console and exec are outside Slack, so they have no channel" in refused.text
    assert (
        "queued"
        in bot.handle(
            Request("restart nginx on db-01 --check", OPERATOR, "t", channel=Channel(name="ops"))
        ).text
    )


def test_check_reports_a_policy_naming_unknown_targets(policy_env):
    """`toilbot check` fails on a rule naming a target the inventory lacks, and says what a
    running toilbot does meanwhile."""
    rewrite_policy(
        policy_env,
        {
            "roles": {
                "x": {"members": [BOB], "allow": [{"permission": "status", "targets": ["prdo"]}]}
            }
        },
    )
    proc = toilbot_cli(policy_env, "check", timeout=300)
    assert 1 == proc.returncode
    assert "toilbot.yaml: policy.roles.x.allow[0].targets[0]: 'prdo' is not a host" in proc.stdout
    assert "FAIL policy: " in proc.stdout
    assert "keeps its last good policy" in proc.stdout
