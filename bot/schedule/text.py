"""What the schedule domain says: cron expressions, timezones, schedule options and the
registry's refusals (raised as errors, which the pipeline shows as they are).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.platform.formatting import did_you_mean, echoed, seconds_text, usage_line

# --- cron and timezones ------------------------------------------------------


def bad_timezone(name: str) -> str:
    return f"`{name}` is not an IANA timezone. Write e.g. `Europe/Oslo`, `America/New_York`, `UTC`."


def cron_field_count(expression: str, count: int) -> str:
    return (
        f'The cron expression "{expression}" has {count} field(s); it needs 5: '
        'minute hour day-of-month month day-of-week, e.g. "0 3 * * SUN".'
    )


def cron_bad_field(expression: str, field: str, raw: str, low: int, high: int) -> str:
    return (
        f'In the cron expression "{expression}", the {field} field `{raw}` is not valid: '
        f"use numbers {low}-{high}, ranges (1-5), lists (1,15), steps (*/15) or *."
    )


def cron_never(expression: str) -> str:
    return (
        f'The cron expression "{expression}" never fires: no month it names has that day. '
        "Pick a day the month has, or `L` for its last day."
    )


# --- `schedule add` options ---------------------------------------------------


def schedule_usage(usage: str) -> str:
    return f"A schedule needs a quoted command and when to run it.{usage_line(usage)}"


def schedule_expected_timing(word: str, usage: str) -> str:
    return f"Expected `cron` or `every` after the command, got `{word}`.{usage_line(usage)}"


def schedule_unknown_option(word: str, options: Sequence[str], usage: str) -> str:
    shown = ", ".join(f"`{o}`" for o in options)
    return f"`{word}` is not a schedule option; use {shown}.{usage_line(usage)}"


def schedule_option_needs_value(option: str, usage: str) -> str:
    return f"`{option}` needs a value after it.{usage_line(usage)}"


def schedule_tz_with_every(usage: str) -> str:
    return (
        "`tz` goes with `cron`: an `every` schedule runs at fixed intervals whatever the "
        f"timezone.{usage_line(usage)}"
    )


# The pipeline's parse errors say the same about a command's own options; these two are
# copied from bot.pipeline.text because the schedule domain cannot import that module.


def repeated_flag(option: str, usage: str) -> str:
    return f"`--{option}` is given twice. Give it once.{usage_line(usage)}"


def bad_duration(param: str, value: str, low: int | None, high: int | None, usage: str) -> str:
    span = f" from {seconds_text(low or 0)} to {seconds_text(high or 0)}"
    shown = echoed(value)
    return (
        f"<{param}>: `{shown}` is not a duration{span} (write e.g. 90s, 30m, 2h)."
        f"{usage_line(usage)}"
    )


def schedule_bad_name(name: str) -> str:
    return (
        f"`{name}` cannot be a name here: use lower-case letters, digits and dashes, "
        "up to 40, e.g. `web-sunday`."
    )


def schedule_bad_channel(channel: str) -> str:
    return f"`{channel}` is not a channel: write `#ops` or a channel id such as `C0123`."


# --- the registry ------------------------------------------------------------


def no_such_schedule(name: str, suggestions: Sequence[str]) -> str:
    return (
        f"There is no schedule `{name}`.{did_you_mean(suggestions)}"
        " Type `schedule list` to see them."
    )


def schedule_name_taken(name: str, in_config: bool) -> str:
    where = "in toilbot.yaml" if in_config else "already"
    return f"A schedule named `{name}` exists {where}. Choose another with `name <name>`."


def schedule_in_config(name: str, origin: str) -> str:
    return (
        f"Schedule `{name}` is declared in {origin}; remove it there (or `schedule pause "
        f"{name}` to stop it now)."
    )
