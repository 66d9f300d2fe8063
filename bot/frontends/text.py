"""What the front ends say outside Slack's own views: the command line, the console, the
scheduler loop's notices, and sentences both the CLI and the Slack front end use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.platform.formatting import percent, seconds_text, when

if TYPE_CHECKING:
    from bot.toil.summary import Summary

# --- confirmation in the console ----------------------------------------------


def not_confirmed(command: str, how: str) -> str:
    return f"`{command}` needs confirmation and was not run. {how}"


def confirm_with_yes() -> str:
    return "Add --yes to confirm it."


def confirm_declined() -> str:
    return "Nothing changed."


# --- jobs --------------------------------------------------------------------


def waiting_for_worker(job_id: int) -> str:
    return (
        f"Job {job_id} is waiting for a worker. Start one with `toilbot worker` "
        "(same REDIS_URL), or run without --no-worker."
    )


def job_progress(done: int, total: int, task: str | None) -> str:
    """The one line a terminal rewrites while a job runs."""
    return f"  {done}/{total} hosts done" + (f" · {task}" if task else "")


def host_done(
    host: str, status: str, done: int, total: int, task: str | None, message: str | None
) -> str:
    """A line when a host's play ends: how, and where a failure happened."""
    line = f"  {host}: {status}"
    if task:
        line += f" at '{task}'"
    if message:
        line += f": {message}"
    return f"{line} ({done}/{total} hosts done)"


# --- start-up ----------------------------------------------------------------


def redis_in_use(description: str) -> str:
    return f"Redis: {description}"


def console_banner(user: str, redis: str, config: str, inventory: str) -> str:
    return "\n".join(
        [
            "toilbot console: type a command (`help` lists them), Ctrl-D to leave.",
            f"  you are {user}; config {config}; inventory {inventory}",
            f"  {redis_in_use(redis)}",
            "  Ctrl-C while a job runs cancels it.",
            "  Slack: not connected here. To connect it: create the app from "
            "slack/manifest.yml, set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, run "
            "`toilbot serve` and `toilbot worker` (README, 'Connecting Slack').",
        ]
    )


def console_still_running(job_id: int) -> str:
    return f"Job {job_id} is still running on another worker; `job {job_id}` shows it later."


def slack_ready(identity: str, api_url: str, redis: str) -> str:
    return f"Slack: connected as {identity} ({api_url}). {redis_in_use(redis)}"


def running_all(how: str) -> str:
    return f"toilbot run: the Slack app ({how}) and a worker in this process."


def bad_user_id(user: str) -> str:
    return (
        f"`{user}` is not a Slack user id. "
        "Use an id such as U024BE7LH (Slack profile > Copy member ID)."
    )


def config_invalid(error: str) -> str:
    return f"toilbot cannot start: {error}"


def metrics_port(host: str, port: int) -> str:
    return f"/healthz, /readyz and /metrics on http://{host}:{port}"


# --- toil ------------------------------------------------------------------------


def bad_week(text: str) -> str:
    return f"`{text}` is not an ISO week. Write it like 2026-W47."


def toil_week(figures: dict[str, Any]) -> str:
    team = figures["team"]
    lines = [
        f"Week {figures['week']} ({figures['timezone']}): team operating "
        f"{team['operating_hours']}h, coding {team['coding_hours']}h, ratio "
        f"{percent(team['ratio'])} (median {percent(team['median'])}, highest "
        f"{percent(team['highest'])})."
    ]
    for user, person in figures["people"].items():
        lines.append(
            f"  {user}: operating {person['operating_hours']}h, coding {person['coding_hours']}h, "
            f"overhead {person['overhead_hours']}h, ratio {percent(person['ratio'])}"
        )
    return "\n".join(lines)


def weekly_summary(summary: Summary, names: bool) -> str:
    """The channel's weekly summary (posted by the Slack front end, previewed by the CLI)."""
    from bot.toil.report import summary_message  # the toil domain's words; loaded when used

    return summary_message(summary, names)


def summary_no_channel() -> str:
    return (
        "The weekly summary has no channel: set toil.summary.channel in toilbot.yaml "
        '(e.g. "#ops"), or preview it with `toilbot toil summary --png chart.png`.'
    )


def import_refused(path: str, problems: Sequence[str]) -> str:
    shown = list(problems[:50])
    more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
    return (
        f"Nothing imported from {path}: {len(problems)} bad row"
        f"{'s' if len(problems) != 1 else ''}. Fix them and import the whole file again.\n"
        + "\n".join(shown)
        + more
    )


def imported(count: int, path: str, first: str, last: str, held: int = 0) -> str:
    already = f" {held} were in the ledger already and were left as they are." if held else ""
    return f"Imported {count} entries from {path} ({first} to {last}).{already}"


def nothing_new(path: str, held: int) -> str:
    return f"Nothing imported from {path}: its {held} entries are in the ledger already."


def unreadable_file(path: str, reason: str) -> str:
    return f"Cannot read {path}: {reason}."


def bad_since(text: str) -> str:
    return (
        f"`{text}` is not a date, time or age (write 2026-11-01, 2026-11-01T09:00:00+01:00 "
        "or 7d); a date starts at midnight in the team's timezone."
    )


def summary_posted(channel: str, week: str, dms: int, failed: dict[str, str]) -> str:
    text = f"Posted the summary of {week} to {channel} with its chart; {dms} people got a DM."
    if failed:
        text += " No DM for: " + ", ".join(f"{u} ({e})" for u, e in failed.items()) + "."
    return text


def chart_written(path: str) -> str:
    return f"Chart written to {path}."


# --- the scheduler loop --------------------------------------------------------


def schedule_skipped_by(name: str, user: str) -> str:
    return f"Skipped this run of schedule `{name}`: <@{user}> asked to skip it."


def schedule_outside_window(name: str, window: str) -> str:
    return (
        f"Skipped this run of schedule `{name}`: it is outside the maintenance window `{window}`."
    )


def schedule_frozen(name: str, freeze: str, until: int) -> str:
    return (
        f"Skipped this run of schedule `{name}`: change freeze `{freeze}` is on until "
        f"{when(until)}."
    )


def schedule_refused(name: str, owner: str, reason: str) -> str:
    return f"Scheduled run of `{name}` (owner <@{owner}>) was refused, nothing ran: {reason}"


def schedule_missed(name: str, count: int, more: bool, first: int, last: int, window: int) -> str:
    many = f"more than {count - 1}" if more else str(count)
    span = when(first)
    if count > 1:
        span += f" to {when(last)}"
    return (
        f"Skipped {many} run(s) of schedule `{name}` due {span}: no scheduler was running "
        f"then, and they are older than its {seconds_text(window)} window. Nothing is made up."
    )


def scheduler_started(replica: str) -> str:
    return (
        f"Scheduler {replica} started. Any number may run: one leads, the others take over "
        "within the lease if it stops. Ctrl-C hands the lead over at once."
    )


# --- audit log ---------------------------------------------------------------------


def audit_intact(count: int, first: int | None, last: int | None, trimmed: int, keyed: bool) -> str:
    span = f"{count} entries, seq {first} to {last}" if count else "no entries"
    trim = f"; entries up to seq {trimmed} removed by retention" if trimmed else ""
    how = "HMAC-SHA-256 with TOILBOT_AUDIT_KEY" if keyed else "plain SHA-256 (no TOILBOT_AUDIT_KEY)"
    return f"Audit log intact: {span}{trim}. Chain: {how}."


def audit_broken(problem: str, text: str, checked: int) -> str:
    before = "1 entry" if checked == 1 else f"{checked} entries"
    return f"Audit log BROKEN ({problem}): {text}. {before} before it intact."


def audit_line(entry: dict[str, Any]) -> str:
    parts = [str(entry.get("time")), f"#{entry.get('seq')}", str(entry.get("action"))]
    who = f"{entry.get('user')} via {entry.get('source')}"
    if entry.get("channel"):
        who += f" in {entry['channel']}"
    parts.append(who)
    if entry.get("command"):
        parts.append(f"`{entry['command']}`")
    if entry.get("job") is not None:
        parts.append(f"job {entry['job']}")
    if entry.get("decision"):
        rule = f" ({entry['rule']})" if entry.get("rule") else ""
        parts.append(f"{entry['decision']}{rule}")
    if entry.get("outcome"):
        parts.append(f"-> {entry['outcome']}")
    detail = {k: v for k, v in (entry.get("detail") or {}).items() if v is not None}
    if detail:
        parts.append(
            " ".join(
                f"{k}={v if isinstance(v, str) else json.dumps(v)}"
                for k, v in sorted(detail.items())
            )
        )
    return "  ".join(parts)


def bad_audit_time(text: str) -> str:
    return (
        f"`{text}` is not a time. Write a date (2026-11-01, midnight in the configured "
        "timezone), a time (2026-11-01T09:30, 2026-11-01T09:30Z) or an age (7d, 12h)."
    )


def audit_no_retention() -> str:
    return (
        "No audit retention is configured, so nothing is trimmed: the audit log keeps every "
        "entry. To trim, set e.g. `audit: {retention: 365d}` in toilbot.yaml."
    )


def audit_trim_done(removed: int, retention_days: int) -> str:
    if not removed:
        return f"Nothing older than {retention_days} days in the audit log."
    return (
        f"Removed {removed} audit entries older than {retention_days} days (recorded in the log)."
    )


# --- `toilbot health` (a container's healthcheck) --------------------------------------


def health_line(ok: bool, detail: str) -> str:
    return f"{'healthy' if ok else 'UNHEALTHY'}: {detail}"


def health_bad_url(url: str) -> str:
    return f"`{url}` is not an http:// or https:// URL"


def health_http_unreachable(url: str, reason: str) -> str:
    return f"{url} did not answer ({reason})"


def health_http_status(url: str, status: int) -> str:
    return f"{url} answered {status}" + ("" if status == 200 else ", not 200")


def health_redis_error(error: str) -> str:
    return f"Redis did not answer ({error})"


def health_worker_alive(count: int, hostname: str) -> str:
    return f"{count} toilbot worker(s) of host {hostname} registered and running"


def health_worker_missing(hostname: str, elsewhere: int) -> str:
    return (
        f"no live toilbot worker of host {hostname} is registered with RQ "
        f"({elsewhere} worker(s) registered in all)"
    )


def health_scheduler_alive(replica: str) -> str:
    return f"scheduler {replica} is stepping"


def health_scheduler_missing(hostname: str, seconds: int, elsewhere: int) -> str:
    return (
        f"no scheduler of host {hostname} has stepped in the last {seconds}s "
        f"({elsewhere} replica(s) seen in all)"
    )
