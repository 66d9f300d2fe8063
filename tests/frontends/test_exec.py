"""`toilbot exec` and the harness end to end: real Redis, real RQ, real ansible-playbook."""

from __future__ import annotations

import json

import redis
from rq import Queue

from bot.platform.store import QUEUE, Keys
from tests.conftest import ADMIN, NOBODY, OPERATOR, VIEWER, toilbot_cli
from tests.harness import Harness


def test_exec_status_json_returns_real_facts(env, r):
    """An admin's `status localhost` runs the playbook and returns per-host facts as JSON."""
    proc = toilbot_cli(env, "exec", "--user", ADMIN, "--json", "status localhost")
    assert 0 == proc.returncode, proc.stdout + proc.stderr
    body = json.loads(proc.stdout)
    job = body["job"]
    assert (True, "succeeded", ["localhost"]) == (body["ok"], job["status"], job["hosts"])
    [result] = job["results"]
    assert "ok" == result["status"]
    report = result["report"]
    assert report["uptime"].endswith("m")
    assert int(report["pending_updates"]) >= 0
    assert report["reboot_required"] in (True, False)
    assert "Redis:" in proc.stderr


def test_denied_user_is_told_the_missing_permission_and_nothing_is_queued(env, r):
    """A user with no role is refused with the permission named; no job, no queue entry."""
    proc = toilbot_cli(env, "exec", "--user", NOBODY, "--json", "status localhost")
    assert 2 == proc.returncode
    body = json.loads(proc.stdout)
    assert (False, "refused") == (body["ok"], body["outcome"])
    assert "needs the `status` permission" in body["message"]
    assert 0 == r.zcard(Keys.jobs)
    assert 0 == Queue(QUEUE, connection=r).count
    assert "Traceback" not in proc.stderr


def test_exec_exit_codes_and_plain_output(env):
    """Plain output shows the per-host table; a failed job exits 1, a refusal 2."""
    ok = toilbot_cli(env, "exec", "status local")
    assert 0 == ok.returncode
    assert "Job 1 succeeded" in ok.stdout
    failed = toilbot_cli(env, "exec", "--yes", "restart nginx on localhost --check")
    assert 1 == failed.returncode
    assert "FAILED" in failed.stdout and "at task 'Restart the service'" in failed.stdout
    refused = toilbot_cli(env, "exec", "restart nginz on localhost")
    assert 2 == refused.returncode
    assert "Did you mean nginx?" in refused.stdout  # a terminal gets no mrkdwn
    assert "Usage: restart <nginx|cron|ssh|demo> on <targets>" in refused.stdout


def test_confirmation_is_required_outside_check_mode(env, r):
    """A command whose spec asks for confirmation does not run from exec without --yes."""
    proc = toilbot_cli(env, "exec", "--user", OPERATOR, "patch localhost")
    assert 2 == proc.returncode
    assert (
        "patch localhost needs confirmation and was not run. Add --yes to confirm it."
        in proc.stdout
    )
    assert 0 == r.zcard(Keys.jobs)


def test_bad_user_id_and_bad_config_exit_cleanly(env, tmp_path):
    """A malformed user id or toilbot.yaml is one clear line on stderr, never a traceback."""
    proc = toilbot_cli(env, "exec", "--user", "alice", "status localhost")
    assert 2 == proc.returncode
    assert "is not a Slack user id" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("inventory: [unclosed\n")
    proc = toilbot_cli({**env, "TOILBOT_CONFIG": str(bad)}, "exec", "status localhost")
    assert 3 == proc.returncode
    assert f"toilbot cannot start: {bad}: is not valid YAML at line" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_redis_is_a_clear_error(env):
    """A REDIS_URL that nothing answers says so and how to fix it."""
    proc = toilbot_cli({**env, "REDIS_URL": "redis://127.0.0.1:1/0"}, "exec", "jobs")
    assert 3 == proc.returncode
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in proc.stderr
    assert "unset REDIS_URL to use the embedded Redis" in proc.stderr


def test_transcript_patch_check_lists_updates_and_changes_nothing(harness: Harness):
    """`patch localhost --check` reports pending updates in check mode and changes nothing."""
    text = harness.say("patch localhost --check --cached")
    assert "in check mode (nothing will change)" in text
    assert "  localhost: ok (1/1 hosts done)" in text  # one line when its play ends
    assert "mode: check: nothing changed" in text
    assert "package lists: cached (--cached)" in text
    assert "pending updates: " in text
    assert 0 == harness.last_exit


def test_transcript_help_jobs_and_job(harness: Harness):
    """help, jobs and job read like a conversation."""
    index = harness.say("help")
    assert "• `patch <targets> [--check] [--security-only] [--serial N]" in index
    assert "]`: Apply pending package updates, batch by batch" in index
    detail = harness.say("help restart")
    assert (
        "<service>: the service to restart (only these) (one of: nginx, cron, ssh, demo)" in detail
    )
    assert "Needs permission `restart`" in detail
    assert "No jobs yet" in harness.say("jobs")
    harness.say("status localhost")
    listing = harness.say("jobs")
    assert "succeeded" in listing and "`status localhost`" in listing
    assert "Job 1 succeeded" in harness.say("job 1")
    assert "There is no job 99" in harness.say("job 99")
    assert "`abc` is not a job id" in harness.say("job abc")


def test_viewer_may_read_but_not_change(harness: Harness):
    """A viewer runs status but is refused patch, with the permission named."""
    assert "succeeded" in harness.say("status localhost", VIEWER)
    refusal = harness.say("patch localhost --check", VIEWER)
    assert "needs the `patch` permission" in refusal
    assert 2 == harness.last_exit


def test_template_syntax_is_refused_before_ansible(harness: Harness, r: redis.Redis):
    """`{{ lookup('pipe','id') }}` is refused as a target and as a service; nothing is queued."""
    for text in [
        "status \"{{ lookup('pipe','id') }}\"",
        "restart \"{{ lookup('pipe','id') }}\" on localhost",
    ]:
        reply = harness.say(text)
        assert "is not" in reply
        assert 2 == harness.last_exit
    assert 0 == r.zcard(Keys.jobs)


def test_output_is_bounded(harness: Harness, r: redis.Redis, settings):
    """A job keeps at most `output_lines` lines of Ansible output."""
    harness.say("patch localhost --check --cached")
    assert r.llen(Keys.job_output(1)) <= settings.jobs.output_lines
