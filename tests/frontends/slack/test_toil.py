"""The toil ledger in Slack, against the local Slack (tests/slack) with the real slack_sdk and
Bolt: timezones from users.info, "still working?" DMs and their buttons, App Home, and the
weekly summary with its chart, whose bars are measured in the uploaded PNG."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
import zoneinfo
from collections.abc import Iterator
from urllib.parse import urlencode

import numpy as np
import pytest
from PIL import Image

from bot.config.settings import load_settings
from bot.execution.records import JobRecord, JobStatus
from bot.execution.sweeps import Sweeper
from bot.frontends.scheduler import Scheduler
from bot.frontends.slack.app import build_app
from bot.frontends.slack.client import make_client
from bot.frontends.slack.home import home_view
from bot.frontends.slack.schedule_notices import Announcer
from bot.frontends.slack.settings import SlackSettings
from bot.frontends.slack.still_working import ask_still_working
from bot.frontends.slack.weekly import SUMMARY_TASK, post_weekly_summary, summary_tasks
from bot.frontends.wiring import assemble
from bot.platform.store import Store
from bot.toil import chart
from bot.toil.ledger import Ledger
from bot.toil.model import Kind, Source
from bot.toil.weeks import week_bounds, week_label, week_of, week_short, week_span
from tests.conftest import ADMIN, OPERATOR, wait_for, write_config
from tests.slack import (
    SignedClient,
    SlackEmulator,
    app_home_opened_event,
    block_actions_body,
    event_body,
    serve_bolt,
    slash_command_body,
)
from tests.slack.model import DEFAULT_CHANNEL_ID
from tests.slack.signing import DEFAULT_SIGNING_SECRET, SlackBody, block_actions_payload

HOUR = 3600.0
OSLO = "Europe/Oslo"
CONSOLE_USER = "U0LOCAL"  # logs time from the console; not a member of the Slack workspace


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user(ADMIN, "admin", tz="Europe/Oslo")
        emulator.add_user(OPERATOR, "oper", tz="America/New_York")
        yield emulator


@pytest.fixture
def settings(tmp_path):
    config = write_config(
        tmp_path, timezone=OSLO, toil={"summary": {"channel": "#ops", "names": False}}
    )
    return load_settings({"TOILBOT_CONFIG": str(config)})


@pytest.fixture
def client(slack):
    return make_client(SlackSettings(slack.bot_token, DEFAULT_SIGNING_SECRET, None, slack.base_url))


@pytest.fixture
def app_url(settings, r, client) -> Iterator[str]:
    """The real Bolt app in this process behind Bolt's WSGI adapter."""
    bot = assemble(settings, Store(r, "test Redis")).bot
    slack_settings = SlackSettings(
        client.token or "", DEFAULT_SIGNING_SECRET, None, client.base_url
    )
    with serve_bolt(build_app(bot, slack_settings, client, socket_mode=False)) as url:
        yield url


def toil(url: str, user: str, text: str) -> str:
    with SignedClient(url) as signed:
        response = signed.post(slash_command_body("/toil", text, user_id=user))
    assert 200 == response.status_code, response.text
    return str(json.loads(response.text)["text"])


def press(url: str, action: str, value: str, user: str, slack: SlackEmulator) -> None:
    """Click a button of a message the bot sent ``user``."""
    response_url = slack.new_response_url(kind="actions", user=user)
    with SignedClient(url) as signed:
        signed.post(block_actions_body(action, value, user_id=user, response_url=response_url))


# --- timezones -----------------------------------------------------------------------------


def test_a_persons_timezone_comes_from_slack_once_a_day(app_url, slack, r):
    """users.info's tz is used for `09:00-11:30` and cached; `toil tz` overrides it."""
    assert "America/New_York (from your Slack profile)" in toil(app_url, OPERATOR, "tz")
    toil(app_url, OPERATOR, "log 09:00-11:30 operating patching on yesterday")
    assert 1 == len(slack.calls_to("users.info"))  # the second command used the cache
    [entry] = Ledger(r).between(0, time.time() + 60)
    local = dt.datetime.fromtimestamp(entry.start, zoneinfo.ZoneInfo("America/New_York"))
    assert ((9, 0), "America/New_York") == ((local.hour, local.minute), entry.tz)
    assert "Europe/Oslo (set by you)" in toil(app_url, OPERATOR, "tz Europe/Oslo")
    assert "America/New_York (from your Slack profile)" in toil(app_url, OPERATOR, "tz slack")


def test_slack_down_means_the_teams_timezone(app_url, slack):
    """If users.info fails, the command still answers at once, in the team's timezone."""
    slack.fail("users.info", 503, times=5)
    started = time.monotonic()
    assert "Europe/Oslo (the team's)" in toil(app_url, ADMIN, "tz")
    assert time.monotonic() - started < 3


# --- still working? --------------------------------------------------------------------------


def test_a_timer_past_its_limit_gets_one_dm_and_keep_extends_it(
    app_url, slack, settings, r, client
):
    """Past 4 h: one DM with Keep going / Stop; Keep counts on 4 h from the click; the DM is not
    sent twice for the same stretch."""
    ledger = Ledger(r)
    started = time.time() - 5 * HOUR
    ledger.start(OPERATOR, Kind.OPERATING, "incident", "", "America/New_York", now=started)
    ledger.start(ADMIN, Kind.CODING, "automation", "", OSLO, now=time.time() - HOUR)
    assert [OPERATOR] == ask_still_working(r, settings, client)
    assert [] == ask_still_working(r, settings, client)
    [dm] = slack.messages(slack.dm_channel(OPERATOR))
    assert dm.text.startswith("Still working? Your timer (operating, incident)")
    buttons = dm.blocks[-1]["elements"]
    assert ["toilbot_timer_keep", "toilbot_timer_stop_at_limit"] == [
        b["action_id"] for b in buttons
    ]
    press(app_url, "toilbot_timer_keep", buttons[0]["value"], OPERATOR, slack)
    slack.wait_for(lambda: slack.responses, 10)
    assert slack.responses[-1].body["text"].startswith("Kept going: the timer counts until")
    timer = ledger.timer(OPERATOR)
    assert timer is not None and abs(time.time() + 4 * HOUR - timer.counts_until(0)) < 30
    assert [] == ask_still_working(r, settings, client)
    entry = ledger.stop(OPERATOR, limit=4 * HOUR)
    assert entry is not None and abs(5 * HOUR - entry.seconds) < 30  # counted past the limit


def test_stop_ends_the_timer_at_its_limit(app_url, slack, settings, r, client):
    """Stop at the limit: the entry is 4 h, not the 7 h since it started; a stale button after
    a new timer changes nothing."""
    ledger = Ledger(r)
    started = time.time() - 7 * HOUR
    ledger.start(OPERATOR, Kind.OPERATING, "on-call", "", OSLO, now=started)
    ask_still_working(r, settings, client)
    [dm] = slack.messages(slack.dm_channel(OPERATOR))
    stop = dm.blocks[-1]["elements"][1]
    press(app_url, "toilbot_timer_stop_at_limit", stop["value"], OPERATOR, slack)
    slack.wait_for(lambda: slack.responses, 10)
    assert "Stopped. Logged entry 1: 4h of operating (on-call)." in slack.responses[-1].body["text"]
    assert ledger.timer(OPERATOR) is None
    ledger.start(OPERATOR, Kind.CODING, "automation", "", OSLO)
    press(app_url, "toilbot_timer_stop_at_limit", stop["value"], OPERATOR, slack)
    slack.wait_for(lambda: len(slack.responses) > 1, 10)
    assert "That timer is no longer running" in slack.responses[-1].body["text"]
    assert ledger.timer(OPERATOR) is not None


def test_the_workers_sweeps_send_the_dm(slack, settings, r, monkeypatch):
    """The sweeps of `toilbot worker` ask "still working?" when Slack is configured."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    Ledger(r).start(ADMIN, Kind.OPERATING, "incident", "", OSLO, now=time.time() - 4.5 * HOUR)
    sweeper = Sweeper(assemble(settings, Store(r, "test Redis")).sweeps)
    sweeper.start()
    try:
        wait_for(lambda: slack.dm_channel(ADMIN) is not None, 15, "the still-working DM")
    finally:
        sweeper.stopped.set()
    assert "Still working?" in slack.messages(slack.dm_channel(ADMIN))[0].text


# --- App Home --------------------------------------------------------------------------------


def test_app_home_says_no_data_once(app_url, slack):
    """Nothing logged: App Home says so in one line, not "no data" in every row and level."""
    with SignedClient(app_url) as signed:
        signed.post(event_body(app_home_opened_event(OPERATOR)))
    view = slack.wait_for(lambda: slack.home(OPERATOR), 10)
    text = json.dumps(view, ensure_ascii=False).lower()
    assert "no share yet" in text and "nothing logged in your last 4 weeks" in text
    assert "no data" not in text


def test_app_home_shows_the_week_the_timer_and_stop(app_url, slack, r):
    """App Home: this week's share with its dates, the last 4 weeks in a table, the running
    timer with Stop; Stop there logs the time and publishes the Home again, saying at the top
    what was stopped and logged, without the timer."""
    now = time.time()
    Ledger(r).add(
        ADMIN, Kind.OPERATING, "incident", now - 6 * HOUR, now - 3 * HOUR, OSLO, Source.LOG
    )
    toil(app_url, ADMIN, "start coding automation")
    timer = json.loads(r.get(f"toilbot:toil:timer:{ADMIN}"))
    timer["started"] -= 3 * HOUR
    r.set(f"toilbot:toil:timer:{ADMIN}", json.dumps(timer))
    with SignedClient(app_url) as signed:
        signed.post(event_body(app_home_opened_event(ADMIN)))
    view = slack.wait_for(lambda: slack.home(ADMIN), 10)
    text = json.dumps(view, ensure_ascii=False)
    this_week = week_label(*week_of(time.time(), OSLO))
    assert f"*Your toil this week ({week_short(this_week)}, {week_span(this_week)})*" in text
    assert "no share yet" in text  # 3 h: under the 4 h a share needs
    assert "Your last 4 weeks" in text and "```" in text and "no data" not in text
    assert "Timer running: coding (automation) for 3h" in text
    assert "toilbot_stop_timer" in text
    payload = block_actions_payload("toilbot_stop_timer", "stop", user_id=ADMIN)
    for key in ("container", "message", "channel", "response_url"):
        payload.pop(key)
    payload["container"] = {"type": "view", "view_id": view["id"]}
    payload["view"] = {"id": view["id"], "type": "home", "blocks": view["blocks"]}
    form = urlencode({"payload": json.dumps(payload)})
    with SignedClient(app_url) as signed:
        signed.post(SlackBody(form, "application/x-www-form-urlencoded", payload))
    slack.wait_for(lambda: len(slack.homes(ADMIN)) > 1, 10)
    home = slack.home(ADMIN)
    first = home["blocks"][1]["text"]["text"]
    assert first == (
        ":white_check_mark: *Timer stopped.* Logged entry 2: 3h of coding (automation)."
    ), first
    text = json.dumps(home, ensure_ascii=False)
    assert "No timer running" in text and "toilbot_stop_timer" not in text
    if now - 6 * HOUR >= week_bounds(*week_of(now, OSLO), OSLO)[0]:  # all of it this week
        assert "50% operating*" in text, text  # 3 h operating, 3 h coding


def test_app_home_shows_a_hostile_command_as_text_and_when_it_ended(slack, client):
    """A result whose command and reason carry Slack markup: shown as text (no broadcast, no
    link) after the local Slack's checks; the time it ended stays a live date token."""
    ended = 1764583020.0  # 2025-12-01 09:57 UTC
    record = JobRecord(
        id=7,
        user=ADMIN,
        source="slack",
        command="status <!channel> <@U0ALICE> <https://evil.example|click here> & more",
        spec="status",
        playbook="status.yml",
        values={},
        hosts=["web1"],
        check_mode=False,
        timeout=60,
        status=JobStatus.FAILED,
        created_at=ended - 30,
        started_at=ended - 20,
        finished_at=ended,
        reason="<!here> wake up",
    )
    client.views_publish(user_id=ADMIN, view=home_view([], [record]))
    [result] = [
        b["text"]["text"] for b in slack.home(ADMIN)["blocks"] if "status" in str(b.get("text"))
    ]
    # A typed mention is shown as words (‹ ›), never as a live mention: not even our own form.
    assert "‹!channel› ‹@U0ALICE› ‹https://evil.example|click here› &amp; more" in result
    assert "&lt;!here&gt; wake up" in result
    assert "<!channel>" not in result and "<!here>" not in result and "<https" not in result
    assert "<@U0ALICE>" not in result
    assert result.endswith(" · <!date^1764583020^{date_short_pretty} {time}|2025-12-01 09:57 UTC>")


# --- weekly summary --------------------------------------------------------------------------

# Hours per week (operating, coding) by person; hand-computed team figures below.
WEEKS = {
    (2026, 44): {ADMIN: (10, 20), OPERATOR: (6, 4)},  # team 16 / 40 = 40%
    (2026, 45): {ADMIN: (12, 12), OPERATOR: (2, 0)},  # OPERATOR under 4 h: team 12 / 24 = 50%
    (2026, 46): {ADMIN: (5, 25), OPERATOR: (8, 10)},  # 13 / 48 = 27%
    (2026, 47): {ADMIN: (20, 10), OPERATOR: (9, 9), CONSOLE_USER: (1, 4)},  # 30 / 53 = 57%
}
CATEGORY = {ADMIN: "incident", OPERATOR: "patching", CONSOLE_USER: "on-call"}
OVERHEAD = {(2026, 44): {OPERATOR: 1}, (2026, 47): {ADMIN: 2}}  # hours, on Friday: not in ratios


def fill(ledger: Ledger) -> None:
    """Operating from Monday 06:00 local, coding from Wednesday, in chunks of at most 10 h."""
    for (year, week), people in WEEKS.items():
        monday = week_bounds(year, week, OSLO)[0]
        for user, (operating, coding) in people.items():
            for kind, amount, first_day in (
                (Kind.OPERATING, operating, 0),
                (Kind.CODING, coding, 2),
            ):
                day = first_day
                while amount > 0:
                    chunk = min(10, amount)
                    start = monday + day * 24 * HOUR + 6 * HOUR
                    category = CATEGORY[user] if kind is Kind.OPERATING else "automation"
                    ledger.add(user, kind, category, start, start + chunk * HOUR, OSLO, Source.LOG)
                    amount -= chunk
                    day += 1
    for (year, week), people in OVERHEAD.items():
        friday = week_bounds(year, week, OSLO)[0] + 4 * 24 * HOUR + 6 * HOUR
        for user, amount in people.items():
            ledger.add(
                user, Kind.OVERHEAD, "meetings", friday, friday + amount * HOUR, OSLO, Source.LOG
            )
    monday = week_bounds(2026, 47, OSLO)[0]
    for job in (1, 2):  # two patch runs during ADMIN's incident hours: no extra operating time
        ledger.record_job(
            ADMIN, job, "patch", "patching", monday + (7 + job) * HOUR, 120, 1800, OSLO
        )


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _mask(pixels: np.ndarray, colour: str) -> np.ndarray:
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return np.all(pixels == rgb, axis=2)


def measure_bars(png: bytes) -> list[tuple[int, int, int]]:
    """(operating, coding, overhead) px per bar of the hours panel, left to right."""
    pixels = _pixels(png)
    masks = [_mask(pixels, c) for c in (chart.OPERATING, chart.CODING, chart.OVERHEAD)]
    anything = masks[0] | masks[1] | masks[2]
    columns = np.flatnonzero(anything.sum(axis=0) > 0)
    groups = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    bars = [g for g in groups if len(g) >= 40]  # legend swatches are narrower
    return [
        (
            int(masks[0][:, g[len(g) // 2]].sum()),
            int(masks[1][:, g[len(g) // 2]].sum()),
            int(masks[2][:, g[len(g) // 2]].sum()),
        )
        for g in bars
    ]


def measure_shares(png: bytes) -> list[tuple[float, float]]:
    """(x px, share in %) of each week's marker, read against the target and limit lines."""
    pixels = _pixels(png)
    points = _mask(pixels, chart.POINT)
    line_rows = []
    for colour in (chart.TARGET, chart.LIMIT):
        rows = _mask(pixels, colour).sum(axis=1)
        line_rows.append(float(np.mean(np.flatnonzero(rows >= rows.max() * 0.8))))
    target_y, limit_y = line_rows
    per_point = (target_y - limit_y) / (50 - 35)  # px per percentage point, y grows down
    columns = np.flatnonzero(points.sum(axis=0) > 0)
    groups = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
    shares = []
    for group in groups:
        ys, _ = np.nonzero(points[:, group[0] : group[-1] + 1])
        shares.append((float(group.mean()), 35 + (target_y - ys.mean()) / per_point))
    return shares


def code_rows(text: str) -> list[list[str]]:
    """The rows of the first table in a code block, split on runs of two or more spaces."""
    block = text.split("```")[1]
    return [re.split(r" {2,}", line.strip()) for line in block.strip().splitlines()]


def test_the_weekly_summary_with_its_chart_and_dms(slack, settings, r, client):
    """One message in #ops: the chart with the summary as its comment, headline first (the
    change from the whole percents shown), who is above the limit without names, tables in
    code blocks. The chart's bars and points measure as the figures in the text. Each Slack
    member gets their own figures in a DM, with a nudge for the one above the limit."""
    ledger = Ledger(r)
    fill(ledger)
    posted = post_weekly_summary(settings, Store(r, "test Redis"), client, "2026-W47")

    [message] = slack.messages(DEFAULT_CHANNEL_ID)  # one message: the chart and its comment
    [upload] = slack.files
    assert [upload.id] == [f["id"] for f in message.files] and posted.file_id == upload.id
    text = message.text
    assert text.startswith(
        "*57% operating in week 47 (16–22 Nov 2026)*, +30 points on last week's 27%. "
        "Target 35%, limit 50%.\n*At or past the limit: rebalance with the product team.*\n"
        "1 person is above 50% and rising; a note in their DM.\n```"
    ), text
    assert "<@" not in text
    assert "Quarter to date: 44%" in text or "quarter to date: 44%" in text  # 73 / 167
    assert len(text) < 3000 and len(upload.initial_comment or "") == len(text)

    rows = code_rows(text)
    assert ["Week", "Share", "Operating", "Coding"] == rows[0]
    assert all(len(line) <= 36 for line in text.split("```")[1].strip().splitlines())
    assert [
        ["W40 28 Sep", "–", "0.0h", "0.0h"],
        ["W41 5 Oct", "–", "0.0h", "0.0h"],
        ["W42 12 Oct", "–", "0.0h", "0.0h"],
        ["W43 19 Oct", "–", "0.0h", "0.0h"],
        ["W44 26 Oct", "40%", "16.0h", "24.0h"],
        ["W45 2 Nov", "50%", "12.0h", "12.0h"],
        ["W46 9 Nov", "27%", "13.0h", "35.0h"],
        ["W47 16 Nov", "57%", "30.0h", "23.0h"],
    ] == rows[1:]
    # The two jobs' 2 minutes each (category patching, recorded last) win over incident time.
    categories = code_rows(text.split("*Top toil categories this week*")[1])
    assert [["incident", "19.9h"], ["patching", "9.1h"], ["on-call", "1.0h"]] == categories
    commands = code_rows(text.split("*Toil saved by automation: 56m*")[1])
    assert [["Command", "Runs", "Hands-on", "Saved"], ["patch", "2", "4m", "56m"]] == commands

    # The chart, measured: bars against the hours, points against the shares in the text.
    assert upload.content is not None and upload.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "57% operating in W47 (+30 points)" in (upload.alt_txt or "")
    measured = measure_bars(upload.content)
    overhead = {"W44 26 Oct": 1.0, "W47 16 Nov": 2.0}  # the chart's grey; the text says W47's
    assert "overhead this week, not in the share: 2.0h." in text
    expected = [
        (*(float(h.rstrip("h")) for h in row[2:]), overhead.get(row[0], 0.0)) for row in rows[1:]
    ]
    expected = [hours for hours in expected if sum(hours)]  # weeks without data have no bar
    assert 4 == len(measured)
    scale = sum(map(sum, measured)) / sum(map(sum, expected))  # px per hour
    for bar, hours in zip(measured, expected, strict=True):
        for px, h in zip(bar, hours, strict=True):
            assert abs(px - h * scale) <= 2, (measured, expected, scale)
    shares = measure_shares(upload.content)
    shown = [int(row[1].rstrip("%")) for row in rows[1:] if row[1] != "–"]
    assert len(shown) == len(shares) == 4
    for (_, measured_share), share in zip(shares, shown, strict=True):
        assert abs(measured_share - share) < 1.0, (shares, shown)

    assert sorted([ADMIN, OPERATOR]) == sorted(posted.dms)
    assert {CONSOLE_USER: "channel_not_found"} == posted.failed
    [mine] = slack.messages(slack.dm_channel(ADMIN))
    assert mine.text.startswith(
        "*Your toil week 47 (16–22 Nov 2026): 67% operating* (+50 points). Team 57%, target "
        "35%, limit 50%.\nYou were at 67% operating this week, above the team's 50% limit, and "
        "rising (17% the week before)."
    ), mine.text
    assert ["W45 2 Nov", "50%", "12h", "12h"] in code_rows(mine.text)
    [theirs] = slack.messages(slack.dm_channel(OPERATOR))
    assert "above the team's" not in theirs.text  # 50% is at the limit, not above it
    assert ["W45 2 Nov", "–", "2h", "0h"] in code_rows(theirs.text)


def test_the_summary_names_people_only_when_the_team_opts_in(tmp_path, r, slack, client):
    """With toil.summary.names: true the channel names who is above the limit, and lists each
    person's share by mention; the channel is found by name (conversations.list)."""
    config = write_config(
        tmp_path, timezone=OSLO, toil={"summary": {"channel": "ops", "names": True}}
    )
    settings = load_settings({"TOILBOT_CONFIG": str(config)})
    fill(Ledger(r))
    posted = post_weekly_summary(settings, Store(r, "test Redis"), client, "2026-W47")
    assert f"Above the 50% limit: <@{ADMIN}> 67% (+50 points). Each got a note in their DM." in (
        posted.text
    )
    assert f"This week by person: <@{ADMIN}> 67%, <@{CONSOLE_USER}> 20%, <@{OPERATOR}> 50%." in (
        posted.text
    )
    [message] = slack.messages(DEFAULT_CHANNEL_ID)
    assert f"<@{ADMIN}> 67%" in message.text and message.files


def test_the_summary_goes_out_as_text_when_slack_refuses_the_chart(slack, settings, r, client):
    """files.completeUploadExternal refused: the summary is still posted, without the chart."""
    fill(Ledger(r))
    slack.fail("files.completeUploadExternal", 200, error="invalid_arguments")
    posted = post_weekly_summary(settings, Store(r, "test Redis"), client, "2026-W47")
    [message] = slack.messages(DEFAULT_CHANNEL_ID)
    assert posted.file_id is None and not message.files
    assert message.text.startswith("*57% operating in week 47")


def test_the_summary_cli_previews_and_writes_the_chart(env, r, tmp_path):
    """`toilbot toil summary --week W --png PATH` prints the text and writes a PNG, posts nothing;
    without a channel, --post says how to set one."""
    from tests.conftest import toilbot_cli

    fill(Ledger(r))
    png = tmp_path / "chart.png"
    proc = toilbot_cli(env, "toil", "summary", "--week", "2026-W47", "--png", str(png))
    assert 0 == proc.returncode, proc.stderr
    assert "*57% operating in week 47 (16–22 Nov 2026)*" in proc.stdout
    assert png.read_bytes().startswith(b"\x89PNG")
    proc = toilbot_cli(env, "toil", "summary", "--post")
    assert 3 == proc.returncode and "set toil.summary.channel in toilbot.yaml" in proc.stderr


def test_the_scheduler_posts_the_summary_once_on_monday_morning(slack, settings, r, client):
    """Monday 09:00 team time, two scheduler replicas: one post of the week that just ended."""
    fill(Ledger(r))
    store = Store(r, "test Redis")
    bot = assemble(settings, store).bot
    tasks = summary_tasks(settings, store, client)
    clock = [week_bounds(2026, 48, OSLO)[0] + 8 * HOUR]  # Monday 08:00, Oslo
    replicas = [
        Scheduler(
            bot,
            bot.schedules,
            Announcer(r, client, OSLO),
            replica=name,
            tasks=tasks,
            clock=lambda: clock[0],
        )
        for name in ("a", "b")
    ]
    for replica in replicas:
        replica.step()
        replica.resign()
    assert [] == slack.messages(DEFAULT_CHANNEL_ID)
    clock[0] += HOUR + 20  # 09:00:20
    for replica in replicas:
        replica.step()
        replica.resign()
    [post] = slack.messages(DEFAULT_CHANNEL_ID)
    assert post.text.startswith("*57% operating in week 47 (16–22 Nov 2026)*") and post.files
    [done] = bot.schedules.history(SUMMARY_TASK, 5)
    assert "Posted the summary of 2026-W47" in done["detail"]
