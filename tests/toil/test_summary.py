"""The weekly summary's words, from a Summary built by hand: the changes come from the whole
percents shown, people above the limit are counted (named only with the opt-in), each of them
gets a nudge, and every table is in a code block. The chart says the same headline."""

from __future__ import annotations

import io

from PIL import Image

from bot.toil import text
from bot.toil.chart import chart_png
from bot.toil.ratio import Thresholds
from bot.toil.summary import Summary, WeekRow

H = 3600.0
LABELS = [f"2026-W{w}" for w in range(40, 48)]


def row(label: str, operating: float, coding: float, overhead: float = 0.0) -> WeekRow:
    total = operating + coding
    ratio = operating / total if total >= 4 else None
    return WeekRow(label, operating * H, coding * H, ratio, overhead * H)


def summary(people: dict[str, list[tuple[float, float]]], team: list[tuple[float, float]]):
    weeks = tuple(row(label, o, c, 2) for label, (o, c) in zip(LABELS, team, strict=True))
    return Summary(
        week=LABELS[-1],
        timezone="Europe/Oslo",
        thresholds=Thresholds(),
        weeks=weeks,
        trend=None,
        quarter=None,
        categories=(),
        commands=(),
        saved=0.0,
        people={
            user: tuple(row(label, o, c) for label, (o, c) in zip(LABELS[-4:], rows, strict=True))
            for user, rows in people.items()
        },
    )


# 44.4% then 43.6%: the text shows 44% twice, so the change is none (not "-1 points").
FLAT = [(30, 70)] * 6 + [(43.6, 56.4), (44.4, 55.6)]
RISING = [(30, 70), (31, 69), (33, 67), (36, 64), (35, 65), (41, 59), (38, 62), (41, 59)]
ALICE = [(20, 20), (25, 15), (26, 14), (38, 12)]  # 76% and rising
BOB = [(10, 10), (12, 8), (14, 6), (11, 9)]  # 55%, falling from 70%
CAROL = [(5, 15), (5, 15), (5, 15), (5, 15)]  # 25%


def test_changes_come_from_the_rounded_figures_shown():
    flat = summary({}, FLAT)
    assert [44, 44] == [r.shown for r in flat.weeks[-2:]] and 0 == flat.change
    said = text.weekly_summary(flat, names=False)
    assert said.startswith(
        "*44% operating in week 47 (16–22 Nov 2026)*, no change on last week's 44%. "
        "Target 35%, limit 50%.\nNobody is above the 50% limit.\n```\n"
    ), said
    assert "44% operating in W47 (no change)" == text.chart_headline(44, "W47", flat.change)
    assert "No share in W47: under 4 hours logged" == text.chart_headline(None, "W47", None)
    rising = summary({}, RISING)
    assert "*41% operating in week 47 (16–22 Nov 2026)*, +3 points on last week's 38%." in (
        text.weekly_summary(rising, names=False)
    )


def test_people_above_the_limit_are_counted_and_named_only_with_the_opt_in():
    one = summary({"U0ALICE": ALICE, "U0CAROL": CAROL}, RISING)
    said = text.weekly_summary(one, names=False)
    assert "\n1 person is above 50% and rising; a note in their DM.\n" in said
    assert "U0ALICE" not in said and "<@" not in said
    two = summary({"U0ALICE": ALICE, "U0BOB": BOB, "U0CAROL": CAROL}, RISING)
    assert "\n2 people are above 50% (1 rising); a note in their DMs.\n" in (
        text.weekly_summary(two, names=False)
    )
    named = text.weekly_summary(two, names=True)
    assert (
        "Above the 50% limit: <@U0ALICE> 76% (+11 points), <@U0BOB> 55% (-15 points). "
        "Each got a note in their DM."
    ) in named


def test_the_dm_nudges_only_the_people_above_the_limit():
    two = summary({"U0ALICE": ALICE, "U0BOB": BOB, "U0CAROL": CAROL}, RISING)
    alice = text.weekly_dm(two, "U0ALICE")
    assert alice.startswith("*Your toil week 47 (16–22 Nov 2026): 76% operating* (+11 points).")
    assert (
        "You were at 76% operating this week, above the team's 50% limit, and rising "
        "(65% the week before)."
    ) in alice
    assert "You were at 55% operating this week, above the team's 50% limit (70% the week " in (
        text.weekly_dm(two, "U0BOB")
    )
    assert "above the team's" not in text.weekly_dm(two, "U0CAROL")


def test_every_table_is_in_a_code_block_with_dated_weeks():
    said = text.weekly_summary(summary({"U0ALICE": ALICE}, RISING), names=False)
    head, block, rest = said.split("```", 2)
    assert "Week" not in head and "W47" not in head.replace("W47 (", "")
    lines = block.strip().splitlines()
    assert lines[0].split() == ["Week", "Share", "Operating", "Coding"]
    assert lines[1].split() == ["W40", "28", "Sep", "30%", "30.0h", "70.0h"]
    assert lines[-1].split() == ["W47", "16", "Nov", "41%", "41.0h", "59.0h"]
    assert max(len(line) for line in lines) <= 36  # a phone shows it without wrapping
    assert rest.startswith("\n8 weeks together")
    assert "overhead this week, not in the share: 2.0h." in rest
    dm = text.weekly_dm(summary({"U0ALICE": ALICE}, RISING), "U0ALICE")
    assert dm.count("```") == 2 and "\nW44 26 Oct    50%" in dm


def test_the_chart_is_a_png_a_phone_can_show():
    png = chart_png(summary({"U0ALICE": ALICE}, RISING))
    image = Image.open(io.BytesIO(png))
    assert "PNG" == image.format and image.size[0] >= 720  # twice a phone's 360 px preview
    assert 0.6 < image.size[1] / image.size[0] < 1.0
