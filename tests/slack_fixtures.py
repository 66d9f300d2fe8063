"""The local Slack fixtures (tests/slack): a pytest plugin of tests/conftest.py.

``workspace`` is how a Slack test reads like a console one: people type and click
in the local Slack, against the real `toilbot serve` (tests/slack/chat.py).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.conftest import ADMIN, OPERATOR, start_toilbot, stop_toilbot, wait_for
from tests.slack import SlackEmulator
from tests.slack.chat import SlackChat
from tests.slack.signing import DEFAULT_SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def slack_users() -> tuple[str, ...]:
    """The workspace's members; a test module overrides this fixture to add its own."""
    return (ADMIN, OPERATOR)


@pytest.fixture
def slack(slack_users: tuple[str, ...]) -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        for user in slack_users:
            emulator.add_user(user)
        yield emulator


@pytest.fixture
def slack_env(env: dict[str, str], slack: SlackEmulator) -> dict[str, str]:
    return {
        **env,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
    }


@pytest.fixture
def server(slack_env: dict[str, str]) -> Iterator[str]:
    """`toilbot serve` on a free loopback port; yields its /slack/events URL."""
    port = free_port()
    proc = start_toilbot(
        slack_env, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"
    )
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, 30, "toilbot serve to listen")
        assert proc.poll() is None, stop_toilbot(proc)
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        print(stop_toilbot(proc))


@pytest.fixture
def workspace(slack: SlackEmulator, server: str) -> Iterator[SlackChat]:
    """People typing `/ops`, `/toil` and clicking buttons, signed as Slack signs them, sent to
    `toilbot serve`; each step returns what that person sees."""
    with SlackChat(slack, server) as chat:
        yield chat
