"""Slack settings from the environment, checked before any connection is made."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.platform.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str | None  # HTTP mode
    app_token: str | None  # Socket Mode
    api_url: str


def _require(env: Mapping[str, str], name: str, prefix: str, where: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(
            "environment",
            name,
            "is not set",
            f"set it to the {where} (api.slack.com/apps > your app; README 'Connecting Slack')",
        )
    if prefix and not value.startswith(prefix):
        raise ConfigError(
            "environment",
            name,
            f"does not look like a {where} (it should start with {prefix})",
            f"copy the {where} again from api.slack.com/apps",
        )
    return value


def slack_settings(env: Mapping[str, str] | None = None, *, mode: str) -> SlackSettings:
    """``mode`` is "http" (needs the signing secret), "socket" (the app token) or "client"."""
    env = os.environ if env is None else env
    api_url = env.get("SLACK_API_URL", DEFAULT_API_URL).strip() or DEFAULT_API_URL
    if not api_url.startswith(("https://", "http://")):
        raise ConfigError(
            "environment",
            "SLACK_API_URL",
            f"{api_url!r} is not a URL",
            "unset it to use Slack, or write e.g. http://127.0.0.1:8888/api/",
        )
    return SlackSettings(
        bot_token=_require(env, "SLACK_BOT_TOKEN", "xoxb-", "bot token (xoxb-...)"),
        signing_secret=(
            _require(env, "SLACK_SIGNING_SECRET", "", "signing secret")
            if mode == "http"
            else env.get("SLACK_SIGNING_SECRET") or None
        ),
        app_token=(
            _require(env, "SLACK_APP_TOKEN", "xapp-", "app-level token (xapp-...)")
            if mode == "socket"
            else env.get("SLACK_APP_TOKEN") or None
        ),
        api_url=api_url if api_url.endswith("/") else api_url + "/",
    )


def slack_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether workers should report jobs to Slack."""
    env = os.environ if env is None else env
    return bool(env.get("SLACK_BOT_TOKEN"))
