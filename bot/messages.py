"""Every string a person reads: replies, errors and start-up notes, in one place.

Plain text with Slack mrkdwn backticks; the console prints it as is.
"""

from __future__ import annotations

import datetime as _dt
import json
import unicodedata
import zoneinfo
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.pipeline.approvals import ApprovalRequest


def _did_you_mean(options: Sequence[str]) -> str:
    if not options:
        return ""
    return " Did you mean " + " or ".join(f"`{o}`" for o in options) + "?"


def _usage(usage: str) -> str:
    return f"\nUsage: `{usage}`" if usage else ""


def _shown(word: str, limit: int = 40) -> str:
    """A word a person typed, safe to echo: short, and no backticks or Slack <...> markup."""
    short = word if len(word) <= limit else word[:limit] + "…"
    return short.replace("`", "'").replace("<", "‹").replace(">", "›")


# --- parsing -----------------------------------------------------------------


def too_long(length: int, limit: int) -> str:
    return f"That command is {length} characters long; the limit is {limit}. Shorten it."


def control_characters() -> str:
    return "That command contains control characters. Type it again as plain text."


def unbalanced_quotes(detail: str) -> str:
    return f"Could not read that command ({detail.lower()}). Close every quote you open."


def word_too_long(what: str, length: int, limit: int, usage: str) -> str:
    return (
        f"<{what}>: a word of {length} characters; words here are at most {limit}.{_usage(usage)}"
    )


def not_plain(what: str, word: str, odd: str, usage: str) -> str:
    name = unicodedata.name(odd, "a control character")
    folded = unicodedata.normalize("NFKC", word)
    hint = (
        f" (did you mean `{_shown(folded)}`?)" if folded.isascii() and folded.isprintable() else ""
    )
    return (
        f"<{what}>: `{_shown(word)}` contains {name} (U+{ord(odd):04X}), which is not a plain "
        f"ASCII character; it may look like another letter{hint}. Names, choices and numbers "
        f"here are plain ASCII: type it again with plain letters.{_usage(usage)}"
    )


def target_pattern(word: str, usage: str) -> str:
    return (
        f"<targets>: `{_shown(word)}` is an Ansible host pattern (`all`, `*`, `!`, `&`, `~`, "
        f"`@` or a list); toilbot takes one host or group name from the inventory, unless "
        f"policy.patterns in toilbot.yaml lists that exact pattern. Name a host or a group."
        f"{_usage(usage)}"
    )


def bad_target_name(word: str, usage: str) -> str:
    return (
        f"<targets>: `{_shown(word)}` is not a host or group name: names are letters, digits, "
        f"'.', '_' and '-'.{_usage(usage)}"
    )


def pattern_matches_nothing(pattern: str, usage: str) -> str:
    return f"<targets>: `{_shown(pattern)}` matches no host.{_usage(usage)}"


def unknown_command(word: str, suggestions: Sequence[str]) -> str:
    word = _shown(word)
    return f"There is no command `{word}`.{_did_you_mean(suggestions)} Type `help` for the list."


def unknown_flag(token: str, suggestions: Sequence[str], usage: str) -> str:
    options = [f"--{s}" for s in suggestions]
    hint = _did_you_mean(options)
    return f"`{_shown(token)}` is not an option of this command.{hint}{_usage(usage)}"


def repeated_flag(option: str, usage: str) -> str:
    return f"`--{option}` is given twice. Give it once.{_usage(usage)}"


def flag_takes_no_value(option: str, usage: str) -> str:
    return f"`--{option}` is a switch and takes no value.{_usage(usage)}"


def flag_needs_value(option: str, placeholder: str, usage: str) -> str:
    return f"`--{option}` needs a value: `--{option} {placeholder}`.{_usage(usage)}"


def missing_argument(name: str, usage: str) -> str:
    return f"Missing <{name}>.{_usage(usage)}"


def expected_word(expected: str, got: str, usage: str) -> str:
    return f"Expected `{expected}` where you wrote `{_shown(got)}`.{_usage(usage)}"


def unexpected_word(word: str, usage: str) -> str:
    return f"Unexpected `{_shown(word)}` at the end of the command.{_usage(usage)}"


def unknown_target(name: str, suggestions: Sequence[str], usage: str) -> str:
    return (
        f"<targets>: `{_shown(name)}` is not a host or group in the inventory."
        f"{_did_you_mean(suggestions)}{_usage(usage)}"
    )


def bad_choice(
    param: str, value: str, choices: Sequence[str], suggestions: Sequence[str], usage: str
) -> str:
    allowed = ", ".join(choices)
    hint = _did_you_mean(suggestions)
    return f"<{param}>: `{_shown(value)}` is not allowed (allowed: {allowed}).{hint}{_usage(usage)}"


def bad_number(param: str, value: str, low: int | None, high: int | None, usage: str) -> str:
    shown = _shown(value)
    return f"<{param}>: `{shown}` is not a whole number from {low} to {high}.{_usage(usage)}"


def bad_duration(param: str, value: str, low: int | None, high: int | None, usage: str) -> str:
    span = f" from {seconds_text(low or 0)} to {seconds_text(high or 0)}"
    shown = _shown(value)
    return f"<{param}>: `{shown}` is not a duration{span} (write e.g. 90s, 30m, 2h).{_usage(usage)}"


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


def not_allowed(user: str, command: str, rule: str) -> str:
    return (
        f"You ({user}) may not run `{command}`: {rule}. `whoami` shows what you may run; "
        "ask an admin to change policy.roles in toilbot.yaml if you need this."
    )


def rate_limited(rate: str, wait: float) -> str:
    return (
        f"Slow down: you have sent more than {rate} commands (policy.rate_limit). "
        f"Nothing was run. Try again in {seconds_text(max(1, wait))}."
    )


def rule_text(
    what: str,
    targets: Sequence[str],
    args: Sequence[tuple[str, Sequence[str]]],
    channels: Sequence[str],
    confirm: str | None,
    max_hosts: int | None,
) -> str:
    parts = [what]
    if targets:
        parts.append(f"on {', '.join(targets)}")
    for name, values in args:
        parts.append(f"with {name} {' or '.join(values)}")
    text = " ".join(parts)
    if channels:
        text += f", from {' or '.join(channels)}"
    if max_hosts is not None:
        text += f", at most {max_hosts} hosts"
    if confirm == "approve":
        text += ", needs approval by a second person"
    elif confirm == "confirm":
        text += ", needs confirmation"
    return text


def rule_no_permission() -> str:
    return "needs no permission"


def rule_grants(role: str, granted: str) -> str:
    return f"role {role} grants {granted}"


def rule_allows(role: str, rule: str, key: str) -> str:
    return f"role {role} allows {rule} ({key})"


def rule_capped(roles: str, cap: int) -> str:
    return f"role {roles} allows at most {cap} hosts per command"


def rule_none_grants(user: str, permission: str) -> str:
    return f"no role of {user} grants {permission}"


def rule_none_holds(misses: Sequence[str]) -> str:
    return "no rule allows it: " + "; ".join(misses)


def rule_miss(role: str, rule: str, problem: str) -> str:
    return f"role {role} allows {rule}, but {problem}"


def rule_needs_channel(channels: Sequence[str], here: str | None) -> str:
    where = (
        "console and exec are outside Slack, so they have no channel"
        if here is None
        else f"this came from {here}"
    )
    return f"only from {' or '.join(channels)} ({where})"


def rule_needs_targets(command: str) -> str:
    return f"`{command}` has no targets, and this rule covers commands on its targets only"


def rule_outside_targets(outside: Sequence[str], targets: Sequence[str]) -> str:
    shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    return f"{shown} {'is' if len(outside) == 1 else 'are'} not in {', '.join(targets)}"


def rule_needs_argument(command: str, name: str) -> str:
    return f"`{command}` has no argument {name}"


def rule_argument_not_allowed(name: str, given: str, allowed: Sequence[str]) -> str:
    return f"{name} is {_shown(given)}, not {' or '.join(allowed)}"


# --- who may run what ----------------------------------------------------------


def groups_unavailable() -> str:
    return (
        "Slack is not configured here, so Slack user groups resolve to nobody "
        "(roles given to a user group do not apply)"
    )


def group_unreadable(group: str, error: str) -> str:
    return f"user group {group} could not be read from Slack ({error}); it counts as empty"


def policy_loaded(path: str, when: str) -> str:
    return f"Policy: loaded from {path} at {when}."


def policy_stale(path: str, when: str, error: str) -> str:
    return (
        f"Policy: STALE. {path} changed at {when}, but its policy was refused: {error}. "
        "The last good policy stays in force until the file is fixed (`toilbot check`)."
    )


def policy_check_running() -> str:
    return (
        "A running toilbot keeps its last good policy until this is fixed; `whoami` there "
        "says the policy is stale and why"
    )


def whoami(
    user: str,
    groups: Sequence[str],
    notes: Sequence[str],
    roles: Sequence[tuple[str, Sequence[str]]],
    rules: Sequence[str],
    rate: str | None,
    policy: str,
) -> str:
    lines = [f"You are {user}."]
    group_text = ", ".join(groups) if groups else "none of those the policy names"
    lines.append(f"Slack user groups: {group_text}.")
    lines += [f"  Note: {n}." for n in notes]
    if roles:
        named = [f"{name} ({', '.join(via)})" for name, via in roles]
        lines.append(f"Roles: {', '.join(named)}.")
        lines.append("They allow:")
        lines += [f"  {r}" for r in rules]
    else:
        lines.append("Roles: none, so you may run only commands that need no permission.")
    lines.append(
        f"Rate limit: {rate} per person." if rate else "Rate limit: none (policy.rate_limit: off)."
    )
    lines.append(policy)
    return "\n".join(lines)


def can_usage() -> str:
    return (
        "Write `can <@user> <command ...>`, e.g. `can @alice restart nginx on web`, or with a "
        "user id: `can U024BE7LH status db`."
    )


def can_answer(
    user: str, command: str, where: str, allowed: bool, rule: str, notes: Sequence[str]
) -> str:
    verdict = "may" if allowed else "may not"
    lines = [f"{user} {verdict} run `{command}` {where}: {rule}."]
    lines += [f"  Note: {n}." for n in notes]
    return "\n".join(lines)


def where_text(channel: str | None) -> str:
    return "outside Slack (console or exec)" if channel is None else f"from {channel}"


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


# --- approvals ---------------------------------------------------------------


def clock(timestamp: float) -> str:
    """A time of day in UTC, as approval requests show their expiry."""
    return _dt.datetime.fromtimestamp(timestamp, _dt.UTC).strftime("%H:%M UTC")


def _people(users: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users) or "nobody yet"


def _hosts_text(hosts: Sequence[str]) -> str:
    shown = ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")
    return f"{len(hosts)} host{'' if len(hosts) == 1 else 's'}: {shown}"


def approval_requested(request_id: int, command: str, quorum: int, expires_at: float) -> str:
    who = "someone" if quorum == 1 else f"{quorum} people"
    return (
        f"`{command}` needs approval by {who} with the `approve` permission, other than you. "
        f"Approval request {request_id} is waiting until {clock(expires_at)}; nothing runs "
        f"before. An approver presses Approve in Slack or types `approve {request_id}`."
    )


def approval_posted(request_id: int) -> str:
    return f"Approval request {request_id} is posted in this conversation for an approver."


def approval_not_posted(request_id: int, error: str) -> str:
    return (
        f"Approval request {request_id} could not be posted here ({error}). Invite the bot "
        f"(`/invite @toilbot`), or ask an approver to type `/ops approve {request_id}`."
    )


def approval_message(request: ApprovalRequest) -> str:
    """The request as it is now: the Slack request message, and `approvals` entries."""
    head = (
        f"*Approval request {request.id}* · <@{request.requester}> asks to run "
        f"`{request.command}` on {_hosts_text(request.hosts)}."
    )
    need = "1 approval" if request.quorum == 1 else f"{request.quorum} approvals"
    rule = (
        f"Needs {need} by people with the `approve` permission, not the requester, "
        f"before {clock(request.expires_at)}. Command hash `{request.short_digest}`."
    )
    state = request.state.value
    if state == "pending":
        count = len(request.approvers)
        status = f"Approved by {_people(request.approvers)} ({count} of {request.quorum})."
    elif state in ("approved", "executed"):
        job = f"; running as job {request.job_id}" if request.job_id else ""
        status = f"*Approved* by {_people(request.approvers)}{job}."
    elif state == "denied":
        status = f"*Denied* by <@{request.decided_by}>{_reason(request.reason)} Nothing was run."
    elif state == "expired":
        status = "*Expired*: not approved in time. Nothing was run."
    else:
        status = f"*Not run*: {request.reason}"
    return "\n".join((head, rule, status))


def _reason(reason: str | None) -> str:
    return f": {reason}." if reason else "."


def approval_event(
    state: str,
    code: str,
    who: str,
    approvers: Sequence[str],
    quorum: int,
    job_id: int | None,
    reason: str | None,
) -> str:
    """One line in the request's thread for each change."""
    if code == "counted":
        return f"Approved by <@{who}> ({len(approvers)} of {quorum}); waiting for more."
    if code == "approved":
        return f"Approved by <@{who}> ({len(approvers)} of {quorum}): approval complete."
    if state == "executed":
        return f"Running as job {job_id}, exactly the approved command."
    if state == "denied":
        return f"Denied by <@{who}>{_reason(reason)} Nothing was run."
    if state == "expired":
        return "Expired: not approved in time. Nothing was run; ask again if it is still needed."
    return f"Not run: {reason}"


def no_such_approval(request_id: int) -> str:
    return f"There is no approval request {request_id}. Type `approvals` for the open ones."


def bad_approval_id(text: str, usage: str) -> str:
    return f"`{text}` is not an approval request number.{_usage(usage)}"


def cannot_approve_own() -> str:
    return (
        "You cannot approve your own command: someone else with the `approve` permission "
        "must approve it."
    )


def not_an_approver(user: str) -> str:
    return (
        f"You ({user}) may not approve or deny commands: that needs the `approve` permission, "
        "which none of your roles grants."
    )


def approval_already_counted(request_id: int, count: int, quorum: int) -> str:
    return f"You already approved request {request_id} ({count} of {quorum}); it counts once."


def approval_counted(request_id: int, count: int, quorum: int) -> str:
    more = quorum - count
    return (
        f"Your approval of request {request_id} is recorded ({count} of {quorum}); "
        f"{more} more approver{'' if more == 1 else 's'} needed."
    )


def approval_expired(request_id: int, expires_at: float) -> str:
    return (
        f"Approval request {request_id} expired at {clock(expires_at)}; nothing was run. "
        "The requester can ask again."
    )


def approval_closed(request_id: int, state: str, job_id: int | None) -> str:
    detail = f" (job {job_id})" if job_id else ""
    return (
        f"Approval request {request_id} is already {state}{detail}; nothing more was run. "
        "A command runs once per approval: ask again for a new one."
    )


def approval_stale(request_id: int, reason: str) -> str:
    return (
        f"Approval request {request_id} was not run: {reason}. Ask for the command again; "
        "it needs a new approval."
    )


def command_changed(before: Sequence[str], now: Sequence[str]) -> str:
    return (
        f"the command now resolves to {', '.join(now) or 'no hosts'} instead of {', '.join(before)}"
    )


def command_unresolvable(error: str) -> str:
    return f"the command no longer resolves ({error})"


def command_hash_changed(digest: str) -> str:
    return f"the command no longer matches the approved one (hash `{digest}`)"


def requester_lost_permission(rule: str) -> str:
    return f"the requester may no longer run it ({rule})"


def approval_denied(request_id: int) -> str:
    return f"Approval request {request_id} is denied; nothing was run."


def approvals_list(requests: Sequence[ApprovalRequest]) -> str:
    lines = ["Waiting for approval:"]
    for r in requests:
        lines.append(
            f"  {r.id}  `{r.command}` by {r.requester} · {len(r.approvers)} of {r.quorum} "
            f"· expires {clock(r.expires_at)}"
        )
    lines.append("Approve with `approve <id>`, refuse with `deny <id> [reason]`.")
    return "\n".join(lines)


def no_pending_approvals() -> str:
    return "No commands are waiting for approval."


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
    return f"`{_shown(text)}` is not a job id. Job ids are numbers; `jobs` lists recent ones."


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


# --- schedules ---------------------------------------------------------------


def moment(epoch: int, timezone: str) -> str:
    """A fire time as the people of ``timezone`` read it: Sun 2026-11-29 03:00 CET."""
    local = datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo(timezone))
    return local.strftime("%a %Y-%m-%d %H:%M:%S %Z").replace(":00 ", " ", 1)


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


def schedule_usage(usage: str) -> str:
    return f"A schedule needs a quoted command and when to run it.{_usage(usage)}"


def schedule_expected_timing(word: str, usage: str) -> str:
    return f"Expected `cron` or `every` after the command, got `{word}`.{_usage(usage)}"


def schedule_unknown_option(word: str, options: Sequence[str], usage: str) -> str:
    shown = ", ".join(f"`{o}`" for o in options)
    return f"`{word}` is not a schedule option; use {shown}.{_usage(usage)}"


def schedule_option_needs_value(option: str, usage: str) -> str:
    return f"`{option}` needs a value after it.{_usage(usage)}"


def schedule_tz_with_every(usage: str) -> str:
    return (
        "`tz` goes with `cron`: an `every` schedule runs at fixed intervals whatever the "
        f"timezone.{_usage(usage)}"
    )


def schedule_bad_name(name: str) -> str:
    return (
        f"`{name}` cannot be a name here: use lower-case letters, digits and dashes, "
        "up to 40, e.g. `web-sunday`."
    )


def schedule_bad_channel(channel: str) -> str:
    return f"`{channel}` is not a channel: write `#ops` or a channel id such as `C0123`."


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


def no_such_schedule(name: str, suggestions: Sequence[str]) -> str:
    return (
        f"There is no schedule `{name}`.{_did_you_mean(suggestions)}"
        " Type `schedule list` to see them."
    )


def unknown_schedule_verb(word: str, suggestions: Sequence[str], usage: str) -> str:
    return (
        f"`schedule {word}` is not a schedule command.{_did_you_mean(suggestions)} "
        "Use `schedule list|show|add|pause|resume|remove|skip`."
        f"{_usage(usage)}"
    )


def schedule_name_taken(name: str, in_config: bool) -> str:
    where = "in toilbot.yaml" if in_config else "already"
    return f"A schedule named `{name}` exists {where}. Choose another with `name <name>`."


def schedule_in_config(name: str, origin: str) -> str:
    return (
        f"Schedule `{name}` is declared in {origin}; remove it there (or `schedule pause "
        f"{name}` to stop it now)."
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


def schedule_heads_up(name: str, command: str, owner: str, fire: int, timezone: str) -> str:
    return (
        f":alarm_clock: Scheduled run at {moment(fire, timezone)}: `{command}` "
        f"(schedule `{name}`, owner <@{owner}>). Skip it with the button or "
        f"`schedule skip {name}`."
    )


def schedule_skipped_by(name: str, user: str) -> str:
    return f"Skipped this run of schedule `{name}`: <@{user}> asked to skip it."


def schedule_outside_window(name: str, window: str) -> str:
    return (
        f"Skipped this run of schedule `{name}`: it is outside the maintenance window `{window}`."
    )


def schedule_frozen(name: str, freeze: str, until: int, timezone: str) -> str:
    return (
        f"Skipped this run of schedule `{name}`: change freeze `{freeze}` is on until "
        f"{moment(until, timezone)}."
    )


def schedule_refused(name: str, owner: str, reason: str) -> str:
    return f"Scheduled run of `{name}` (owner <@{owner}>) was refused, nothing ran: {reason}"


def schedule_missed(
    name: str, count: int, more: bool, first: int, last: int, window: int, timezone: str
) -> str:
    many = f"more than {count - 1}" if more else str(count)
    span = moment(first, timezone)
    if count > 1:
        span += f" to {moment(last, timezone)}"
    return (
        f"Skipped {many} run(s) of schedule `{name}` due {span}: no scheduler was running "
        f"then, and they are older than its {seconds_text(window)} window. Nothing is made up."
    )


def frozen(command: str, freeze: str, until: int, timezone: str) -> str:
    return (
        f"`{command}` changes hosts, and change freeze `{freeze}` is on until "
        f"{moment(until, timezone)}. Nothing was queued. Run it with --check, or ask an "
        "approver for an override."
    )


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
    data: dict[str, Any],
    when: str,
    upcoming: Sequence[str],
    paused_by: str | None,
    history: Sequence[tuple[str, str, str, str]],
    schedulers: tuple[int, str | None],
) -> str:
    lines = [
        f"Schedule `{data['name']}`: `{data['command']}` {when}",
        f"Owner <@{data['owner']}>; window {seconds_text(data['window'])}; heads-up "
        + (seconds_text(data["heads_up"]) if data["heads_up"] else "none")
        + f"; channel {data['channel'] or 'none'}"
        + (f"; only during `{data['during']}`" if data["during"] else "")
        + f"; from {data['origin']}.",
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


def scheduler_started(replica: str) -> str:
    return (
        f"Scheduler {replica} started. Any number may run: one leads, the others take over "
        "within the lease if it stops. Ctrl-C hands the lead over at once."
    )


def _week_change(rows: Sequence[tuple[Any, ...]], column: int) -> str:
    last = rows[-1][column] if rows else None
    before = rows[-2][column] if len(rows) > 1 else None
    if last is None or before is None:
        return ""
    return f"Week on week: {round((last - before) * 100):+d} points. "


def toil_person_report(
    user: str,
    rows: Sequence[tuple[str, float, float, float | None]],
    quarter: float | None,
    thresholds: Any,
) -> str:
    lines = [
        f"<@{user}>'s toil ratio by week (target {percent(thresholds.target)}, limit "
        f"{percent(thresholds.action)}):",
        "  week       operating  coding  ratio",
    ]
    for week, operating, coding, ratio in rows:
        lines.append(f"  {week}  {hours(operating):>9}  {hours(coding):>6}  {percent(ratio)}")
    lines.append(f"{_week_change(rows, 3)}Quarter to date: {percent(quarter)}.")
    return "\n".join(lines)


def bad_report_target(word: str, usage: str) -> str:
    return (
        f"`{word}` is neither `team` nor a person (write @name or a user id such as "
        f"U0123).{_usage(usage)}"
    )


def bad_zone(word: str, usage: str) -> str:
    return (
        f"`{word}` is not an IANA timezone (write e.g. Europe/Oslo or America/New_York; `slack` "
        f"goes back to your Slack profile's).{_usage(usage)}"
    )


def toil_zone(name: str, source: str) -> str:
    return (
        f"Your timezone: {name} ({source}). `toil log 09:00-11:30 ...` and `on <date>` use it; "
        "weeks follow the team's timezone."
    )


def still_working(kind: str, category: str, started: str, until: str) -> str:
    return (
        f"Still working? Your timer ({kind}, {category}) started at {started} and counts only up "
        f"to {until} unless you keep it going."
    )


def still_working_kept(until: str) -> str:
    return f"Kept going: the timer counts until {until}; I will ask again then."


def still_working_stopped(reply: str) -> str:
    return f"Stopped. {reply}"


def timer_gone() -> str:
    return "That timer is no longer running; nothing changed."


def decimal_hours(seconds: float) -> str:
    """Team totals: 1234.5h (never days, which would hide the scale of the bars)."""
    return f"{seconds / 3600:.1f}h"


def weekly_summary(summary: Any, names: bool) -> str:
    """The channel's weekly summary; ``summary`` is a bot.toil.summary.Summary."""
    limits = summary.thresholds
    lines = [
        f"*Toil ratio, week {summary.week}* ({summary.timezone}): *{percent(summary.ratio)}* "
        f"operating (target {percent(limits.target)}, limit {percent(limits.action)}; "
        f"{summary.level}).",
        f"Last {len(summary.weeks)} weeks, people with data (ratio over them "
        f"{percent(summary.trend)}):",
    ]
    for row in summary.weeks:
        lines.append(
            f"  {row.week}  operating {decimal_hours(row.operating)}  coding "
            f"{decimal_hours(row.coding)}  ratio {percent(row.ratio)}"
        )
    change = (
        f"Week on week: {round(summary.change * 100):+d} points. "
        if summary.change is not None
        else ""
    )
    lines.append(f"{change}Quarter to date: {percent(summary.quarter)}.")
    if summary.categories:
        top = ", ".join(f"{name} {decimal_hours(s)}" for name, s in summary.categories)
        lines.append(f"Top toil categories: {top}.")
    if summary.commands:
        top = "; ".join(
            f"`{c.spec}` {c.runs} run{'s' if c.runs != 1 else ''}, {hours(c.hands_on)} hands-on, "
            f"{hours(c.saved)} saved"
            for c in summary.commands
        )
        lines.append(f"Commands: {top}.")
    lines.append(f"Toil saved by automation: {hours(summary.saved)} (not in the hours above).")
    if summary.at_limit:
        lines.append("*At or past the limit: rebalance with the product team.*")
    if names:
        people = [f"<@{user}> {percent(rows[-1].ratio)}" for user, rows in summary.people.items()]
        if people:
            lines.append("This week by person: " + ", ".join(people) + ".")
    else:
        lines.append("Everyone gets their own figures in a DM.")
    return "\n".join(lines)


def weekly_summary_dm(
    week: str, rows: Sequence[Any], team_ratio: float | None, thresholds: Any
) -> str:
    """A person's own weekly figures; ``rows`` are bot.toil.summary.WeekRow, oldest first."""
    mine = rows[-1]
    lines = [
        f"Your toil week {week}: operating {hours(mine.operating)}, coding {hours(mine.coding)}, "
        f"ratio {percent(mine.ratio)} (target {percent(thresholds.target)}, limit "
        f"{percent(thresholds.action)}; team {percent(team_ratio)}).",
        "Your last weeks:",
    ]
    for row in rows:
        lines.append(
            f"  {row.week}  operating {hours(row.operating)}  coding {hours(row.coding)}  "
            f"ratio {percent(row.ratio)}"
        )
    if mine.ratio is None:
        lines.append("No data is not 0%: the ratio needs 4 hours of operating plus coding.")
    return "\n".join(lines)


def summary_chart_title(first: str, last: str) -> str:
    return f"Toil ratio, {first} to {last}"


def summary_no_channel() -> str:
    return (
        "The weekly summary has no channel: set toil.summary.channel in toilbot.yaml "
        '(e.g. "#ops"), or preview it with `toilbot toil summary --png chart.png`.'
    )


def import_row(line: int, problem: str) -> str:
    """``line`` > 0: a line of a CSV file; < 0: the -line'th row of a JSON list."""
    return f"line {line}: {problem}" if line > 0 else f"row {-line}: {problem}"


def import_refused(path: str, problems: Sequence[str]) -> str:
    shown = list(problems[:50])
    more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
    return (
        f"Nothing imported from {path}: {len(problems)} bad row"
        f"{'s' if len(problems) != 1 else ''}. Fix them and import the whole file again.\n"
        + "\n".join(shown)
        + more
    )


def imported(count: int, path: str, first: str, last: str) -> str:
    return f"Imported {count} entries from {path} ({first} to {last})."


def unreadable_file(path: str, reason: str) -> str:
    return f"Cannot read {path}: {reason}."


def bad_since(text: str) -> str:
    return (
        f"`{text}` is not a date or time (write 2026-11-01, or 2026-11-01T09:00:00+01:00); "
        "a date starts at midnight in the team's timezone."
    )


def summary_posted(channel: str, week: str, dms: int, failed: dict[str, str]) -> str:
    text = f"Posted the summary of {week} to {channel} with its chart; {dms} people got a DM."
    if failed:
        text += " No DM for: " + ", ".join(f"{u} ({e})" for u, e in failed.items()) + "."
    return text


def chart_written(path: str) -> str:
    return f"Chart written to {path}."


def home_toil(rows: Sequence[Any], thresholds: Any, running: tuple[str, str, float] | None) -> str:
    """App Home: this week's ratio, the running timer, the last weeks (rows oldest first)."""
    this = rows[-1]
    lines = [
        f"*Your toil ratio this week ({this.week})*: {percent(this.ratio)} (target "
        f"{percent(thresholds.target)}, limit {percent(thresholds.action)}; "
        f"{thresholds.level(this.ratio)})",
    ]
    if running:
        lines.append(f"Timer running: {running[0]} ({running[1]}) for {hours(running[2])}.")
    else:
        lines.append("No timer running. `/toil start operating interrupts` starts one.")
    lines.append(f"*Your last {len(rows)} weeks*")
    for row in rows:
        lines.append(
            f"{row.week}: operating {hours(row.operating)}, coding {hours(row.coding)}, "
            f"ratio {percent(row.ratio)}"
        )
    return "\n".join(lines)


def scheduled_needs_approval(command: str) -> str:
    return (
        f"`{command}` needs two-person approval for every run, and nobody is there to approve "
        "a scheduled one. Schedule it in check mode, or change the rule that asks for approval."
    )


def freeze_override(freeze: str, until: int, timezone: str, request: str) -> str:
    return (
        f"Change freeze `{freeze}` is on until {moment(until, timezone)}: this change needs an "
        f"approved override.\n{request}"
    )


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


def schedule_help() -> tuple[str, ...]:
    return (
        '  schedule add "<command>" cron "<minute hour day month weekday>" [tz <zone>]',
        '  schedule add "<command>" every <90s|30m|1h>',
        "    options: window <2h> (how late a run may start after an outage), heads-up <15m>,",
        "    during <maintenance window>, name <name>, channel <#channel>",
        "  schedule list | show <name> | pause <name> | resume <name> | remove <name>",
        "  schedule skip <name>: skip its next run (the owner, or the `schedule` permission)",
        "Adding and changing need the `schedule` permission; the owner's permission to run the",
        "command is checked again at every run. Runs missed while no scheduler ran: the newest",
        "runs once if still inside its window, the others are skipped and announced.",
    )
