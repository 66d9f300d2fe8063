"""A faithful local Slack for tests, and the tools to drive a Bolt app with it.

* `SlackEmulator` (emulator.py): Web API, upload URLs, response_urls and a
  Socket Mode WebSocket on 127.0.0.1, with fault injection and recording.
* signing.py: request bodies as Slack sends them, signed like Slack signs them.
* wsgi.py: `serve_bolt(app)` runs a Bolt app behind its WSGI adapter.

Nothing here talks to anything but 127.0.0.1.
"""

from tests.slack.emulator import SlackEmulator
from tests.slack.signing import (
    SignedClient,
    app_home_opened_event,
    block_actions_body,
    block_actions_payload,
    event_body,
    event_payload,
    slash_command_body,
    slash_command_payload,
)
from tests.slack.wsgi import serve_bolt

__all__ = [
    "SignedClient",
    "SlackEmulator",
    "app_home_opened_event",
    "block_actions_body",
    "block_actions_payload",
    "event_body",
    "event_payload",
    "serve_bolt",
    "slash_command_body",
    "slash_command_payload",
]
