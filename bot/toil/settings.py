"""What the toil ledger is configured with (from toilbot.yaml `toil`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.toil.ratio import Thresholds

DEFAULT_CATEGORIES = (
    "interrupts",
    "incident",
    "on-call",
    "releases",
    "migrations",
    "capacity",
    "troubleshooting",
    "patching",
    "automation",
    "tooling",
    "reviews",
    "meetings",
    "general",
)


@dataclass(frozen=True)
class ToilSettings:
    categories: tuple[str, ...]
    timer_limit: int  # seconds a timer counts before it asks "still working?"
    hands_on: int  # seconds of a person's time one bot job takes: typing it, reading the result
    thresholds: Thresholds
    summary_channel: str | None = None  # where the weekly summary goes (toil.summary.channel)
    summary_names: bool = False  # people's names in the channel (the team opted in)
