"""Every string a person reads: replies, errors and start-up notes, in one place.

Plain text with Slack mrkdwn backticks; the console prints it as is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def _did_you_mean(options: Sequence[str]) -> str:
    if not options:
        return ""
    return " Did you mean " + " or ".join(f"`{o}`" for o in options) + "?"


def _usage(usage: str) -> str:
    return f"\nUsage: `{usage}`"


# --- parsing -----------------------------------------------------------------


def too_long(length: int, limit: int) -> str:
    return f"That command is {length} characters long; the limit is {limit}. Shorten it."


def control_characters() -> str:
    return "That command contains control characters. Type it again as plain text."


def unbalanced_quotes(detail: str) -> str:
    return f"Could not read that command ({detail.lower()}). Close every quote you open."


def unknown_command(word: str, suggestions: Sequence[str]) -> str:
    return f"There is no command `{word}`.{_did_you_mean(suggestions)} Type `help` for the list."


def unknown_flag(token: str, suggestions: Sequence[str], usage: str) -> str:
    options = [f"--{s}" for s in suggestions]
    return f"`{token}` is not an option of this command.{_did_you_mean(options)}{_usage(usage)}"


def repeated_flag(option: str, usage: str) -> str:
    return f"`--{option}` is given twice. Give it once.{_usage(usage)}"


def flag_takes_no_value(option: str, usage: str) -> str:
    return f"`--{option}` is a switch and takes no value.{_usage(usage)}"


def flag_needs_value(option: str, placeholder: str, usage: str) -> str:
    return f"`--{option}` needs a value: `--{option} {placeholder}`.{_usage(usage)}"


def missing_argument(name: str, usage: str) -> str:
    return f"Missing <{name}>.{_usage(usage)}"


def expected_word(expected: str, got: str, usage: str) -> str:
    return f"Expected `{expected}` where you wrote `{got}`.{_usage(usage)}"


def unexpected_word(word: str, usage: str) -> str:
    return f"Unexpected `{word}` at the end of the command.{_usage(usage)}"


def unknown_target(name: str, suggestions: Sequence[str], usage: str) -> str:
    return (
        f"<targets>: `{name}` is not a host or group in the inventory."
        f"{_did_you_mean(suggestions)}{_usage(usage)}"
    )


def bad_choice(
    param: str, value: str, choices: Sequence[str], suggestions: Sequence[str], usage: str
) -> str:
    allowed = ", ".join(choices)
    hint = _did_you_mean(suggestions)
    return f"<{param}>: `{value}` is not allowed (allowed: {allowed}).{hint}{_usage(usage)}"


def bad_number(param: str, value: str, low: int | None, high: int | None, usage: str) -> str:
    return f"<{param}>: `{value}` is not a whole number from {low} to {high}.{_usage(usage)}"


def bad_duration(param: str, value: str, low: int | None, high: int | None, usage: str) -> str:
    span = f" from {seconds_text(low or 0)} to {seconds_text(high or 0)}"
    return f"<{param}>: `{value}` is not a duration{span} (write e.g. 90s, 30m, 2h).{_usage(usage)}"


def seconds_text(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s" if sec else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


# --- policy ------------------------------------------------------------------


def denied(user: str, command: str, permission: str) -> str:
    return (
        f"You ({user}) may not run `{command}`: it needs the `{permission}` permission, "
        f"which none of your roles grants. Ask an admin to add you to a role that has it "
        f"in toilbot.yaml (policy.roles)."
    )


def too_many_hosts(command: str, hosts: int, cap: int, rule: str) -> str:
    return (
        f"`{command}` would touch {hosts} hosts; {rule}. Target a smaller group, or ask an "
        "admin to raise max_hosts in toilbot.yaml (policy.roles)."
    )


# --- help --------------------------------------------------------------------


def help_index(rows: Sequence[tuple[str, str]]) -> str:
    lines = ["Commands:"]
    for usage, summary in rows:
        lines += [f"  `{usage}`", f"      {summary}"]
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


def confirm_prompt(command: str, hosts: Sequence[str]) -> str:
    shown = ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")
    return f"`{command}` will change {len(hosts)} host(s): {shown}. Confirm to run it."


def not_confirmed(command: str, how: str) -> str:
    return f"`{command}` needs confirmation and was not run. {how}"


def confirm_with_yes() -> str:
    return "Add --yes to confirm it."


def confirm_declined() -> str:
    return "Nothing changed."


def approval_unavailable(command: str) -> str:
    return (
        f"`{command}` needs approval by a second person, and toilbot cannot collect "
        "approvals yet. Nothing was queued; run it in check mode or ask an admin to change "
        "the command's confirm setting."
    )


def confirmation_expired() -> str:
    return (
        "This confirmation has expired or was already used; nothing was run. "
        "Type the command again."
    )


def only_requester_confirms(user: str) -> str:
    return f"Only <@{user}>, who asked for this command, can confirm it."


# --- jobs --------------------------------------------------------------------


def queued(job_id: int, command: str, hosts: int, check_mode: bool) -> str:
    mode = " in check mode (nothing will change)" if check_mode else ""
    plural = "host" if hosts == 1 else "hosts"
    return f"Job {job_id} queued: `{command}` on {hosts} {plural}{mode}."


def waiting_for_worker(job_id: int) -> str:
    return (
        f"Job {job_id} is waiting for a worker. Start one with `toilbot worker` "
        "(same REDIS_URL), or run without --no-worker."
    )


def host_locked(
    host: str, job_id: int, user: str | None, command: str | None, status: str | None
) -> str:
    who = f" (`{command}`, {status}, started by {user})" if user else ""
    return (
        f"{host} is locked by job {job_id}{who}: a host takes one change at a time. "
        f"Try again when job {job_id} ends (`job {job_id}`), or cancel it (`cancel {job_id}`)."
    )


def bad_job_id(text: str) -> str:
    return f"`{text}` is not a job id. Job ids are numbers; `jobs` lists recent ones."


def no_such_job(job_id: int) -> str:
    return f"There is no job {job_id}. `jobs` lists recent ones."


def no_jobs() -> str:
    return "No jobs yet. Try `status localhost`."


def abandoned() -> str:
    return "the console or exec that queued this job exited before running it"


def cancel_requested(job_id: int) -> str:
    return f"Cancelling job {job_id}: the Ansible run is being stopped."


def cancelled_before_start(job_id: int) -> str:
    return f"Job {job_id} was cancelled before it started."


def already_finished(job_id: int, status: str) -> str:
    return f"Job {job_id} has already ended ({status}); there is nothing to cancel."


def worker_died(seconds: int) -> str:
    return (
        f"the worker running this job stopped answering (no heartbeat for {seconds}s); "
        "the Ansible run was stopped"
    )


def horse_died(status: int) -> str:
    return (
        f"the worker process running this job died (wait status {status}); "
        "the Ansible run was stopped"
    )


def job_timed_out(seconds: int) -> str:
    return (
        f"the playbook ran past this command's timeout of {seconds_text(seconds)} and was stopped"
    )


def job_cancelled_by(user: str) -> str:
    return f"cancelled by {user}"


def job_crashed(error: str) -> str:
    return f"toilbot failed while running the job: {error}"


def hosts_failed(count: int) -> str:
    return f"{count} host{'s' if count != 1 else ''} did not succeed"


def ansible_failed(rc: int) -> str:
    return f"ansible-playbook exited with code {rc}; see the output"


def internal_error(reference: str) -> str:
    return (
        f"Something went wrong inside toilbot (reference {reference}); nothing was queued. "
        "The details are in the bot's log."
    )


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


def console_cancelling(job_id: int) -> str:
    return f"\nCtrl-C: cancelling job {job_id}..."


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


def unused_permission(role: str, granted: str, needed: list[str]) -> str:
    return (
        f"policy: role {role} grants `{granted}`, which no command needs (a typo?). "
        f"Permissions in use: {', '.join(needed)}"
    )


def no_ansible() -> str:
    return "ansible-playbook is not installed. Run `make run` or `pip install ansible`."


def check_summary(failures: int) -> str:
    return "All checks passed." if failures == 0 else f"{failures} check(s) failed."


def config_invalid(error: str) -> str:
    return f"toilbot cannot start: {error}"


# --- toil ------------------------------------------------------------------------


def percent(ratio: float | None) -> str:
    return "no data" if ratio is None else f"{ratio:.0%}"


def hours(seconds: float) -> str:
    return seconds_text(seconds) if seconds else "0h"


def toil_help(usages: Sequence[str]) -> str:
    lines = ["Log your time; toilbot works out the toil ratio, operating / (operating + coding):"]
    lines += [f"  `{u}`" for u in usages]
    lines.append("Overhead (meetings, admin) is kept but left out of the ratio.")
    return "\n".join(lines)


def unknown_toil_verb(word: str, suggestions: Sequence[str]) -> str:
    hint = _did_you_mean(suggestions)
    return f"`toil {word}` is not a toil command.{hint} Type `toil` for the list."


def toil_refused(reason: str, usage: str) -> str:
    return f"Not recorded: {reason}.{_usage(usage)}"


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
        f"`{text}` is not a duration or a time span (write 2h, 90m or 09:00-11:30).{_usage(usage)}"
    )


def bad_date(text: str, usage: str) -> str:
    return (
        f"`{text}` is not a date (write 2026-11-20, yesterday or a weekday such as "
        f"monday).{_usage(usage)}"
    )


def future_date(text: str) -> str:
    return f"{text} is in the future; log time once it is spent."


def bad_edit(word: str, usage: str) -> str:
    return f"Cannot apply `{word}`.{_usage(usage)}"


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
    thresholds: Any,
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
    return f"`{text}` is not a number of weeks from 1 to 26 (`--weeks 4`).{_usage(usage)}"


def toil_report(rows: Sequence[tuple[Any, ...]], quarter: float | None, thresholds: Any) -> str:
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


# --- audit log ---------------------------------------------------------------------


def _span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first} to {last}"


def audit_unwritable(error: str) -> str:
    return f"The audit log cannot be written ({error}). Check that Redis is up and writable."


def audit_contended(seconds: float) -> str:
    return (
        f"The audit log is too busy: no append went through in {seconds:.0f}s. Try again; if it "
        "persists, look for a process writing to it in a loop."
    )


def audit_head_unreadable(key: str) -> str:
    return (
        f"The audit log's head (`{key}`) is damaged, so no entry can be appended. "
        "Run `toilbot audit verify` to see what was changed."
    )


def audit_not_written(reason: str) -> str:
    return f"\n(Not written to the audit log: {reason})"


def job_not_audited(job_id: int, reason: str) -> str:
    return (
        f"Not run: job {job_id} could not be written to the audit log, so it was stopped. {reason}"
    )


def audit_trimmed_outcome(removed: int) -> str:
    return f"removed {removed} entries older than the retention"


def audit_trim_unreadable() -> str:
    return "The audit log has unreadable entries; nothing was trimmed. Run `toilbot audit verify`."


def audit_edited(entry_id: str, seq: int | None, keyed: bool) -> str:
    which = f"seq {seq}" if seq is not None else "with no readable seq"
    why = (
        "it was edited, or written with another TOILBOT_AUDIT_KEY"
        if keyed
        else "it was edited (or written with TOILBOT_AUDIT_KEY set, and you are checking without)"
    )
    return f"entry {which} (id {entry_id}) does not match its hash: {why}"


def audit_rewritten(entry_id: str, seq: int, next_id: str | None, next_seq: int | None) -> str:
    where = (
        f"entry seq {next_seq} (id {next_id}) recorded a different hash for it"
        if next_id
        else "the head key records a different hash for it"
    )
    return f"entry seq {seq} (id {entry_id}) was edited and its hash recomputed: {where}"


def audit_bad_start(entry_id: str, seq: int, anchored: bool) -> str:
    start = "the anchor left by the last trim" if anchored else "the start of the chain"
    return (
        f"the oldest entry, seq {seq} (id {entry_id}), does not follow {start}: it, or the "
        "anchor, was edited"
    )


def audit_deleted(first: int, last: int, entry_id: str, seq: int) -> str:
    return f"{_span(first, last)} deleted: missing before entry seq {seq} (id {entry_id})"


def audit_missing_at_end(first: int, last: int, newest_id: str | None) -> str:
    after = f" after the newest entry left (id {newest_id})" if newest_id else ""
    return f"{_span(first, last)} deleted{after}: the head key records seq {last}"


def audit_reordered(entry_id: str, seq: int, other_id: str, other_seq: int) -> str:
    return (
        f"entry seq {seq} (id {entry_id}) was moved: it comes before entry seq {other_seq} "
        f"(id {other_id})"
    )


def audit_out_of_order(entry_id: str, seq: int, after: int) -> str:
    return f"entry seq {seq} (id {entry_id}) is out of order: it comes after seq {after}"


def audit_untracked_trim(through: int, recorded: int, entry_id: str | None) -> str:
    record = (
        f"the last recorded trim went through seq {recorded}"
        if recorded
        else "no audit.trimmed entry records a trim"
    )
    first = f" (the oldest entry left is id {entry_id})" if entry_id else ""
    return f"entries up to seq {through} were removed{first}, but {record}: deleted at the start"


def audit_head_missing(key: str, newest: int) -> str:
    return (
        f"the head key `{key}` is missing (the newest entry is seq {newest}): it was deleted, "
        "perhaps with the newest entries"
    )


def audit_key_unreadable(key: str) -> str:
    return f"`{key}` is not in the form toilbot writes: it was edited"


def audit_inserted(seq: int, entry_id: str | None, head: int) -> str:
    return (
        f"entry seq {seq} (id {entry_id}) was added outside toilbot: the head key records "
        f"seq {head} as the newest"
    )


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


def audit_requester_rule(user: str) -> str:
    return f"only the requester, {user}, confirms"


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
