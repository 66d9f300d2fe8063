"""The Slack app manifest asks for what the app uses, and points every URL at /slack/events."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.frontends.slack.server import EVENTS_PATH

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[3] / "slack/manifest.yml").read_text())


def test_every_url_is_the_bolt_endpoint():
    """Slash commands, events and interactivity all go to Bolt's /slack/events."""
    settings = MANIFEST["settings"]
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls += [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert all(url.endswith(EVENTS_PATH) for url in urls)


def test_subscriptions_match_the_listeners():
    """The app listens to exactly the events and commands the manifest subscribes to."""
    assert {
        "app_home_opened",
        "app_mention",
        "message.im",
        "subteam_members_changed",
        "subteam_updated",
    } == set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert ["/ops", "/toil"] == [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "app_mentions:read", "im:history", "files:write"} <= scopes
