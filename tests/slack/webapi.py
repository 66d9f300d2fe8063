"""The Web API methods of the local Slack: arguments in, Slack-shaped JSON out.

`dispatch(workspace, method, params, token)` is what `POST /api/<method>`
answers (HTTP 200 either way, `{"ok": false, "error": ...}` on failure, as
Slack does). Arguments arrive as form strings or JSON values; JSON-typed
arguments (`blocks`, `attachments`, `view`, `files`) may be either a JSON
string (form encoding) or the value itself (JSON body).

Faithful: `not_authed` without a token, `invalid_auth` for an unknown one,
`token_revoked`, `not_allowed_token_type` for an app-level token on a bot
method and a bot token on `apps.connections.open`, `unknown_method` (before
authentication, like Slack), the documented errors of each method
(`channel_not_found`, `not_in_channel`, `is_archived`, `message_not_found`,
`cant_update_message`, `msg_too_long`, `no_text`, `invalid_blocks`,
`msg_blocks_too_long` (all block text together over 12,000 characters),
`user_not_found`, `user_not_in_channel`, `no_such_subteam`, `hash_conflict`,
`invalid_arguments` with `response_metadata.messages`), and the response
shapes of the methods below.
`missing_scope` with `needed` and `provided` for a bot-token call without the
scope the method needs (tests/slack/scopes.py; per conversation type for
`conversations.*`), checked after authentication and before the arguments.
Simplified: no pagination (everything fits in one page), attachments are stored
as given.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.slack.blocks import (
    MAX_BLOCKS_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_VIEW_BLOCKS,
    blocks_text_length,
    validate_blocks,
)
from tests.slack.model import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    BOT_USER_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Channel,
    Ephemeral,
    Message,
)
from tests.slack.scopes import LIST_TYPES, PER_CONVERSATION, missing
from tests.slack.workspace import Workspace

MAX_TEXT = 40_000
NO_AUTH_METHODS = frozenset({"api.test"})
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


class ApiError(Exception):
    """A Slack error answer: `{"ok": false, "error": error, **extra}`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _invalid_arguments(*messages: str) -> ApiError:
    return ApiError("invalid_arguments", response_metadata={"messages": list(messages)})


@dataclass(frozen=True)
class ApiRequest:
    method: str
    params: dict[str, Any]
    token: str | None


Handler = Callable[[Workspace, ApiRequest], dict[str, Any]]
METHODS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


# --------------------------------------------------------------------- dispatch


def authenticate(workspace: Workspace, api_method: str, token: str | None) -> None:
    if api_method in NO_AUTH_METHODS:
        return
    if not token:
        raise ApiError("not_authed")
    if token in workspace.revoked:
        raise ApiError("token_revoked")
    is_bot, is_app = token in workspace.bot_tokens, token == workspace.app_token
    if not (is_bot or is_app):
        raise ApiError("invalid_auth")
    if is_app != (api_method in APP_TOKEN_METHODS):
        raise ApiError("not_allowed_token_type")


def authorize(
    workspace: Workspace, api_method: str, params: dict[str, Any], token: str | None
) -> None:
    """`missing_scope` when a bot token lacks a scope the method needs, as Slack answers."""
    if token not in workspace.bot_tokens:
        return
    kinds: list[str] = []
    if api_method == "conversations.list":
        types = (_opt(params, "types") or "public_channel").split(",")
        kinds = [LIST_TYPES[t.strip()] for t in types if t.strip() in LIST_TYPES]
    elif api_method in PER_CONVERSATION and (ref := _opt(params, "channel")):
        kind = _conversation_kind(workspace.resolve_channel(ref))
        kinds = [kind] if kind else []
    lacking = missing(workspace.scopes, api_method, kinds)
    if lacking:
        raise ApiError(
            "missing_scope", needed=",".join(sorted(lacking)), provided=",".join(workspace.scopes)
        )


def _conversation_kind(channel: Channel | None) -> str | None:
    if channel is None:
        return None
    if channel.is_im:
        return "im"
    if channel.id.startswith("G") and channel.name.startswith("mpdm-"):
        return "mpim"
    return "private" if channel.is_private else "public"


def dispatch(
    workspace: Workspace, api_method: str, params: dict[str, Any], token: str | None
) -> dict[str, Any]:
    handler = METHODS.get(api_method)
    try:
        if handler is None:
            raise ApiError("unknown_method", req_method=api_method)
        authenticate(workspace, api_method, token)
        with workspace.lock:
            authorize(workspace, api_method, params, token)
            return {"ok": True, **handler(workspace, ApiRequest(api_method, params, token))}
    except ApiError as e:
        return {"ok": False, "error": e.error, **e.extra}


# ---------------------------------------------------------------- argument help


def _opt(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _req(params: dict[str, Any], name: str, error: str | None = None) -> str:
    value = _opt(params, name)
    if value is None:
        if error is not None:
            raise ApiError(error)
        raise _invalid_arguments(f"[ERROR] missing required field: {name}")
    return value


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)


def _json_arg(params: dict[str, Any], name: str, error: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(error) from None
    return value


def _blocks(params: dict[str, Any]) -> list[dict[str, Any]] | None:
    blocks = _json_arg(params, "blocks", "invalid_blocks_format")
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format")
    errors = validate_blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
    if errors:
        raise ApiError("invalid_blocks", errors=errors, response_metadata={"messages": errors})
    if blocks_text_length(blocks) > MAX_BLOCKS_TEXT:
        raise ApiError("msg_blocks_too_long")
    return blocks


def _attachments(params: dict[str, Any]) -> list[dict[str, Any]] | None:
    attachments = _json_arg(params, "attachments", "invalid_attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    return attachments


def _content(params: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """text/blocks/attachments, checked like chat.postMessage checks them.

    With `partial` (chat.update), arguments not given are left out so the
    message keeps them; an empty list clears blocks or attachments.
    """
    text = _opt(params, "text") or _opt(params, "markdown_text")
    blocks, attachments = _blocks(params), _attachments(params)
    if not text and not blocks and not attachments:
        given = any(params.get(k) is not None for k in ("text", "blocks", "attachments"))
        if not (partial and given):
            raise ApiError("no_text")
    if text is not None and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    content: dict[str, Any] = {"text": text or ""}
    if partial and text is None:
        del content["text"]
    for key, value in (("blocks", blocks), ("attachments", attachments)):
        if not partial or params.get(key) is not None:
            content[key] = value or None
    return content


def _channel(workspace: Workspace, params: dict[str, Any], name: str = "channel") -> Channel:
    ref = _req(params, name, "channel_not_found")
    channel = workspace.resolve_channel(ref)
    if channel is None or (channel.is_private and not channel.is_member):
        raise ApiError("channel_not_found")
    return channel


def _postable(workspace: Workspace, params: dict[str, Any]) -> Channel:
    channel = _channel(workspace, params)
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.is_member and not channel.is_im:
        raise ApiError("not_in_channel")
    return channel


def _own_message(workspace: Workspace, channel: Channel, ts: str, error: str) -> Message:
    message = workspace.current(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    if message.user != BOT_USER_ID:
        raise ApiError(error)
    return message


def _user(workspace: Workspace, user_id: str) -> None:
    user = workspace.users.get(user_id)
    if user is None or user.deleted:
        raise ApiError("user_not_found")


# ------------------------------------------------------------------------ auth


@method("api.test")
def api_test(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    if req.params.get("error"):
        raise ApiError(str(req.params["error"]), args=req.params)
    return {"args": req.params}


@method("auth.test")
def auth_test(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": BOT_USER_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


@method("apps.connections.open")
def apps_connections_open(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    ticket = secrets.token_hex(16)
    workspace.socket_tickets.add(ticket)
    host = workspace.root_url.removeprefix("http://").rstrip("/")
    return {"url": f"ws://{host}/link/?ticket={ticket}&app_id={APP_ID}"}


# ------------------------------------------------------------------------ chat


@method("chat.postMessage")
def chat_post_message(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    channel = _postable(workspace, req.params)
    content = _content(req.params)
    metadata = _json_arg(req.params, "metadata", "invalid_metadata_format")
    message = Message(
        channel.id,
        workspace.clock.next(),
        thread_ts=_opt(req.params, "thread_ts"),
        metadata=metadata,
        reply_broadcast=_flag(req.params, "reply_broadcast"),
        **content,
    )
    workspace.post(message)
    return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}


@method("chat.update")
def chat_update(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    channel = _channel(workspace, req.params)
    ts = _req(req.params, "ts", "message_not_found")
    _own_message(workspace, channel, ts, "cant_update_message")
    message = workspace.update(channel.id, ts, **_content(req.params, partial=True))
    return {"channel": channel.id, "ts": ts, "text": message.text, "message": message.to_api()}


@method("chat.delete")
def chat_delete(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    channel = _channel(workspace, req.params)
    ts = _req(req.params, "ts", "message_not_found")
    _own_message(workspace, channel, ts, "cant_delete_message")
    workspace.delete(channel.id, ts)
    return {"channel": channel.id, "ts": ts}


@method("chat.postEphemeral")
def chat_post_ephemeral(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    channel = _postable(workspace, req.params)
    user = _req(req.params, "user", "user_not_found")
    _user(workspace, user)
    if not channel.has_member(user):
        raise ApiError("user_not_in_channel")
    content = _content(req.params)
    ephemeral = Ephemeral(
        channel.id,
        user,
        content["text"],
        workspace.clock.next(),
        blocks=content["blocks"],
        attachments=content["attachments"],
        thread_ts=_opt(req.params, "thread_ts"),
    )
    workspace.add_ephemeral(ephemeral)
    return {"message_ts": ephemeral.message_ts}


@method("chat.getPermalink")
def chat_get_permalink(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    channel = _channel(workspace, req.params)
    message = workspace.current(channel.id, _req(req.params, "message_ts", "message_not_found"))
    if message is None:
        raise ApiError("message_not_found")
    return {"channel": channel.id, "permalink": workspace.permalink(message)}


# --------------------------------------------------------------- conversations


@method("conversations.open")
def conversations_open(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    if _opt(req.params, "channel") is not None:
        channel, already = _channel(workspace, req.params), True
    else:
        users = [u.strip() for u in _req(req.params, "users", "users_list_not_supplied").split(",")]
        if len(users) > 8:
            raise ApiError("too_many_users")
        if BOT_USER_ID in users:
            raise ApiError("cannot_dm_bot")
        for user in users:
            _user(workspace, user)
        opened = workspace.open_dm(users[0]) if len(users) == 1 else workspace.open_mpim(users)
        channel, already = opened
    body: dict[str, Any] = {
        "channel": channel.to_api() if _flag(req.params, "return_im") else {"id": channel.id}
    }
    if already:
        body.update(no_op=True, already_open=True)
    return body


@method("conversations.info")
def conversations_info(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    return {"channel": _channel(workspace, req.params).to_api()}


@method("conversations.list")
def conversations_list(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    """Public channels, and private ones the bot is in, by id; ``limit`` per page, ``cursor``."""
    types = set((_opt(req.params, "types") or "public_channel").split(","))
    limit_arg, cursor = _opt(req.params, "limit") or "100", _opt(req.params, "cursor") or "0"
    if not limit_arg.isdigit() or not cursor.isdigit():
        raise _invalid_arguments("[ERROR] limit and cursor must be integers")
    shown = [
        c
        for c in sorted(workspace.channels.values(), key=lambda c: c.id)
        if not c.is_im
        and not c.name.startswith("mpdm-")  # group DMs are type mpim
        and not (c.is_archived and _flag(req.params, "exclude_archived"))
        and ("private_channel" if c.is_private else "public_channel") in types
        and (c.is_member or not c.is_private)
    ]
    start, limit = int(cursor), max(1, int(limit_arg))
    more = start + limit < len(shown)
    return {
        "channels": [c.to_api() for c in shown[start : start + limit]],
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


@method("conversations.history")
def conversations_history(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    channel = _channel(workspace, req.params)
    limit_arg = _opt(req.params, "limit") or "100"
    if not limit_arg.isdigit():
        raise _invalid_arguments("[ERROR] limit must be an integer")
    limit = int(limit_arg)
    top = [m for m in workspace.messages(channel.id) if not m.is_reply or m.reply_broadcast]
    newest_first = [m.to_api() for m in reversed(top)][:limit]
    return {
        "messages": newest_first,
        "has_more": len(top) > limit,
        "pin_count": 0,
        "response_metadata": {"next_cursor": ""},
    }


@method("conversations.replies")
def conversations_replies(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    channel = _channel(workspace, req.params)
    ts = _req(req.params, "ts", "thread_not_found")
    parent = workspace.current(channel.id, ts)
    if parent is None:
        raise ApiError("thread_not_found")
    replies = [m for m in workspace.messages(channel.id) if m.thread_ts == ts and m.ts != ts]
    return {
        "messages": [parent.to_api()] + [m.to_api() for m in replies],
        "has_more": False,
        "response_metadata": {"next_cursor": ""},
    }


# ----------------------------------------------------------------------- users


@method("users.info")
def users_info(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    user_id = _req(req.params, "user", "user_not_found")
    user = workspace.users.get(user_id)
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user.to_api(include_locale=_flag(req.params, "include_locale"))}


@method("usergroups.users.list")
def usergroups_users_list(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    group = _req(req.params, "usergroup", "no_such_subteam")
    if group not in workspace.usergroups:
        raise ApiError("no_such_subteam")
    return {"users": list(workspace.usergroups[group])}


# ----------------------------------------------------------------------- views


@method("views.publish")
def views_publish(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    user = _req(req.params, "user_id", "user_not_found")
    _user(workspace, user)
    view = _json_arg(req.params, "view", "invalid_arguments")
    if not isinstance(view, dict) or view.get("type") != "home":
        raise _invalid_arguments("[ERROR] must be a home view [json-pointer:/view/type]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        raise _invalid_arguments("[ERROR] missing required field: blocks [json-pointer:/view]")
    errors = validate_blocks(blocks, "/view/blocks", MAX_VIEW_BLOCKS)
    if errors:
        raise _invalid_arguments(*errors)
    if blocks_text_length(blocks) > MAX_BLOCKS_TEXT:
        raise ApiError("msg_blocks_too_long")
    previous = workspace.home(user)
    expected = _opt(req.params, "hash")
    if expected is not None and previous is not None and expected != previous.hash:
        raise ApiError("hash_conflict")
    published = _home_view(workspace, view, previous.view["id"] if previous else None)
    workspace.publish_home(user, published)
    return {"view": published}


def _home_view(workspace: Workspace, view: dict[str, Any], view_id: str | None) -> dict[str, Any]:
    view_id = view_id or workspace.ids.make("V")
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": "home",
        "blocks": view["blocks"],
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{time.time():.6f}.{secrets.token_hex(4)}",
        "title": view.get("title"),
        "close": None,
        "submit": None,
        "clear_on_close": False,
        "notify_on_close": False,
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }


# ----------------------------------------------------------------------- files


@method("files.getUploadURLExternal")
def files_get_upload_url_external(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    filename = _req(req.params, "filename")
    length = _req(req.params, "length")
    if not length.isdigit() or int(length) < 1:
        raise _invalid_arguments("[ERROR] length must be a positive integer")
    upload = workspace.new_upload(
        filename,
        int(length),
        alt_txt=_opt(req.params, "alt_txt"),
        snippet_type=_opt(req.params, "snippet_type"),
    )
    return {"upload_url": workspace.root_url.rstrip("/") + upload.upload_path, "file_id": upload.id}


_CONVERSATION_ID = re.compile(r"[CGDZ][A-Z0-9]+")


@method("files.completeUploadExternal")
def files_complete_upload_external(workspace: Workspace, req: ApiRequest) -> dict[str, Any]:
    entries = _json_arg(req.params, "files", "invalid_arguments")
    if not isinstance(entries, list) or not entries:
        raise _invalid_arguments("[ERROR] missing required field: files")
    channel_id = _opt(req.params, "channel_id")
    if channel_id is not None and not _CONVERSATION_ID.fullmatch(channel_id):
        # An id only here, not "#name" nor a user id (slackapi/bolt-js#2115); Slack asks for
        # 8+ characters after the letter, the local ids are shorter.
        raise _invalid_arguments(
            "[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ "
            "[json-pointer:/channel_id]"
        )
    channels = _share_targets(workspace, req.params)
    uploads = []
    for entry in entries:
        upload = workspace.files.get(str(entry.get("id")) if isinstance(entry, dict) else "")
        if upload is None or upload.content is None or upload.completed:
            raise ApiError("file_not_found")
        uploads.append((upload, entry))
    for upload, entry in uploads:
        upload.title = entry.get("title") or upload.filename
        upload.channels = [c.id for c in channels]
        upload.thread_ts = _opt(req.params, "thread_ts")
        upload.initial_comment = _opt(req.params, "initial_comment")
        upload.completed = True
    shared = [upload.to_api(workspace.root_url) for upload, _ in uploads]
    for channel in channels:
        workspace.post(
            Message(
                channel.id,
                workspace.clock.next(),
                text=_opt(req.params, "initial_comment") or "",
                thread_ts=_opt(req.params, "thread_ts"),
                files=shared,
            )
        )
    workspace.changed()
    return {"files": shared}


def _share_targets(workspace: Workspace, params: dict[str, Any]) -> list[Channel]:
    refs = [_opt(params, "channel_id"), *(_opt(params, "channels") or "").split(",")]
    targets = []
    for ref in filter(None, (r.strip() if r else None for r in refs)):
        targets.append(_postable(workspace, {"channel": ref}))
    return targets
