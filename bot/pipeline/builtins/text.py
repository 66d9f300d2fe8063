"""What the builtin commands answer: help, the approvals and jobs lists, `toil ...` and
`schedule ...`.

Only ``bot.pipeline.builtins`` imports this module; sentences the other pipeline steps
share with the builtins are in ``bot.pipeline.text``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.platform.formatting import (
    did_you_mean,
    echoed,
    hours,
    percent,
    seconds_text,
    usage_line,
    when,
)

if TYPE_CHECKING:
    from bot.pipeline.approvals import ApprovalRequest
    from bot.schedule.model import Schedule
    from bot.toil.ratio import Thresholds


# --- help --------------------------------------------------------------------


def help_index(rows: Sequence[tuple[str, str]]) -> str:
    """One line a command, as prose: on a phone it wraps as words, not as a code block."""
    lines = ["Commands:"]
    lines += [f"• `{usage}`: {summary}" for usage, summary in rows]
    lines.append("Type `help <command>` for the details of one.")
    return "\n".join(lines)


def help_command(usage: str, summary: str, details: Sequence[str], footer: Sequence[str]) -> str:
    lines = [f"`{usage}`", summary, *details, *footer]
    return "\n".join(line for line in lines if line)


def help_footer(permission: str, confirm: str, timeout: int, manual_minutes: int) -> str:
    return (
        f"Needs permission `{permission}`; confirmation: {confirm}; times out after "
        f"{seconds_text(timeout)}; saves about {manual_minutes} minutes of manual work."
    )


# --- approvals ---------------------------------------------------------------


def bad_approval_id(text: str, usage: str) -> str:
    return f"`{text}` is not an approval request number.{usage_line(usage)}"


def approvals_list(requests: Sequence[ApprovalRequest]) -> str:
    lines = ["Waiting for approval:"]
    for r in requests:
        lines.append(
            f"  {r.id}  `{r.command}` by <@{r.requester}> · {len(r.approvers)} of {r.quorum} "
            f"· expires {when(r.expires_at)}"
        )
    lines.append("Approve with `approve <id>`, refuse with `deny <id> [reason]`.")
    return "\n".join(lines)


def no_pending_approvals() -> str:
    return "No commands are waiting for approval."


# --- jobs --------------------------------------------------------------------


def bad_job_id(text: str) -> str:
    return f"`{echoed(text)}` is not a job id. Job ids are numbers; `jobs` lists recent ones."


def no_jobs() -> str:
    return "No jobs yet. Try `status localhost`."


# --- toil ------------------------------------------------------------------------


def toil_help(usages: Sequence[str]) -> str:
    lines = ["Log your time; toilbot works out the toil ratio, operating / (operating + coding):"]
    lines += [f"  `{u}`" for u in usages]
    lines.append("Overhead (meetings, admin) is kept but left out of the ratio.")
    return "\n".join(lines)


def unknown_toil_verb(word: str, suggestions: Sequence[str]) -> str:
    hint = did_you_mean(suggestions)
    return f"`toil {word}` is not a toil command.{hint} Type `toil` for the list."


def toil_refused(reason: str, usage: str) -> str:
    return f"Not recorded: {reason}.{usage_line(usage)}"


def toil_started(kind: str, category: str, stopped: tuple[str, float] | None) -> str:
    text = f"Timer started: {kind} ({category})."
    if stopped:
        text += f" The previous timer ({stopped[0]}, {hours(stopped[1])}) was stopped and logged."
    return text + " `toil stop` when you are done."


def toil_no_timer() -> str:
    return "No timer is running. Start one with `toil start operating interrupts`."


def toil_too_short() -> str:
    return "The timer ran for under a minute; nothing was logged."


def toil_stopped(entry_id: int, kind: str, category: str, seconds: float, capped: bool) -> str:
    text = f"Logged entry {entry_id}: {hours(seconds)} of {kind} ({category})."
    if capped:
        text += (
            " The timer ran past its limit, so it counts only up to the limit; "
            f"`toil edit {entry_id} duration=...` if you really worked longer."
        )
    return text


def toil_logged(entry_id: int, kind: str, category: str, seconds: float, start: str) -> str:
    return f"Logged entry {entry_id}: {hours(seconds)} of {kind} ({category}) from {start}."


def bad_span(text: str, usage: str) -> str:
    return (
        f"`{text}` is not a duration or a time span (write 2h, 90m or 09:00-11:30)."
        f"{usage_line(usage)}"
    )


def bad_date(text: str, usage: str) -> str:
    return (
        f"`{text}` is not a date (write 2026-11-20, yesterday or a weekday such as "
        f"monday).{usage_line(usage)}"
    )


def future_date(text: str) -> str:
    return f"{text} is in the future; log time once it is spent."


def bad_edit(word: str, usage: str) -> str:
    return f"Cannot apply `{word}`.{usage_line(usage)}"


def toil_edited(entry_id: int, kind: str, category: str, seconds: float) -> str:
    return (
        f"Entry {entry_id} is now {hours(seconds)} of {kind} ({category}). `toil undo` reverts it."
    )


def toil_undone(what: str) -> str:
    return f"Undone: the {what}."


def toil_nothing_to_undo() -> str:
    return "Nothing to undo."


def toil_me(
    week: str,
    tz: str,
    seconds: dict[str, float],
    ratio: float | None,
    thresholds: Thresholds,
    running: tuple[str, str, float] | None,
) -> str:
    lines = [
        f"Your week {week} ({tz}): operating {hours(seconds['operating'])}, coding "
        f"{hours(seconds['coding'])}, overhead {hours(seconds['overhead'])}.",
    ]
    if ratio is None:
        lines.append("Toil ratio: no data yet (it needs 4 hours of operating plus coding).")
    else:
        lines.append(
            f"Toil ratio: {percent(ratio)} (target {percent(thresholds.target)}, limit "
            f"{percent(thresholds.action)}; {thresholds.level(ratio)})."
        )
    if running:
        lines.append(f"Timer running: {running[0]} ({running[1]}) for {hours(running[2])}.")
    return "\n".join(lines)


def bad_weeks(text: str, usage: str) -> str:
    return f"`{text}` is not a number of weeks from 1 to 26 (`--weeks 4`).{usage_line(usage)}"


def toil_report(
    rows: Sequence[
        tuple[str, float, float, float | None, float | None, float | None, float | None]
    ],
    quarter: float | None,
    thresholds: Thresholds,
) -> str:
    """The team's weeks, oldest first: week, operating and coding seconds, team ratio, median,
    highest, and the asker's own ratio."""
    lines = [
        f"Team toil ratio by week (target {percent(thresholds.target)}, limit "
        f"{percent(thresholds.action)}):",
        "  week       operating  coding   team   median  highest  you",
    ]
    for week, operating, coding, ratio, median, highest, mine in rows:
        lines.append(
            f"  {week}  {hours(operating):>9}  {hours(coding):>6}  {percent(ratio):>5}  "
            f"{percent(median):>6}  {percent(highest):>7}  {percent(mine)}"
        )
    last = rows[-1][3] if rows else None
    before = rows[-2][3] if len(rows) > 1 else None
    if last is not None and before is not None:
        change = round((last - before) * 100)
        lines.append(f"Week on week: {change:+d} points. Quarter to date: {percent(quarter)}.")
    else:
        lines.append(f"Quarter to date: {percent(quarter)}.")
    if last is not None and last >= thresholds.action:
        lines.append("At or past the limit: rebalance with the product team.")
    return "\n".join(lines)


def _week_change(ratios: Sequence[float | None]) -> str:
    last = ratios[-1] if ratios else None
    before = ratios[-2] if len(ratios) > 1 else None
    if last is None or before is None:
        return ""
    return f"Week on week: {round((last - before) * 100):+d} points. "


def toil_person_report(
    user: str,
    rows: Sequence[tuple[str, float, float, float | None]],
    quarter: float | None,
    thresholds: Thresholds,
) -> str:
    lines = [
        f"<@{user}>'s toil ratio by week (target {percent(thresholds.target)}, limit "
        f"{percent(thresholds.action)}):",
        "  week       operating  coding  ratio",
    ]
    for week, operating, coding, ratio in rows:
        lines.append(f"  {week}  {hours(operating):>9}  {hours(coding):>6}  {percent(ratio)}")
    lines.append(f"{_week_change([row[3] for row in rows])}Quarter to date: {percent(quarter)}.")
    return "\n".join(lines)


def bad_report_target(word: str, usage: str) -> str:
    why = (  # Slack sent an @name as typed: not a member, or the command does not escape it
        "reached me as plain text, not as a mention of a member: choose the person from the "
        "list Slack shows as you type @, or write their user id (e.g. U0123). If every @name "
        "ends here, the slash command needs should_escape: true in slack/manifest.yml"
        if word.startswith("@")
        else "is neither `team` nor a person (write @name or a user id such as U0123)"
    )
    return f"`{echoed(word)}` {why}.{usage_line(usage)}"


def bad_zone(word: str, usage: str) -> str:
    return (
        f"`{word}` is not an IANA timezone (write e.g. Europe/Oslo or America/New_York; `slack` "
        f"goes back to your Slack profile's).{usage_line(usage)}"
    )


def toil_zone(name: str, source: str) -> str:
    return (
        f"Your timezone: {name} ({source}). `toil log 09:00-11:30 ...` and `on <date>` use it; "
        "weeks follow the team's timezone."
    )


# --- schedules ---------------------------------------------------------------


def schedule_not_a_job(command: str) -> str:
    return (
        f"`{command}` cannot be scheduled: schedules run commands that run a playbook, "
        "such as `patch web --security-only` or `status db`."
    )


def no_such_window(name: str, known: Sequence[str]) -> str:
    shown = ", ".join(f"`{k}`" for k in known) if known else "none are declared"
    return (
        f"There is no maintenance window `{name}` ({shown}). Declare it under "
        "`maintenance_windows` in toilbot.yaml."
    )


def unknown_schedule_verb(word: str, suggestions: Sequence[str], usage: str) -> str:
    return (
        f"`schedule {word}` is not a schedule command.{did_you_mean(suggestions)} "
        "Use `schedule list|show|add|pause|resume|remove|skip`."
        f"{usage_line(usage)}"
    )


def schedule_added(
    name: str, command: str, when: str, upcoming: Sequence[str], schedulers: tuple[int, str | None]
) -> str:
    first = upcoming[0] if upcoming else "never (no date matches)"
    return (
        f"Schedule `{name}` added: `{command}` {when}. First run: {first}.\n"
        f"{scheduler_status(schedulers)}"
    )


def scheduler_status(schedulers: tuple[int, str | None]) -> str:
    alive, leader = schedulers
    if not alive:
        return (
            ":warning: No scheduler is running, so schedules do not fire. Start "
            "`toilbot scheduler` (or `toilbot run`) and a `toilbot worker`."
        )
    return f"Schedulers running: {alive}; leader: {leader or 'being elected'}."


def schedule_already(name: str, state: str) -> str:
    return f"Schedule `{name}` is already {state}; nothing changed."


def schedule_paused(name: str) -> str:
    return (
        f"Schedule `{name}` paused: it will not run until `schedule resume {name}`. "
        "Runs due while paused are not made up."
    )


def schedule_resumed(name: str, upcoming: Sequence[str]) -> str:
    return f"Schedule `{name}` resumed. Next run: {upcoming[0] if upcoming else 'never'}."


def schedule_removed(name: str) -> str:
    return f"Schedule `{name}` removed; runs already queued are not affected."


def schedule_bad_skip(word: str) -> str:
    return f"`{word}` is not a future fire time. Use `schedule skip <name>` to skip the next run."


def schedule_never_fires(name: str) -> str:
    return f"Schedule `{name}` has no upcoming run to skip."


def schedule_skip_set(name: str, when: str, user: str) -> str:
    return f"The {when} run of `{name}` will be skipped (asked by <@{user}>)."


def schedule_skip_already(name: str, when: str) -> str:
    return f"The {when} run of `{name}` is already marked to be skipped."


def schedule_list(rows: Sequence[tuple[str, ...]], schedulers: tuple[int, str | None]) -> str:
    if not rows:
        return (
            'No schedules. Add one: `schedule add "patch web --security-only" cron '
            '"0 3 * * SUN" tz Europe/Oslo window 2h`.\n' + scheduler_status(schedulers)
        )
    lines = [
        f"`{name}`  `{command}`  {when}\n    next: {upcoming}  ·  {state}"
        + (f"  ·  last: {last}" if last else "")
        for name, command, when, upcoming, state, last in rows
    ]
    return "\n".join([*lines, scheduler_status(schedulers)])


def schedule_details(
    schedule: Schedule,
    when: str,
    upcoming: Sequence[str],
    paused_by: str | None,
    history: Sequence[tuple[str, str, str, str]],
    schedulers: tuple[int, str | None],
) -> str:
    lines = [
        f"Schedule `{schedule.name}`: `{schedule.command}` {when}",
        f"Owner <@{schedule.owner}>; window {seconds_text(schedule.window)}; heads-up "
        + (seconds_text(schedule.heads_up) if schedule.heads_up else "none")
        + f"; channel {schedule.channel or 'none'}"
        + (f"; only during `{schedule.during}`" if schedule.during else "")
        + f"; from {schedule.origin}.",
        f"Paused by <@{paused_by}>." if paused_by else "Active.",
        "Next runs: " + (", ".join(upcoming) if upcoming else "none"),
    ]
    if history:
        lines.append("Recent:")
        lines += [
            f"  {when_}  {outcome}" + (f" (job {job})" if job else "")
            for when_, outcome, job, _detail in history
        ]
    lines.append(scheduler_status(schedulers))
    return "\n".join(lines)
