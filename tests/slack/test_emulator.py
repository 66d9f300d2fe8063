"""The local Slack, proven with the real libraries: slack_sdk's WebClient and retry
handlers, Bolt behind its WSGI adapter, and Bolt's Socket Mode handler on
slack_sdk's builtin WebSocket client. Everything stays on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.slack.emulator import SlackEmulator
from tests.slack.model import BOT_USER_ID, DEFAULT_CHANNEL_ID, DEFAULT_USER_ID
from tests.slack.mrkdwn import Control, controls, mrkdwn_texts, shown, text_controls
from tests.slack.scopes import manifest_scopes
from tests.slack.signing import (
    DEFAULT_SIGNING_SECRET,
    SignedClient,
    app_home_opened_event,
    block_actions_body,
    block_actions_payload,
    event_body,
    event_payload,
    signature,
    slash_command_body,
    slash_command_payload,
    url_verification_body,
)
from tests.slack.websocket import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, encode_frame, read_frame
from tests.slack.wsgi import serve_bolt

OPS = DEFAULT_CHANNEL_ID
ALICE = DEFAULT_USER_ID


@pytest.fixture
def client(emulator: SlackEmulator) -> WebClient:
    return WebClient(token=emulator.bot_token, base_url=emulator.base_url)


def api_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# ------------------------------------------------------------------ Web API


def test_base_url_is_what_webclient_wants(emulator: SlackEmulator, client: WebClient) -> None:
    assert emulator.base_url.startswith("http://127.0.0.1:")
    assert emulator.base_url.endswith("/api/")
    auth = client.auth_test()
    assert auth["user_id"] == BOT_USER_ID
    assert auth["bot_id"]
    assert "chat:write" in auth.headers["x-oauth-scopes"]


def test_post_message_json_and_form_bodies(emulator: SlackEmulator, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*deploying* web"}}]
    as_json = client.chat_postMessage(channel=OPS, text="deploying web", blocks=blocks)
    as_form = client.api_call("chat.postMessage", params={"channel": "#ops", "text": "done"})

    assert as_json["channel"] == OPS == as_form["channel"]
    assert as_json["message"]["bot_id"] and as_json["message"]["blocks"] == blocks
    assert float(as_form["ts"]) > float(as_json["ts"])
    assert [m.text for m in emulator.messages(OPS)] == ["deploying web", "done"]
    first, second = emulator.calls_to("chat.postMessage")
    assert first.params["blocks"] == blocks  # JSON body: values keep their types
    assert second.params == {"channel": "#ops", "text": "done"}  # form body: strings
    assert first.token == second.token == emulator.bot_token


def test_ts_values_strictly_increase(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=OPS, text=str(i))["ts"] for i in range(20)]
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == len(stamps)


def test_threads_and_permalinks(emulator: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=OPS, text="restart web?")["ts"]
    reply = client.chat_postMessage(channel=OPS, text="restarted", thread_ts=parent)
    assert reply["message"]["thread_ts"] == parent
    assert [m.text for m in emulator.thread(OPS, parent)] == ["restarted"]

    link = client.chat_getPermalink(channel=OPS, message_ts=reply["ts"])["permalink"]
    assert link.endswith(
        f"/archives/{OPS}/p{reply['ts'].replace('.', '')}?thread_ts={parent}&cid={OPS}"
    )
    emulator.workspace.scopes += ("channels:history",)  # an app that reads channels back
    replies = client.conversations_replies(channel=OPS, ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["restart web?", "restarted"]
    history = client.conversations_history(channel=OPS)["messages"]
    assert [m["text"] for m in history] == ["restart web?"]


def test_update_keeps_every_version(emulator: SlackEmulator, client: WebClient) -> None:
    buttons = [{"type": "actions", "elements": [_button("approve")]}]
    ts = client.chat_postMessage(channel=OPS, text="patch db1?", blocks=buttons)["ts"]
    client.chat_update(channel=OPS, ts=ts, text="patching db1")  # blocks kept
    updated = client.chat_update(channel=OPS, ts=ts, text="db1 patched", blocks=[])  # cleared

    assert updated["ts"] == ts and updated["text"] == "db1 patched"
    assert "edited" in updated["message"]
    versions = emulator.updates(OPS, ts)
    assert [v.text for v in versions] == ["patch db1?", "patching db1", "db1 patched"]
    assert [v.blocks is not None for v in versions] == [True, True, False]
    current = emulator.message(OPS, ts)
    assert current is not None and current.text == "db1 patched" and current.blocks is None
    assert len(emulator.messages(OPS)) == 1


def test_delete_and_ownership(emulator: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=OPS, text="temporary")["ts"]
    assert client.chat_delete(channel=OPS, ts=ts)["ts"] == ts
    assert emulator.messages(OPS) == []
    assert [v.text for v in emulator.updates(OPS, ts)] == ["temporary"]
    with pytest.raises(SlackApiError) as gone:
        client.chat_update(channel=OPS, ts=ts, text="again")
    assert api_error(gone) == "message_not_found"

    human = emulator.post_user_message(OPS, "my own words")
    with pytest.raises(SlackApiError) as not_mine:
        client.chat_update(channel=OPS, ts=human, text="edited")
    assert api_error(not_mine) == "cant_update_message"
    with pytest.raises(SlackApiError) as not_mine_either:
        client.chat_delete(channel=OPS, ts=human)
    assert api_error(not_mine_either) == "cant_delete_message"


def _button(action_id: str, text: str = "Approve") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": "yes",
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C0NOWHERE", "text": "hi"}, "channel_not_found"),
        ({"channel": OPS, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": OPS}, "no_text"),
        ({"channel": OPS, "text": ""}, "no_text"),
        ({"channel": OPS, "blocks": [_section("x")] * 51}, "invalid_blocks"),
        ({"channel": OPS, "blocks": [_section("x" * 3001)]}, "invalid_blocks"),
        ({"channel": OPS, "blocks": [{"type": "sparkles"}]}, "invalid_blocks"),
        ({"channel": OPS, "blocks": "[not json"}, "invalid_blocks_format"),
    ],
)
def test_post_message_errors(client: WebClient, arguments: dict[str, Any], error: str) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessage", json=arguments)
    assert excinfo.value.response.status_code == 200  # Slack answers errors with HTTP 200
    assert api_error(excinfo) == error


def test_invalid_blocks_say_where(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(
            channel=OPS, text="t", blocks=[_section("ok"), _section("y" * 3001)]
        )
    assert excinfo.value.response["errors"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text/text]"
    ]
    assert client.chat_postMessage(channel=OPS, text="t", blocks=[_section("z" * 3000)])["ok"]
    assert client.chat_postMessage(channel=OPS, text="t", blocks=[_section("z")] * 50)["ok"]


def test_blocks_text_over_12000_characters_is_refused(
    emulator: SlackEmulator, client: WebClient
) -> None:
    """Blocks each within limits but over 12,000 characters together are refused everywhere."""
    fits = [_section("a" * 3000)] * 4  # 12,000: accepted
    too_long = [*fits, _section("b")]  # 12,001
    posted = client.chat_postMessage(channel=OPS, text="t", blocks=fits)
    assert posted["ok"]
    calls = {
        "chat.postMessage": {"channel": OPS, "text": "t", "blocks": too_long},
        "chat.update": {"channel": OPS, "ts": posted["ts"], "text": "t", "blocks": too_long},
        "chat.postEphemeral": {"channel": OPS, "user": ALICE, "text": "t", "blocks": too_long},
        "views.publish": {"user_id": ALICE, "view": {"type": "home", "blocks": too_long}},
    }
    for method, arguments in calls.items():
        with pytest.raises(SlackApiError) as excinfo:
            client.api_call(method, json=arguments)
        assert excinfo.value.response.data == {"ok": False, "error": "msg_blocks_too_long"}
        assert emulator.calls_to(method)[-1].response["error"] == "msg_blocks_too_long"
    assert emulator.message(OPS, posted["ts"]) is not None
    assert emulator.home(ALICE) is None


def test_channel_membership_and_archival(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.add_channel("C0OUTSIDE", "outside", is_member=False)
    emulator.add_channel("C0SECRET", "secret", is_private=True, is_member=False)
    emulator.add_channel("C0OLD", "old", is_archived=True)
    expected = {
        "C0OUTSIDE": "not_in_channel",
        "C0SECRET": "channel_not_found",
        "C0OLD": "is_archived",
    }
    for channel, error in expected.items():
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel=channel, text="hi")
        assert api_error(excinfo) == error


def test_tokens(emulator: SlackEmulator) -> None:
    wrong = WebClient(token="xoxb-not-ours", base_url=emulator.base_url)  # noqa: S106 (fake)
    missing = WebClient(base_url=emulator.base_url)
    app_level = WebClient(token=emulator.app_token, base_url=emulator.base_url)
    for client, error in (
        (wrong, "invalid_auth"),
        (missing, "not_authed"),
        (app_level, "not_allowed_token_type"),
    ):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel=OPS, text="hi")
        assert api_error(excinfo) == error
    with pytest.raises(SlackApiError) as bot_on_socket:
        WebClient(token=emulator.bot_token, base_url=emulator.base_url).apps_connections_open(
            app_token=emulator.bot_token
        )
    assert api_error(bot_on_socket) == "not_allowed_token_type"

    url = app_level.apps_connections_open(app_token=emulator.app_token)["url"]
    assert url.startswith(emulator.url.replace("http://", "ws://") + "link/?ticket=")

    emulator.revoke_token(emulator.bot_token)
    with pytest.raises(SlackApiError) as revoked:
        WebClient(token=emulator.bot_token, base_url=emulator.base_url).auth_test()
    assert api_error(revoked) == "token_revoked"
    assert emulator.messages() == []


def test_raw_http_like_slack(emulator: SlackEmulator) -> None:
    """Query-string arguments, a token in a form body, and Slack's refusals."""
    with httpx.Client(trust_env=False) as http:
        by_query = http.get(
            emulator.base_url + "users.info",
            params={"user": ALICE},
            headers={"Authorization": f"Bearer {emulator.bot_token}"},
        ).json()
        by_form = http.post(
            emulator.base_url + "chat.postMessage",
            data={"token": emulator.bot_token, "channel": OPS, "text": "form token"},
        ).json()
        json_token = http.post(
            emulator.base_url + "auth.test", json={"token": emulator.bot_token}
        ).json()
        unknown = http.post(emulator.base_url + "chat.sparkle").json()
        broken = http.post(
            emulator.base_url + "auth.test",
            content=b"{nope",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {emulator.bot_token}",
            },
        ).json()
    assert by_query["user"]["id"] == ALICE
    assert by_form["ok"] and by_form["message"]["text"] == "form token"
    assert json_token == {"ok": False, "error": "not_authed"}  # JSON bodies need the header
    assert unknown == {"ok": False, "error": "unknown_method", "req_method": "chat.sparkle"}
    assert broken == {"ok": False, "error": "invalid_json"}


def test_ephemeral(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.add_user("U0BOB", "bob")
    emulator.add_channel("C0SMALL", "small", members=[ALICE])
    ts = client.chat_postEphemeral(channel=OPS, user=ALICE, text="only you")["message_ts"]
    (ephemeral,) = emulator.ephemerals
    assert (ephemeral.channel, ephemeral.user, ephemeral.text, ephemeral.message_ts) == (
        OPS,
        ALICE,
        "only you",
        ts,
    )
    assert emulator.messages(OPS) == []
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postEphemeral(channel="C0SMALL", user="U0BOB", text="psst")
    assert api_error(excinfo) == "user_not_in_channel"


def test_direct_messages(emulator: SlackEmulator, client: WebClient) -> None:
    opened = client.conversations_open(users=ALICE)
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and "already_open" not in opened
    again = client.conversations_open(users=[ALICE])
    assert again["channel"]["id"] == dm and again["already_open"] is True
    posted = client.chat_postMessage(
        channel=ALICE, text="your job finished"
    )  # a user ID opens the DM
    assert posted["channel"] == dm == emulator.dm_channel(ALICE)
    assert [m.text for m in emulator.messages(dm)] == ["your job finished"]
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_open(users="U0GHOST")
    assert api_error(excinfo) == "user_not_found"


def test_users_info_time_zones(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.add_user("U0KENJI", "kenji", real_name="Kenji Sato", tz="Asia/Tokyo")
    emulator.add_user("U0SAM", "sam", tz="America/New_York", tz_label="Custom", tz_offset=-1)
    kenji = client.users_info(user="U0KENJI")["user"]
    assert (kenji["real_name"], kenji["tz"], kenji["tz_label"], kenji["tz_offset"]) == (
        "Kenji Sato",
        "Asia/Tokyo",
        "Japan Standard Time",
        9 * 3600,
    )
    alice = client.users_info(user=ALICE, include_locale=True)["user"]
    paris = datetime.now(ZoneInfo("Europe/Paris"))
    assert alice["tz_offset"] == paris.utcoffset().total_seconds()  # type: ignore[union-attr]
    assert alice["tz_label"].startswith("Central European")
    assert alice["locale"] == "en-US"
    sam = client.users_info(user="U0SAM")["user"]
    assert (sam["tz_label"], sam["tz_offset"]) == ("Custom", -1)
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U0GHOST")
    assert api_error(excinfo) == "user_not_found"


def test_usergroups(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.set_usergroup("S0ONCALL", [ALICE, "U0BOB"])
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == [ALICE, "U0BOB"]
    with pytest.raises(SlackApiError) as excinfo:
        client.usergroups_users_list(usergroup="S0NONE")
    assert api_error(excinfo) == "no_such_subteam"


def test_app_home(emulator: SlackEmulator, client: WebClient) -> None:
    view = {"type": "home", "blocks": [_section("2 jobs running")]}
    first = client.views_publish(user_id=ALICE, view=view)["view"]
    assert first["type"] == "home" and first["id"].startswith("V")
    second = client.views_publish(user_id=ALICE, view=view, hash=first["hash"])["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    home = emulator.home(ALICE)
    assert home is not None and home["blocks"] == view["blocks"]
    assert emulator.home("U0BOB") is None
    assert len(emulator.homes(ALICE)) == 2

    with pytest.raises(SlackApiError) as stale:
        client.views_publish(user_id=ALICE, view=view, hash=first["hash"])
    assert api_error(stale) == "hash_conflict"
    with pytest.raises(SlackApiError) as too_many:
        client.views_publish(user_id=ALICE, view={"type": "home", "blocks": [_section("x")] * 101})
    assert api_error(too_many) == "invalid_arguments"
    assert "no more than 100 items" in too_many.value.response["response_metadata"]["messages"][0]


def test_files_upload_v2(emulator: SlackEmulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=OPS, text="patch report follows")["ts"]
    content = b"host,status\ndb1,patched\n"
    result = client.files_upload_v2(
        channel=OPS,
        content=content,
        filename="report.csv",
        title="Patch report",
        initial_comment="Here it is",
        thread_ts=parent,
    )
    (uploaded,) = emulator.files
    assert result["file"]["id"] == uploaded.id
    assert (uploaded.title, uploaded.filename, uploaded.content) == (
        "Patch report",
        "report.csv",
        content,
    )
    assert (uploaded.channels, uploaded.thread_ts, uploaded.initial_comment) == (
        [OPS],
        parent,
        "Here it is",
    )
    order = [c.method for c in emulator.calls if c.method != "chat.postMessage"]
    assert order == ["files.getUploadURLExternal", "upload_url", "files.completeUploadExternal"]
    (share,) = emulator.thread(OPS, parent)
    assert share.text == "Here it is" and share.files and share.files[0]["id"] == uploaded.id

    url_private = result["file"]["url_private"]
    with httpx.Client(trust_env=False) as http:
        auth = {"Authorization": f"Bearer {emulator.bot_token}"}
        assert http.get(url_private, headers=auth).content == content
        assert http.get(url_private).status_code == 404


def test_a_file_is_shared_by_channel_id_only(emulator: SlackEmulator, client: WebClient) -> None:
    """files.completeUploadExternal takes a conversation id: a "#name" or a user id is refused
    (chat.postMessage takes both); conversations.list finds the id of a name."""
    for where in ("#ops", ALICE):
        with pytest.raises(SlackApiError) as refused:
            client.files_upload_v2(channel=where, content=b"x", filename="x.txt")
        assert "invalid_arguments" == api_error(refused)
    assert [] == emulator.files
    listed = client.conversations_list(types="public_channel,private_channel", limit=1)
    names = {c["name"]: c["id"] for c in listed["channels"]}
    cursor = listed["response_metadata"]["next_cursor"]
    while cursor:
        page = client.conversations_list(types="public_channel,private_channel", cursor=cursor)
        names.update({c["name"]: c["id"] for c in page["channels"]})
        cursor = page["response_metadata"]["next_cursor"]
    assert OPS == names["ops"]


# ---------------------------------------------------------- faults and retries


def test_rate_limit_without_retry_handler(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=OPS, text="hi")
    response = excinfo.value.response
    assert (response.status_code, response["error"], response.headers["Retry-After"]) == (
        429,
        "ratelimited",
        "7",
    )
    assert client.chat_postMessage(channel=OPS, text="hi")["ok"]  # times=1: next call is fine


def test_rate_limit_retry_handler_honours_retry_after(emulator: SlackEmulator) -> None:
    client = WebClient(
        token=emulator.bot_token,
        base_url=emulator.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    emulator.fail("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel=OPS, text="eventually")["ok"]
    elapsed = time.monotonic() - started

    first, second = emulator.calls_to("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 1.0  # slept Retry-After (+ up to 1 s of jitter)
    assert elapsed < 3
    assert [m.text for m in emulator.messages(OPS)] == ["eventually"]


def test_server_error_retry_handler(emulator: SlackEmulator) -> None:
    retry = ServerErrorRetryHandler(
        max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
    )
    client = WebClient(token=emulator.bot_token, base_url=emulator.base_url, retry_handlers=[retry])
    emulator.fail("chat.postMessage", status=503, times=1)
    emulator.fail("chat.postMessage", status=500, times=1)
    assert client.chat_postMessage(channel=OPS, text="third time lucky")["ok"]
    assert [c.status for c in emulator.calls_to("chat.postMessage")] == [503, 500, 200]


def test_outage(emulator: SlackEmulator, client: WebClient) -> None:
    with emulator.outage():
        for call in (client.auth_test, lambda: client.chat_postMessage(channel=OPS, text="x")):
            with pytest.raises(SlackApiError) as excinfo:
                call()
            assert excinfo.value.response.status_code == 503
    assert client.chat_postMessage(channel=OPS, text="back")["ok"]
    emulator.set_outage(True)
    assert httpx.post(emulator.base_url + "api.test", trust_env=False).status_code == 503
    emulator.set_outage(False)


def test_plain_api_error_and_wildcard_faults(emulator: SlackEmulator, client: WebClient) -> None:
    emulator.fail("chat.postMessage", status=200, error="channel_not_found")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=OPS, text="x")
    assert (excinfo.value.response.status_code, api_error(excinfo)) == (200, "channel_not_found")
    emulator.fail("*", status=500, times=2)
    for call in (client.auth_test, lambda: client.users_info(user=ALICE)):
        with pytest.raises(SlackApiError):
            call()
    assert client.auth_test()["ok"]


def test_wait_for_sees_changes_from_other_threads(
    emulator: SlackEmulator, client: WebClient
) -> None:
    threading.Timer(0.1, lambda: client.chat_postMessage(channel=OPS, text="later")).start()
    messages = emulator.wait_for(lambda: emulator.messages(OPS), timeout=5)
    assert messages[0].text == "later"
    with pytest.raises(TimeoutError):
        emulator.wait_for(lambda: emulator.files, timeout=0.05)


def test_response_url(emulator: SlackEmulator) -> None:
    url = emulator.new_response_url(channel=OPS, user=ALICE)
    with httpx.Client(trust_env=False) as http:
        ephemeral = http.post(url, json={"text": "only you"})
        public = http.post(url, json={"text": "everyone", "response_type": "in_channel"})
        empty = http.post(url, json={})
        for _ in range(3):
            http.post(url, json={"text": "again"})
        expired = http.post(url, json={"text": "one too many"})
        unknown = http.post(emulator.url + "commands/T0TOIL/1/nope", json={"text": "x"})
    assert (ephemeral.status_code, ephemeral.text) == (200, "ok")
    assert (public.status_code, empty.status_code, empty.text) == (200, 400, "no_text")
    assert (expired.status_code, expired.text) == (404, "expired_url")
    assert unknown.status_code == 404
    assert [m.text for m in emulator.messages(OPS)] == ["everyone"]
    assert emulator.ephemerals[0].text == "only you"
    assert [r.body.get("text") for r in emulator.responses][:2] == ["only you", "everyone"]


# --------------------------------------------------------------- Bolt over HTTP


def bolt_app(emulator: SlackEmulator, **options: Any) -> App:
    """Bolt's App with its WebClient on the emulator. The token goes in the client:
    when `client=` is given, Bolt ignores `token=` (see the test below)."""
    return App(
        client=WebClient(token=emulator.bot_token, base_url=emulator.base_url),
        signing_secret=DEFAULT_SIGNING_SECRET,
        **options,
    )


def test_bolt_ignores_token_when_client_is_given(emulator: SlackEmulator) -> None:
    with pytest.raises(BoltError):
        App(
            token=emulator.bot_token,
            signing_secret=DEFAULT_SIGNING_SECRET,
            client=WebClient(base_url=emulator.base_url),
        )
    assert emulator.calls_to("auth.test") == []


def test_bolt_slash_command_ack_and_respond(emulator: SlackEmulator) -> None:
    app = bolt_app(emulator, process_before_response=True)
    assert [c.token for c in emulator.calls_to("auth.test")] == [emulator.bot_token]

    @app.command("/ops")
    def ops(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack(f"Working on `{command['text']}`…")
        respond(text=f"{command['text']}: done", response_type="in_channel")

    response_url = emulator.new_response_url(channel=OPS, user=ALICE)
    body = slash_command_body("/ops", "restart web", response_url=response_url)
    with serve_bolt(app) as url, SignedClient(url) as slack:
        response = slack.post(body)

    assert response.status_code == 200
    assert response.text == "Working on `restart web`…"
    (posted,) = emulator.responses
    assert posted.body == {"text": "restart web: done", "response_type": "in_channel"}
    assert [m.text for m in emulator.messages(OPS)] == ["restart web: done"]


def test_bolt_rejects_bad_signature_and_stale_timestamp(emulator: SlackEmulator) -> None:
    app = bolt_app(emulator, process_before_response=True)
    seen: list[str] = []

    @app.command("/ops")
    def ops(ack: Ack, command: dict[str, Any]) -> None:
        seen.append(command["text"])
        ack()

    with serve_bolt(app) as url, SignedClient(url) as slack:
        forged = slack.post(slash_command_body(text="forged"), bad_signature=True)
        replayed = slack.post(slash_command_body(text="replayed"), stale=True)
        fine = slack.post(slash_command_body(text="fine"))
    assert (forged.status_code, forged.json()) == (401, {"error": "invalid request"})
    assert replayed.status_code == 401
    assert fine.status_code == 200
    assert seen == ["fine"]


def test_signature_matches_slack_sdk_verifier() -> None:
    body, ts = slash_command_body(text="x").raw, int(time.time())
    verifier = SignatureVerifier(DEFAULT_SIGNING_SECRET)
    assert verifier.is_valid(body, str(ts), signature(DEFAULT_SIGNING_SECRET, ts, body))
    assert verifier.generate_signature(timestamp=str(ts), body=body) == signature(
        DEFAULT_SIGNING_SECRET, ts, body
    )


def test_bolt_block_action_replaces_original(emulator: SlackEmulator, client: WebClient) -> None:
    app = bolt_app(emulator, process_before_response=True)
    blocks = [_section("Patch db1?"), {"type": "actions", "elements": [_button("approve")]}]
    posted = client.chat_postMessage(channel=OPS, text="Patch db1?", blocks=blocks)

    @app.action("approve")
    def approve(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        respond(text=f"Approved by <@{body['user']['id']}>", replace_original=True)

    response_url = emulator.new_response_url(kind="actions", message_ts=posted["ts"])
    body = block_actions_body(
        "approve",
        "yes",
        message_ts=posted["ts"],
        response_url=response_url,
        message=posted["message"],
    )
    with serve_bolt(app) as url, SignedClient(url) as slack:
        assert slack.post(body).status_code == 200
    versions = emulator.updates(OPS, posted["ts"])
    assert [v.text for v in versions] == ["Patch db1?", f"Approved by <@{ALICE}>"]
    assert body.payload["container"]["message_ts"] == posted["ts"]


def test_bolt_events_url_verification_and_retries(emulator: SlackEmulator) -> None:
    app = bolt_app(emulator, process_before_response=True)
    retries: list[str | None] = []

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient, request: BoltRequest) -> None:
        retries.append(request.headers.get("x-slack-retry-num", [None])[0])
        view = {"type": "home", "blocks": [_section(f"Hello <@{event['user']}>")]}
        client.views_publish(user_id=event["user"], view=view)

    with serve_bolt(app) as url, SignedClient(url) as slack:
        challenge = slack.post(url_verification_body("abc123"))
        first = slack.post(event_body(app_home_opened_event(ALICE)))
        again = slack.post(event_body(app_home_opened_event(ALICE)), retry_num=1)
    assert challenge.json() == {"challenge": "abc123"}
    assert (first.status_code, again.status_code) == (200, 200)
    assert retries == [None, "1"]
    home_view = emulator.home(ALICE)
    assert home_view is not None and home_view["blocks"][0]["text"]["text"] == f"Hello <@{ALICE}>"


# ------------------------------------------------------------------ Socket Mode


@contextmanager
def socket_mode(app: App, app_token: str, **options: Any) -> Iterator[SocketModeHandler]:
    """Bolt's SocketModeHandler (builtin client) connected to the emulator.

    The handler's WebClient is `app.client`, so apps.connections.open goes to
    the emulator; the WebSocket URL comes from that answer.
    """
    handler = SocketModeHandler(app, app_token, **options)
    handler.connect()
    try:
        yield handler
    finally:
        _close_quickly(handler)


def _close_quickly(handler: SocketModeHandler) -> None:
    """close() joins a thread blocked up to 1 s in `message_queue.get(timeout=1)`;
    marking the client closed and waking that thread first saves the second."""
    handler.client.closed = True
    handler.client.message_queue.put("")
    handler.close()


def test_socket_mode_slash_command_round_trip(emulator: SlackEmulator) -> None:
    app = bolt_app(emulator)

    @app.command("/ops")
    def ops(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack(f"Queued {command['text']}")
        respond(f"{command['text']}: done")

    response_url = emulator.new_response_url(channel=OPS, user=ALICE)
    with socket_mode(app, emulator.app_token) as handler:
        assert handler.client.is_connected()
        payload = slash_command_payload("/ops", "patch db1", response_url=response_url)
        envelope_id = emulator.socket_send("slash_commands", payload)
        ack = emulator.wait_for_ack(envelope_id)
        emulator.wait_for(lambda: emulator.responses)

    assert ack.payload == {"text": "Queued patch db1"}
    (opened,) = emulator.calls_to("apps.connections.open")
    assert opened.token == emulator.app_token
    assert emulator.responses[0].body == {"text": "patch db1: done"}
    # Slack shows the ack payload to the user, as well as the response_url answer (Bolt
    # sends the ack while the listener goes on, so the two can arrive in either order)
    assert sorted((e.source, e.text) for e in emulator.ephemerals) == [
        ("ack", "Queued patch db1"),
        ("response_url", "patch db1: done"),
    ]


def test_socket_mode_events_and_interactions(emulator: SlackEmulator, client: WebClient) -> None:
    app = bolt_app(emulator)
    posted = client.chat_postMessage(channel=OPS, text="Restart web?")

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(
            user_id=event["user"], view={"type": "home", "blocks": [_section("hi")]}
        )

    @app.action("restart")
    def restart(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_update(
            channel=body["channel"]["id"], ts=body["container"]["message_ts"], text="Restarting"
        )

    with socket_mode(app, emulator.app_token):
        event_id = emulator.socket_send("events_api", event_payload(app_home_opened_event(ALICE)))
        action = block_actions_payload(
            "restart", message_ts=posted["ts"], message=posted["message"]
        )
        action_id = emulator.socket_send("interactive", action)
        acks = [emulator.wait_for_ack(event_id), emulator.wait_for_ack(action_id)]
        emulator.wait_for(lambda: emulator.home(ALICE))
        emulator.wait_for(lambda: len(emulator.updates(OPS, posted["ts"])) == 2)
    assert [a.payload for a in acks] == [None, None]
    current = emulator.message(OPS, posted["ts"])
    assert current is not None and current.text == "Restarting"


def test_socket_mode_ping_pong_disconnect_and_close(emulator: SlackEmulator) -> None:
    app = bolt_app(emulator)
    # ping_interval also paces the client's monitor, which is what reconnects after a
    # close frame (see test_close_frame_reconnect_waits_for_the_monitor)
    with socket_mode(app, emulator.app_token, ping_interval=0.5) as handler:
        session = handler.client.current_session
        assert session is not None
        emulator.wait_for(lambda: session.last_ping_pong_time is not None)  # our pong to its ping
        emulator.socket_ping(b"are you there")
        emulator.wait_for(lambda: b"are you there" in emulator.pongs)  # its pong to our ping

        emulator.socket_disconnect("refresh_requested")  # Slack's "please reconnect"
        emulator.wait_for(lambda: len(emulator.calls_to("apps.connections.open")) == 2)
        emulator.wait_for(lambda: handler.client.current_session is not session)
        emulator.wait_for(lambda: emulator.socket_connections == 1)

        emulator.socket_close()  # a close frame: the client's monitor reconnects
        emulator.wait_for(lambda: len(emulator.calls_to("apps.connections.open")) == 3)
        emulator.wait_for(lambda: emulator.socket_connections == 1)

        # Bolt does not ack an envelope no listener matched (Slack would redeliver it)
        unhandled = emulator.socket_send("events_api", event_payload(app_home_opened_event()))
        with pytest.raises(TimeoutError):
            emulator.wait_for_ack(unhandled, timeout=0.3)
        app.event("app_home_opened")(lambda: None)
        handled = emulator.socket_send("events_api", event_payload(app_home_opened_event()))
        assert emulator.wait_for_ack(handled).payload is None


def _handshake(emulator: SlackEmulator, ticket: str) -> socket.socket:
    host, port = emulator.url.removeprefix("http://").rstrip("/").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    request = (
        f"GET /link/?ticket={ticket} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock


def test_websocket_protocol_details(emulator: SlackEmulator) -> None:
    """RFC 6455 at the byte level: accept key, hello, masked ping → pong, unmasked → 1002."""
    bogus = _handshake(emulator, "not-a-ticket")
    assert bogus.recv(100).startswith(b"HTTP/1.1 401")
    bogus.close()

    url = WebClient(token=emulator.app_token, base_url=emulator.base_url).apps_connections_open(
        app_token=emulator.app_token
    )["url"]
    sock = _handshake(emulator, url.split("ticket=")[1].split("&")[0])
    stream = sock.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += stream.read(1)
    assert head.startswith(b"HTTP/1.1 101")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455's example
    hello = read_frame(stream)
    assert hello is not None and hello.opcode == OP_TEXT and not hello.masked
    assert json.loads(hello.payload)["type"] == "hello"

    sock.sendall(encode_frame(OP_PING, b"x" * 300, mask_key=b"\x01\x02\x03\x04"))
    frame = read_frame(stream)
    while frame is not None and frame.opcode == OP_PING:  # the emulator's own pings
        frame = read_frame(stream)
    assert frame is not None and (frame.opcode, frame.payload) == (OP_PONG, b"x" * 300)

    sock.sendall(encode_frame(OP_TEXT, b'{"envelope_id": "e1"}'))  # unmasked: not allowed
    frame = read_frame(stream)
    while frame is not None and frame.opcode == OP_PING:
        frame = read_frame(stream)
    assert frame is not None and frame.opcode == OP_CLOSE and frame.payload[:2] == b"\x03\xea"
    assert emulator.socket_acks == []
    sock.close()


def test_close_frame_reconnect_waits_for_the_monitor(emulator: SlackEmulator) -> None:
    """slack_sdk's builtin client calls on_close while the old socket still counts as
    connected, so connect_to_new_endpoint() does nothing; the reconnect comes from the
    monitor, every ping_interval seconds (Bolt's SocketModeHandler default: 10)."""
    app = bolt_app(emulator)
    with socket_mode(app, emulator.app_token, ping_interval=1) as handler:
        emulator.socket_close()
        emulator.wait_for(lambda: not handler.client.is_connected())
        closed_at = time.monotonic()
        emulator.wait_for(lambda: len(emulator.calls_to("apps.connections.open")) == 2)
        assert time.monotonic() - closed_at > 0.2  # not immediate: the monitor's next tick
        emulator.wait_for(handler.client.is_connected)


def test_mrkdwn_reads_control_sequences_as_slack_does(
    emulator: SlackEmulator, client: WebClient
) -> None:
    """Every <...> is a control sequence, inside code too; entities are shown as characters."""
    text = "`restart <nginx|cron|ssh|demo> on <targets>` <!channel> <@U0ALICE> <#C0OPS|ops>"
    posted = client.chat_postMessage(
        channel=DEFAULT_CHANNEL_ID,
        text=text,
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "a &lt;b&gt; &amp; c"}}],
    )
    message = emulator.message(DEFAULT_CHANNEL_ID, str(posted["ts"]))
    assert message is not None
    assert [
        Control("link", "nginx", "cron|ssh|demo"),
        Control("link", "targets", "targets"),
        Control("broadcast", "channel", "@channel"),
        Control("user", "U0ALICE", "@U0ALICE"),
        Control("channel", "C0OPS", "ops"),
    ] == controls(message.text, message.blocks)
    assert "`restart cron|ssh|demo on targets` @channel @U0ALICE ops" == shown(message.text)
    assert ["a <b> & c"] == [shown(t) for t in mrkdwn_texts(message.blocks)]
    assert [] == controls("", message.blocks)


def test_mrkdwn_escaped_text_is_read_literally() -> None:
    """Escaped &, < and > are no control sequence and read as the characters."""
    escaped = "&lt;!channel&gt; &lt;https://evil.example|click&gt; &lt;targets&gt; &amp;"
    assert [] == text_controls(escaped)
    assert "<!channel> <https://evil.example|click> <targets> &" == shown(escaped)
    assert [Control("date", "date^1700000000^{date_short}", "Nov 14")] == text_controls(
        "<!date^1700000000^{date_short}|Nov 14>"
    )


# ------------------------------------------------------------------- scopes


def test_a_call_without_its_scope_is_refused_like_slack(emulator: SlackEmulator) -> None:
    """The granted scopes are the manifest's; a call needing another gets missing_scope with
    what it needed and what the token has, and changes nothing."""
    assert manifest_scopes() == emulator.workspace.scopes
    client = WebClient(token=emulator.bot_token, base_url=emulator.base_url)
    assert client.conversations_history(channel=OPS)["ok"]  # granted: channels:history
    emulator.workspace.scopes = tuple(s for s in manifest_scopes() if s != "channels:history")
    with pytest.raises(SlackApiError) as refused:
        client.conversations_history(channel=OPS)
    assert "missing_scope" == api_error(refused)
    assert "channels:history" == refused.value.response["needed"]
    assert ",".join(emulator.workspace.scopes) == refused.value.response["provided"]

    emulator.workspace.scopes = ("commands",)
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=OPS, text="hi")
    assert ("missing_scope", "chat:write") == (api_error(refused), refused.value.response["needed"])
    assert [] == emulator.messages(OPS)
    assert client.views_publish(user_id=ALICE, view={"type": "home", "blocks": []})["ok"]


def test_conversations_need_the_scope_of_their_type() -> None:
    """conversations.info on a public channel needs channels:read, on a DM im:read;
    conversations.list needs the scope of each type it lists."""
    with SlackEmulator(scopes=("chat:write", "im:read", "im:write")) as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        dm = client.conversations_open(users=ALICE)["channel"]["id"]
        assert client.conversations_info(channel=dm)["channel"]["is_im"]
        with pytest.raises(SlackApiError) as refused:
            client.conversations_info(channel=OPS)
        assert "channels:read" == refused.value.response["needed"]
        with pytest.raises(SlackApiError) as refused:
            client.conversations_list(types="public_channel,private_channel")
        assert "channels:read,groups:read" == refused.value.response["needed"]
