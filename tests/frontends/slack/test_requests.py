"""Requests at the door of the real `toilbot serve`: replays run once, bad requests are refused
with 400/401 (never 500, never a traceback), an answer Slack refuses goes to the person's DM.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from subprocess import Popen
from urllib.parse import urlencode

import httpx
import pytest

from bot.platform.store import Keys
from tests.conftest import ADMIN, start_toilbot, stop_toilbot, wait_for
from tests.slack import SignedClient, SlackEmulator, event_body, slash_command_body
from tests.slack.model import DEFAULT_CHANNEL_ID
from tests.slack.signing import (
    DEFAULT_SIGNING_SECRET,
    SlackBody,
    block_actions_payload,
    signed_headers,
)
from tests.slack_fixtures import free_port, listening


@dataclass
class Served:
    url: str
    proc: Popen[str]
    lines: list[str] = field(default_factory=list)

    def drain(self) -> None:
        """Read its log as it comes (a full pipe would stop gunicorn's access log, and it)."""
        assert self.proc.stdout is not None
        self.lines.extend(self.proc.stdout)

    def output(self) -> str:
        """Stop the server; what it printed (its log)."""
        rest = stop_toilbot(self.proc)
        self.reader.join(15)
        return "".join(self.lines) + rest

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self.drain, daemon=True)
        self.reader.start()


@pytest.fixture
def served(slack_env: dict[str, str]) -> Iterator[Served]:
    """`toilbot serve` (two gunicorn workers) whose log the test reads."""
    port = free_port()
    proc = start_toilbot(
        slack_env, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"
    )
    wait_for(lambda: listening(port) or proc.poll() is not None, 30, "toilbot serve to listen")
    assert proc.poll() is None, stop_toilbot(proc)
    yield Served(f"http://127.0.0.1:{port}/slack/events", proc)
    stop_toilbot(proc)


def test_a_replayed_slash_command_runs_once(served, slack, r):
    """The same signed /ops and /toil sent twice run once; the copy is told "already received";
    the same text sent again as a new command runs."""
    now = int(time.time())
    ops = slash_command_body(text="status localhost", user_id=ADMIN)
    toil = slash_command_body("/toil", "log 2h coding terraform module", user_id=ADMIN)
    with SignedClient(served.url) as client:
        first = client.post(ops, timestamp=now)
        again = client.post(ops, timestamp=now)
        assert "Job 1 queued" in first.json()["text"]
        assert 200 == again.status_code
        assert "ephemeral" == again.json()["response_type"]
        assert "Already received" in again.json()["text"]
        assert 1 == r.zcard("toilbot:jobs")
        client.post(toil, timestamp=now)
        assert "Already received" in client.post(toil, timestamp=now).json()["text"]
        assert 1 == r.zcard(Keys.toil_entries)
        new = client.post(slash_command_body(text="status localhost", user_id=ADMIN))
        assert "Job 2 queued" in new.json()["text"]
    assert 2 == r.zcard("toilbot:jobs")


def _raw(content: str, content_type: str) -> SlackBody:
    return SlackBody(content, content_type, {})


FORM = "application/x-www-form-urlencoded"
SIGNED_BAD = [
    ("bad JSON payload", _raw("payload=%7Bnot+json", FORM)),
    ("JSON that is not an object", _raw("[1, 2]", "application/json")),
    ("bad JSON body", _raw('{"type": "event_callback", ', "application/json")),
    ("empty body", _raw("", FORM)),
    ("unknown content type", _raw("command=%2Fops&user_id=U1", "text/plain")),
    ("not UTF-8", _raw("command=%2Fops&text=\udcff", FORM)),
    ("slash command without user_id", _raw(urlencode({"command": "/ops", "text": "jobs"}), FORM)),
    (
        "button without actions",
        _raw(
            urlencode(
                {
                    "payload": json.dumps(
                        {**block_actions_payload("toilbot_cancel_job"), "actions": []}
                    )
                }
            ),
            FORM,
        ),
    ),
    (
        "button without user",
        _raw(
            urlencode(
                {
                    "payload": json.dumps(
                        {**block_actions_payload("toilbot_confirm", "x"), "user": {}}
                    )
                }
            ),
            FORM,
        ),
    ),
    (
        "mention without user",
        event_body(
            {"type": "app_mention", "text": "<@U0TOILBOT> jobs", "channel": "C1", "ts": "1.2"}
        ),
    ),
    ("event without event", _raw('{"type": "event_callback"}', "application/json")),
    ("neither command nor type", _raw("text=jobs", FORM)),
]


def _post(url: str, body: str, headers: dict[str, str]) -> httpx.Response:
    data = body.encode("utf-8", "surrogateescape")
    with httpx.Client(trust_env=False, timeout=10) as http:
        return http.post(url, content=data, headers=headers)


def test_bad_requests_get_400_or_401_and_no_traceback(served, r):
    """Unsigned, stale, malformed or incomplete requests are refused with 400/401 before Bolt
    parses them; nothing runs and the log has no traceback."""
    answers = {}
    for name, body in SIGNED_BAD:
        raw = body.raw.encode("utf-8", "surrogateescape")
        headers = {"Content-Type": body.content_type, **_signed(raw)}
        answers[f"signed, {name}"] = _post(served.url, body.raw, headers).status_code
        unsigned = {"Content-Type": body.content_type, "X-Slack-Signature": "v0=00"}
        answers[f"unsigned, {name}"] = _post(served.url, body.raw, unsigned).status_code
    command = slash_command_body(text="status localhost", user_id=ADMIN).raw
    for name, stamp in [
        ("timestamp not a number", "12ab"),
        ("no timestamp", ""),
        ("huge", "9" * 40),
    ]:
        headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": stamp}
        headers["X-Slack-Signature"] = signed_headers(DEFAULT_SIGNING_SECRET, command)[
            "X-Slack-Signature"
        ]
        answers[name] = _post(served.url, command, headers).status_code
    answers["no headers"] = _post(served.url, command, {}).status_code
    log = served.output()
    expected = {name: 400 if name.startswith("signed") else 401 for name in answers}
    assert expected == answers
    assert "Traceback" not in log, log
    assert 0 == r.zcard("toilbot:jobs")


def _signed(raw: bytes) -> dict[str, str]:
    """Slack's headers for raw bytes (which need not be UTF-8)."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + raw
    digest = hmac.new(DEFAULT_SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest}


def test_a_mention_answer_refused_by_slack_goes_by_dm(served, slack: SlackEmulator):
    """A mention in a channel the bot is not in gets 200; the answer goes to the person's DM
    with the reason, and the log has one line about it and no traceback."""
    slack.add_channel("C0OUTSIDE", "outside", is_member=False)
    event = {
        "type": "app_mention",
        "user": ADMIN,
        "text": "<@U0TOILBOT> jobs",
        "ts": "1700000000.000300",
        "channel": "C0OUTSIDE",
        "event_ts": "1700000000.000300",
    }
    with SignedClient(served.url) as client:
        assert 200 == client.post(event_body(event)).status_code
    dm = slack.dm_channel(ADMIN)
    assert dm is not None
    [told] = slack.messages(dm)
    assert "not_in_channel" in told.text and "No jobs yet" in told.text
    assert [] == slack.messages("C0OUTSIDE")
    assert DEFAULT_CHANNEL_ID != dm
    log = served.output()
    assert "not_in_channel" in log and "Traceback" not in log, log


def test_a_thousand_malformed_unsigned_requests_get_no_500(served):
    """1,000 unsigned requests with random bodies, content types and timestamps: all 400/401,
    none 500, and no traceback in the log."""
    rng = random.Random(14)
    kinds = [FORM, "application/json", "text/plain", "", "multipart/form-data"]
    stamps = ["", "abc", "-1", "1e9", "9" * 30, str(int(time.time())), "+12", "１２"]
    shapes = [b"payload=%7B", b"{", b"[]", b"\xff\xfe", b"payload=null", b"command=/ops", b""]
    statuses = []
    with httpx.Client(trust_env=False, timeout=10) as http:
        for _ in range(1000):
            body = rng.choice(shapes) + rng.randbytes(rng.randrange(0, 64))
            headers = {
                "Content-Type": rng.choice(kinds).encode(),
                "X-Slack-Request-Timestamp": rng.choice(stamps).encode(),
                "X-Slack-Signature": b"v0=" + rng.randbytes(32).hex().encode(),
            }
            statuses.append(http.post(served.url, content=body, headers=headers).status_code)
    log = served.output()
    assert {401} == set(statuses)
    assert "Traceback" not in log, log
