"""The bot-token scopes each Web API method needs, and the scopes the app's manifest grants.

Slack refuses a call made without its scope: HTTP 200 with
``{"ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "commands,..."}``
(`needed` and `provided` comma-separated). The local Slack does the same (`missing`), granting
by default what ``slack/manifest.yml`` asks for, so a scope the manifest lacks fails the tests
that make the call. tests/frontends/slack/test_manifest.py checks the same table against the
methods ``bot/`` calls.

Source: docs.slack.dev/reference/methods/<method>, "Scopes", bot token.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yml"

# What the app needs to call each method on every kind of conversation it meets. A method
# missing here fails test_every_called_method_has_its_scopes: look it up and add it.
# conversations.info lists one scope per conversation type; the code asks it about the channel
# an event came from (public or private channel, DM, group DM), so all four.
SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.getPermalink": set(),
    "conversations.info": {"channels:read", "groups:read", "im:read", "mpim:read"},
    "conversations.list": {"channels:read", "groups:read"},  # types=public_channel,private_channel
    "conversations.history": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "conversations.replies": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "conversations.open": {"im:write"},  # a DM to one person
    "files.completeUploadExternal": {"files:write"},
    "files.getUploadURLExternal": {"files:write"},
    "usergroups.users.list": {"usergroups:read"},
    "users.info": {"users:read"},
    "views.publish": set(),  # no scope: any app with a Home tab may publish to it
}

# Methods whose scope depends on the kinds of conversation asked about: the scope of SCOPES[method]
# for each kind (conversations.list: the kinds in its `types`).
_BY_KIND = {"public": "channels", "private": "groups", "im": "im", "mpim": "mpim"}
PER_CONVERSATION = frozenset(
    {"conversations.info", "conversations.list", "conversations.history", "conversations.replies"}
)
LIST_TYPES = {"public_channel": "public", "private_channel": "private", "im": "im", "mpim": "mpim"}


def needed(method: str, kinds: Iterable[str] = ()) -> set[str]:
    """The scopes one call of ``method`` needs; for a per-conversation method, those for the
    ``kinds`` of conversation it is about ("public", "private", "im", "mpim"): none if no kind
    is known (the call then fails on the conversation, as on Slack)."""
    scopes = SCOPES.get(method, set())
    if method not in PER_CONVERSATION:
        return set(scopes)
    prefixes = {_BY_KIND[kind] + ":" for kind in kinds}
    return {s for s in scopes if any(s.startswith(p) for p in prefixes)}


def missing(granted: Iterable[str], method: str, kinds: Iterable[str] = ()) -> set[str]:
    """The scopes ``method`` needs that ``granted`` lacks."""
    return needed(method, kinds) - set(granted)


@cache
def manifest_scopes(path: Path = MANIFEST) -> tuple[str, ...]:
    """The bot scopes an app manifest asks for, in its order."""
    manifest = yaml.safe_load(path.read_text())
    return tuple(manifest["oauth_config"]["scopes"]["bot"])
