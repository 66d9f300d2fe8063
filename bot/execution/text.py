"""What execution says about jobs: locks, cancelling, timeouts, failures and dead workers."""

from __future__ import annotations

from bot.platform.formatting import seconds_text


def host_locked(
    host: str, job_id: int, user: str | None, command: str | None, status: str | None
) -> str:
    who = f" (`{command}`, {status}, started by {user})" if user else ""
    return (
        f"{host} is locked by job {job_id}{who}: a host takes one change at a time. "
        f"Try again when job {job_id} ends (`job {job_id}`), or cancel it (`cancel {job_id}`)."
    )


def no_such_job(job_id: int) -> str:
    return f"There is no job {job_id}. `jobs` lists recent ones."


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


def console_cancelling(job_id: int) -> str:
    return f"\nCtrl-C: cancelling job {job_id}..."


def job_not_audited(job_id: int, reason: str) -> str:
    return (
        f"Not run: job {job_id} could not be written to the audit log, so it was stopped. {reason}"
    )


def lease_lost(why: str) -> str:
    return (
        f"this job lost its lease ({why}) and stopped its Ansible run so that no other "
        "change could overlap it; check the hosts' state with `status` before running it again"
    )


def processes_survived(count: int) -> str:
    return (
        f"{count} process(es) of the Ansible run could not be stopped, even with SIGKILL; "
        "the worker's host needs a look (`ps -e -o pid,stat,cmd | grep ansible`)"
    )
