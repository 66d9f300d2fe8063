"""What the Slack front end says: approval request messages and their threads, buttons'
answers, schedule heads-ups, still-working DMs, the weekly DM and the App Home.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.platform.formatting import hours, percent, typed, when

if TYPE_CHECKING:
    from bot.pipeline.approvals import ApprovalRequest
    from bot.toil.ratio import Thresholds
    from bot.toil.summary import WeekRow


# --- user groups ---------------------------------------------------------------


def group_unreadable(group: str, error: str) -> str:
    return f"user group {group} could not be read from Slack ({error}); it counts as empty"


# --- approvals ---------------------------------------------------------------


def _people(users: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users) or "nobody yet"


def _hosts_text(hosts: Sequence[str]) -> str:
    shown = ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")
    return f"{len(hosts)} host{'' if len(hosts) == 1 else 's'}: {shown}"


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
        f"before {when(request.expires_at)}. Command hash `{request.short_digest}`."
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
    return f": {typed(reason)}." if reason else "."


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


def confirmation_expired() -> str:
    return (
        "This confirmation has expired (prompts last 10 minutes), so this click ran nothing. "
        "Type the command again."
    )


def only_requester_confirms(user: str) -> str:
    return f"Only <@{user}>, who asked for this command, can confirm it."


# --- schedule heads-ups --------------------------------------------------------


def schedule_heads_up(name: str, command: str, owner: str, fire: int) -> str:
    return (
        f":alarm_clock: Scheduled run at {when(fire)}: `{command}` "
        f"(schedule `{name}`, owner <@{owner}>). Skip it with the button or "
        f"`schedule skip {name}`."
    )


# --- toil: still-working DMs, the weekly DM, the App Home -------------------------


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


def summary_chart_title(first: str, last: str) -> str:
    return f"Toil ratio, {first} to {last}"


def home_toil(
    rows: Sequence[WeekRow], thresholds: Thresholds, running: tuple[str, str, float] | None
) -> str:
    """App Home: this week's share, the running timer, the last weeks (rows oldest first).

    "No data" is said once: in the headline for this week, as "–" in the table for others.
    """
    from bot.toil.report import NO_SHARE, weeks_table
    from bot.toil.weeks import week_short, week_span

    this = rows[-1]
    limits = f"target {percent(thresholds.target)}, limit {percent(thresholds.action)}"
    when = f"{week_short(this.week)}, {week_span(this.week)}"
    if this.shown is None:
        head = (
            f"*Your toil this week ({when})*: no share yet, it needs 4 hours of operating "
            f"plus coding ({limits})."
        )
    else:
        head = f"*Your toil this week ({when}): {this.shown}% operating* ({limits})."
    lines = [head]
    if running:
        lines.append(f"Timer running: {running[0]} ({running[1]}) for {hours(running[2])}.")
    else:
        lines.append("No timer running. `/toil start operating interrupts` starts one.")
    if any(row.operating or row.coding or row.overhead for row in rows):
        lines.append(f"*Your last {len(rows)} weeks*")
        lines.append(weeks_table(rows, hours))
        if any(row.shown is None for row in rows[:-1]):
            lines.append(f"{NO_SHARE}: under 4 hours of operating plus coding.")
    else:
        lines.append(f"Nothing logged in your last {len(rows)} weeks.")
    return "\n".join(lines)


def home_timer_stopped(reply: str) -> str:
    """The line at the top of App Home after its Stop button was clicked."""
    return f":white_check_mark: *Timer stopped.* {reply}"


def home_running(any_running: bool) -> str:
    return "*Your running jobs*" if any_running else "*Your running jobs*\nNone right now."


def home_since(moment: str) -> str:
    return f"started {moment}"


def home_recent(any_recent: bool) -> str:
    return "*Your recent results*" if any_recent else "*Your recent results*\nNo jobs yet."


def home_footer() -> str:
    return "Type `/ops help` for the commands."


# --- audit ---------------------------------------------------------------------


def audit_requester_rule(user: str) -> str:
    return f"only the requester, {user}, confirms"


# --- requests refused or replayed (bot/frontends/slack/guard.py) -------------------


def already_received() -> str:
    """The answer to a copy of a slash command already received: it does not run again."""
    return "Already received: this command was sent before and is not run again."


def request_unsigned() -> str:
    return "Refused: this request is not signed by Slack with this app's signing secret."


def request_refused(reason: str) -> str:
    return f"Refused: the request has {reason}."


def reply_elsewhere(channel: str, error: str) -> str:
    """A DM: the answer to a mention could not be posted where the person asked."""
    return (
        f"I could not answer you in <#{channel}> ({error}); here is my answer. "
        "If I am not in that channel, `/invite` me there."
    )


# --- a click on a Confirm prompt that an earlier click answered ----------------------


def already_confirmed(job_id: int, status: str | None) -> str:
    now = f" and is {status} now" if status else ""
    stop = f" To stop it: `cancel {job_id}`." if status in ("queued", "running") else ""
    return (
        f"Already confirmed: job {job_id} was queued by the first click{now}. "
        f"This click ran nothing more; `job {job_id}` shows it.{stop}"
    )


def already_confirmed_no_job(answer: str) -> str:
    return f"Already confirmed; the first click was answered: {answer} This click ran nothing."


def already_confirming() -> str:
    return "Already confirmed: the command is being handled now. This click ran nothing more."


def already_declined() -> str:
    return "Already answered with Don't run it: nothing was run. Type the command again to run it."


# --- text too long for one Slack message (blocks.py) --------------------------------


def cut_to_fit(lines: int, job: int | None) -> str:
    """The note at the end of text cut to Slack's size for one message."""
    where = f" The whole of job {job} is a file in its message's thread." if job else ""
    return (
        f"_… {lines} more lines not shown: a Slack message holds about 12,000 characters._{where}"
    )


def more_hosts(count: int) -> str:
    return f"  … and {count} more hosts"


def results_in_file(hosts: int) -> str:
    return f"The per-host results of {hosts} hosts are in the thread, as a file."


def full_output(job: int) -> str:
    return f"Full output: `job {job}`"


def job_finished(user: str, outcome: str) -> str:
    """The reply in a job message's thread that tells its requester the job ended."""
    return f"<@{user}> {outcome}"


def job_text_only(outcome: str, job: int) -> str:
    """A job's final message when Slack refused its blocks: the outcome, where the rest is."""
    return f"{outcome}\nThe per-host results are a file in this thread; `job {job}` shows them too."


def identity_unknown(reason: str) -> str:
    """Where the start-up line names the bot: Slack could not say who it is."""
    return f"(unknown: Slack is not answering: {reason}; the bot starts and asks again later)"
