"""The weekly summary's chart as PNG bytes, made to be read in five seconds on a phone.

One message: the team's operating share per week (the toil ratio), each point labelled
with the whole percent the text shows, on a single % axis where the target and the
limit are a shaded band and a line; the headline (this week's share and the change
from last week, from the same whole percents) is the title. The hours behind it
(operating, coding, overhead) are a smaller panel below, on the same weeks.

Drawn with matplotlib's Agg canvas on a private Figure (no pyplot, no global state),
so it is safe in threads and needs no display. Bars, markers and the two reference
lines are drawn without antialiasing in flat colours of their own, so a test can
measure them in the PNG.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.toil import text
from bot.toil.summary import Summary, points
from bot.toil.weeks import week_monday, week_short

OPERATING = "#d1495b"
CODING = "#00798c"
OVERHEAD = "#b4b4b4"
SHARE = "#2b2b2b"  # the line joining the weekly shares
POINT = "#1d3f8f"  # each week's share marker
TARGET = "#2e8b57"  # the target line; the band under it is a paler green
LIMIT = "#c62828"  # the limit line; the band over it is a paler red
TARGET_BAND = "#e3f2e8"
LIMIT_BAND = "#fbe4e4"
MUTED = "#6b6b6b"
SIZE = (6.4, 5.6)  # inches: 1024 x 896 px, shown about 360 px wide on a phone
DPI = 160


def _percent(value: float) -> str:
    return f"{points(value)}%"


def chart_png(summary: Summary) -> bytes:
    figure = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 1, height_ratios=(2.6, 1), hspace=0.12)
    share = figure.add_subplot(grid[0])
    hours = figure.add_subplot(grid[1], sharex=share)
    rows = summary.weeks
    positions = list(range(len(rows)))
    limits = summary.thresholds

    # --- the one message: the operating share per week, against the target and the limit
    known = [
        (p, row.ratio) for p, row in zip(positions, rows, strict=True) if row.ratio is not None
    ]
    top = min(1.14, max([limits.action + 0.2, *(r + 0.14 for _, r in known)]))
    share.set_ylim(0, top)
    share.set_xlim(-0.6, len(rows) - 0.4)
    share.axhspan(0, limits.target, color=TARGET_BAND, linewidth=0, zorder=0)
    share.axhspan(limits.action, 2, color=LIMIT_BAND, linewidth=0, zorder=0)
    for value, colour in ((limits.target, TARGET), (limits.action, LIMIT)):
        share.axhline(value, color=colour, linewidth=1.6, antialiased=False, zorder=1)
    if known:
        share.plot(
            [p for p, _ in known],
            [r for _, r in known],
            color=SHARE,
            linewidth=2.2,
            zorder=3,
        )
        share.plot(
            [p for p, _ in known],
            [r for _, r in known],
            linestyle="none",
            marker="o",
            markersize=8,
            markerfacecolor=POINT,
            markeredgewidth=0,
            antialiased=False,
            zorder=4,
        )
    last = len(rows) - 1
    for p, row in zip(positions, rows, strict=True):
        if row.ratio is None:
            share.text(
                p, 0.04, text.chart_no_data(), ha="center", va="bottom", fontsize=8, color=MUTED
            )
            continue
        near = [r for q, r in known if abs(q - p) == 1]
        below = bool(near) and row.ratio < min(near)  # a dip: the label under it, off the line
        share.annotate(
            _percent(row.ratio),
            (p, row.ratio),
            xytext=(0, -10 if below else 8),
            textcoords="offset points",
            ha="center",
            va="top" if below else "bottom",
            fontsize=14 if p == last else 12,
            fontweight="bold" if p == last else "normal",
            color=SHARE,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "linewidth": 0, "alpha": 0.8},
            zorder=5,
        )
    ticks = [(0.0, "0%", MUTED)]
    ticks.append((limits.target, text.chart_target(points(limits.target)), TARGET))
    ticks.append((limits.action, text.chart_limit(points(limits.action)), LIMIT))
    if top >= 1.0:
        ticks.append((1.0, "100%", MUTED))
    share.set_yticks([t for t, _, _ in ticks], [label for _, label, _ in ticks])
    for tick, (_, _, colour) in zip(share.get_yticklabels(), ticks, strict=True):
        tick.set_color(colour)
    share.tick_params(axis="x", labelbottom=False, length=0)
    share.tick_params(axis="y", labelsize=10, length=0)
    for side in ("top", "right"):
        share.spines[side].set_visible(False)

    # --- the hours behind it, smaller
    bottom = [0.0] * len(rows)
    for colour, label, values in (
        (OPERATING, text.chart_operating(), [row.operating / 3600 for row in rows]),
        (CODING, text.chart_coding(), [row.coding / 3600 for row in rows]),
        (OVERHEAD, text.chart_overhead(), [row.overhead / 3600 for row in rows]),
    ):
        hours.bar(
            positions,
            values,
            0.6,
            bottom,
            color=colour,
            label=label,
            linewidth=0,
            antialiased=False,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    hours.set_ylim(0, max(1.0, max(bottom, default=0.0) * 1.1))
    hours.set_ylabel(text.chart_hours_axis(), fontsize=9, color=MUTED)
    hours.tick_params(axis="y", labelsize=8, length=0)
    hours.tick_params(axis="x", labelsize=10, length=0)
    hours.set_xticks(
        positions, [f"{week_short(row.week)}\n{week_monday(row.week):%-d %b}" for row in rows]
    )
    for side in ("top", "right"):
        hours.spines[side].set_visible(False)
    hours.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=3,
        frameon=False,
        fontsize=8,
        handlelength=0.8,
        handleheight=0.8,
        borderaxespad=0.1,
        columnspacing=1.2,
    )

    figure.suptitle(
        text.chart_headline(summary.weeks[-1].shown, week_short(summary.week), summary.change),
        x=0.06,
        y=0.975,
        ha="left",
        fontsize=16,
        fontweight="bold",
    )
    figure.text(
        0.06,
        0.915,
        text.chart_subtitle(summary.timezone),
        ha="left",
        fontsize=10,
        color=MUTED,
    )
    figure.subplots_adjust(left=0.16, right=0.97, top=0.88, bottom=0.09)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
