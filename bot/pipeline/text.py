"""What the pipeline says: parse errors, policy refusals, `whoami` and `can`, confirmation,
approval steps, freezes and queued jobs.

Every sentence a person reads is a function here or in another package's ``text.py``;
only modules of ``bot.pipeline`` import this one. Plain text with Slack mrkdwn backticks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from bot.platform.formatting import did_you_mean, echoed, seconds_text, usage_line, when

# --- parsing -----------------------------------------------------------------


def too_long(length: int, limit: int) -> str:
    return f"That command is {length} characters long; the limit is {limit}. Shorten it."


def control_characters() -> str:
    return "That command contains control characters. Type it again as plain text."


def unbalanced_quotes(detail: str) -> str:
    return f"Could not read that command ({detail.lower()}). Close every quote you open."


def word_too_long(what: str, length: int, limit: int, usage: str) -> str:
    return (
        f"<{what}>: a word of {length} characters; words here are at most {limit}."
        f"{usage_line(usage)}"
    )


def not_plain(what: str, word: str, odd: str, usage: str) -> str:
    name = unicodedata.name(odd, "a control character")
    folded = unicodedata.normalize("NFKC", word)
    hint = (
        f" (did you mean `{echoed(folded)}`?)" if folded.isascii() and folded.isprintable() else ""
    )
    return (
        f"<{what}>: `{echoed(word)}` contains {name} (U+{ord(odd):04X}), which is not a plain "
        f"ASCII character; it may look like another letter{hint}. Names, choices and numbers "
        f"here are plain ASCII: type it again with plain letters.{usage_line(usage)}"
    )


def target_pattern(word: str, usage: str) -> str:
    return (
        f"<targets>: `{echoed(word)}` is an Ansible host pattern (`all`, `*`, `!`, `&`, `~`, "
        f"`@` or a list); toilbot takes one host or group name from the inventory, unless "
        f"policy.patterns in toilbot.yaml lists that exact pattern. Name a host or a group."
        f"{usage_line(usage)}"
    )


def bad_target_name(word: str, usage: str) -> str:
    return (
        f"<targets>: `{echoed(word)}` is not a host or group name: names are letters, digits, "
        f"'.', '_' and '-'.{usage_line(usage)}"
    )


def pattern_matches_nothing(pattern: str, usage: str) -> str:
    return f"<targets>: `{echoed(pattern)}` matches no host.{usage_line(usage)}"


def unknown_command(word: str, suggestions: Sequence[str]) -> str:
    word = echoed(word)
    return f"There is no command `{word}`.{did_you_mean(suggestions)} Type `help` for the list."


def unknown_flag(token: str, suggestions: Sequence[str], usage: str) -> str:
    options = [f"--{s}" for s in suggestions]
    hint = did_you_mean(options)
    return f"`{echoed(token)}` is not an option of this command.{hint}{usage_line(usage)}"


# bot.schedule.text has its own copy of repeated_flag and bad_duration, for `schedule add`.
def repeated_flag(option: str, usage: str) -> str:
    return f"`--{option}` is given twice. Give it once.{usage_line(usage)}"


def flag_takes_no_value(option: str, usage: str) -> str:
    return f"`--{option}` is a switch and takes no value.{usage_line(usage)}"


def flag_needs_value(option: str, placeholder: str, usage: str) -> str:
    return f"`--{option}` needs a value: `--{option} {placeholder}`.{usage_line(usage)}"


def missing_argument(name: str, usage: str) -> str:
    return f"Missing <{name}>.{usage_line(usage)}"


def expected_word(expected: str, got: str, usage: str) -> str:
    return f"Expected `{expected}` where you wrote `{echoed(got)}`.{usage_line(usage)}"


def unexpected_word(word: str, usage: str) -> str:
    return f"Unexpected `{echoed(word)}` at the end of the command.{usage_line(usage)}"


def unknown_target(name: str, suggestions: Sequence[str], usage: str) -> str:
    return (
        f"<targets>: `{echoed(name)}` is not a host or group in the inventory."
        f"{did_you_mean(suggestions)}{usage_line(usage)}"
    )


def bad_choice(
    param: str, value: str, choices: Sequence[str], suggestions: Sequence[str], usage: str
) -> str:
    allowed = ", ".join(choices)
    hint = did_you_mean(suggestions)
    shown = echoed(value)
    return f"<{param}>: `{shown}` is not allowed (allowed: {allowed}).{hint}{usage_line(usage)}"


def bad_number(param: str, value: str, low: int | None, high: int | None, usage: str) -> str:
    shown = echoed(value)
    return f"<{param}>: `{shown}` is not a whole number from {low} to {high}.{usage_line(usage)}"


def bad_duration(param: str, value: str, low: int | None, high: int | None, usage: str) -> str:
    span = f" from {seconds_text(low or 0)} to {seconds_text(high or 0)}"
    shown = echoed(value)
    return (
        f"<{param}>: `{shown}` is not a duration{span} (write e.g. 90s, 30m, 2h)."
        f"{usage_line(usage)}"
    )


# --- policy ------------------------------------------------------------------


def denied(user: str, command: str, permission: str) -> str:
    return (
        f"You (<@{user}>) may not run `{command}`: it needs the `{permission}` permission, "
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
        f"You (<@{user}>) may not run `{command}`: {rule}. `whoami` shows what you may run; "
        "ask an admin to change policy.roles in toilbot.yaml if you need this."
    )


def rate_limited(rate: str, wait: float) -> str:
    return (
        f"Slow down: you have sent more than {rate} commands (policy.rate_limit). "
        f"Nothing was run. Try again in {seconds_text(max(1, wait))}."
    )


# --- who may run what: whoami and can -----------------------------------------


def policy_loaded(path: str, when: str) -> str:
    return f"Policy: loaded from {path} at {when}."


def policy_stale(path: str, when: str, error: str) -> str:
    return (
        f"Policy: STALE. {path} changed at {when}, but its policy was refused: {error}. "
        "The last good policy stays in force until the file is fixed (`toilbot check`)."
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
    lines = [f"You are <@{user}>."]
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


# --- confirmation and approvals ------------------------------------------------


def confirm_prompt(command: str, hosts: Sequence[str]) -> str:
    shown = ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")
    return f"`{command}` will change {len(hosts)} host(s): {shown}. Confirm to run it."


def approval_requested(request_id: int, command: str, quorum: int, expires_at: float) -> str:
    who = "someone" if quorum == 1 else f"{quorum} people"
    return (
        f"`{command}` needs approval by {who} with the `approve` permission, other than you. "
        f"Approval request {request_id} is waiting until {when(expires_at)}; nothing runs "
        f"before. An approver presses Approve in Slack or types `approve {request_id}`."
    )


def no_such_approval(request_id: int) -> str:
    return f"There is no approval request {request_id}. Type `approvals` for the open ones."


def cannot_approve_own() -> str:
    return (
        "You cannot approve your own command: someone else with the `approve` permission "
        "must approve it."
    )


def not_an_approver(user: str) -> str:
    return (
        f"You (<@{user}>) may not approve or deny commands: that needs the `approve` permission, "
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
        f"Approval request {request_id} expired at {when(expires_at)}; nothing was run. "
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


# --- jobs --------------------------------------------------------------------


def queued(job_id: int, command: str, hosts: int, check_mode: bool) -> str:
    mode = " in check mode (nothing will change)" if check_mode else ""
    plural = "host" if hosts == 1 else "hosts"
    return f"Job {job_id} queued: `{command}` on {hosts} {plural}{mode}."


def internal_error(reference: str) -> str:
    return (
        f"Something went wrong inside toilbot (reference {reference}); nothing was queued. "
        "The details are in the bot's log."
    )


def audit_not_written(reason: str) -> str:
    return f"\n(Not written to the audit log: {reason})"


# --- freezes and schedules -----------------------------------------------------


def frozen(command: str, freeze: str, until: int) -> str:
    return (
        f"`{command}` changes hosts, and change freeze `{freeze}` is on until "
        f"{when(until)}. Nothing was queued. Run it with --check, or ask an "
        "approver for an override."
    )


def scheduled_needs_approval(command: str) -> str:
    return (
        f"`{command}` needs two-person approval for every run, and nobody is there to approve "
        "a scheduled one. Schedule it in check mode, or change the rule that asks for approval."
    )


def freeze_override(freeze: str, until: int, request: str) -> str:
    return (
        f"Change freeze `{freeze}` is on until {when(until)}: this change needs an "
        f"approved override.\n{request}"
    )


# --- help ----------------------------------------------------------------------


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
