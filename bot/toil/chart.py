"""The weekly summary's chart as PNG bytes: operating and coding hours stacked per week, the
weekly toil ratio as a line on its own axis, and the target and limit as reference lines.

Drawn with matplotlib's Agg canvas on a private Figure (no pyplot, no global
state), so it is safe in threads and needs no display. Bars are drawn
without antialiasing in flat colours, so their heights can be measured in
the PNG.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from bot.toil.summary import Summary

OPERATING = "#d1495b"
CODING = "#00798c"
RATIO = "#303030"
TARGET = "#66a182"
LIMIT = "#edae49"
SIZE = (9.0, 5.0)  # inches
DPI = 100


def chart_png(summary: Summary) -> bytes:
    figure = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    hours_axis = figure.add_subplot()
    labels = [row.week for row in summary.weeks]
    positions = list(range(len(labels)))
    operating = [row.operating / 3600 for row in summary.weeks]
    coding = [row.coding / 3600 for row in summary.weeks]
    for values, bottom, colour, label in (
        (operating, None, OPERATING, "operating"),
        (coding, operating, CODING, "coding"),
    ):
        hours_axis.bar(
            positions,
            values,
            0.6,
            bottom,
            color=colour,
            label=label,
            linewidth=0,
            antialiased=False,
        )
    tallest = max((o + c for o, c in zip(operating, coding, strict=True)), default=0.0)
    hours_axis.set_ylim(0, max(1.0, tallest * 1.15))
    hours_axis.set_ylabel("hours (people with data)")
    hours_axis.set_xticks(positions, labels)
    hours_axis.set_xlim(-0.6, len(labels) - 0.4)

    ratio_axis = hours_axis.twinx()
    ratio_axis.set_ylim(0, 1)
    ratio_axis.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ratio_axis.set_ylabel("toil ratio")
    thresholds = summary.thresholds
    ratio_axis.axhline(
        thresholds.target,
        color=TARGET,
        linestyle="--",
        linewidth=1.5,
        label=f"target {thresholds.target:.0%}",
    )
    ratio_axis.axhline(
        thresholds.action,
        color=LIMIT,
        linestyle="--",
        linewidth=1.5,
        label=f"limit {thresholds.action:.0%}",
    )
    points = [(p, row.ratio) for p, row in zip(positions, summary.weeks, strict=True)]
    known = [(p, r) for p, r in points if r is not None]
    if known:
        ratio_axis.plot(
            [p for p, _ in known],
            [r for _, r in known],
            color=RATIO,
            linewidth=2,
            marker="o",
            markersize=5,
            label="toil ratio",
        )
    handles = hours_axis.get_legend_handles_labels()
    more = ratio_axis.get_legend_handles_labels()
    figure.legend(
        handles[0] + more[0],
        handles[1] + more[1],
        loc="upper center",
        ncols=5,
        frameon=False,
        bbox_to_anchor=(0.5, 0.94),
    )
    for p, r in points:
        if r is None:
            hours_axis.text(p, 0.5, "no data", ha="center", va="bottom", color=RATIO)
    figure.suptitle(f"Toil ratio, {labels[0]} to {labels[-1]} ({summary.timezone})", y=0.98)
    figure.subplots_adjust(top=0.85)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
