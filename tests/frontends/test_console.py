"""The local front ends as a person uses them: embedded Redis, the console, `toilbot check`."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import redis
import yaml
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.platform.store import socket_path
from tests.conftest import REPO, toilbot_cli


def embedded_env(env: dict[str, str], data: Path) -> dict[str, str]:
    environ = {k: v for k, v in env.items() if k != "REDIS_URL"}
    environ["TOILBOT_DATA_DIR"] = str(data)
    return environ


def test_embedded_redis_starts_persists_and_stops(env, tmp_path):
    """Without REDIS_URL a real redis-server starts under the data dir, keeps jobs, and stops."""
    data = tmp_path / "state"
    environ = embedded_env(env, data)
    first = toilbot_cli(environ, "exec", "--json", "status localhost")
    assert 0 == first.returncode, first.stderr
    assert f"embedded Redis at unix://{socket_path(data)} (started; data in {data})" in first.stderr
    assert 1 == json.loads(first.stdout)["job"]["id"]
    deadline = time.monotonic() + 10
    while (data / "redis.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (data / "redis.pid").exists(), "the last client out stops the server"
    second = toilbot_cli(environ, "exec", "job 1")
    assert "Job 1 succeeded" in second.stdout, second.stderr
    assert (data / "appendonly.aof").exists() or (data / "appendonlydir").exists()


def test_embedded_redis_is_shared_while_in_use(env, tmp_path):
    """A second process joins the running embedded server instead of starting its own."""
    data = tmp_path / "state"
    environ = embedded_env(env, data)
    holder = toilbot_cli(environ, "exec", "jobs")  # starts, then stops: nobody else connected
    assert "(started;" in holder.stderr
    sock = socket_path(data)
    script = (
        "import time; from pathlib import Path; from bot.platform.store import connect; "
        f"s = connect(None, Path({str(data)!r})); print(s.description, flush=True); time.sleep(60)"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", script], env=environ, stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert server.stdout is not None
        assert "(started;" in server.stdout.readline()
        joined = toilbot_cli(environ, "exec", "jobs")
        assert "(already running;" in joined.stderr
        assert redis.Redis(unix_socket_path=str(sock)).ping()  # still up: the holder is connected
    finally:
        server.kill()
        server.wait()
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(sock), retry=Retry(NoBackoff(), 0)).shutdown(
                nosave=True
            )


def test_console_session(env):
    """The console shows a banner, runs commands with progress, asks before changing hosts."""
    typed = (
        "\n".join(
            [
                "help",
                "status localhost",
                "restart nginx on localhost",
                "no",
                "pach localhost",
                "jobs",
            ]
        )
        + "\n"
    )
    proc = toilbot_cli(env, "console", stdin=typed)
    out = proc.stdout
    assert 0 == proc.returncode, proc.stderr
    assert "toilbot console: type a command" in out
    assert "Slack: not connected" in out
    assert "  localhost: ok (1/1 hosts done)\n" in out  # one line a host, when its play ends
    assert "Gathering Facts" not in out  # not a line per task
    assert "Job 1 succeeded" in out
    assert "will change 1 host(s): localhost. Confirm to run it." in out
    assert "needs confirmation and was not run. Nothing changed." in out
    assert "Did you mean patch?" in out
    assert "Traceback" not in out + proc.stderr
    # No raw mrkdwn on a terminal: no backticks, no *bold*, no shortcodes, no entities.
    markup = r"`|\*\w[^*\n]*\*|:[a-z_]+:|&(lt|gt|amp);|<(@[UW][A-Z0-9]|#[CG][A-Z0-9]|!)"
    assert not re.search(markup, out), out
    assert "\x1b[" not in out  # stdout is a pipe here: no ANSI styling


def test_check_passes_on_a_good_setup(env):
    """`toilbot check` validates everything and syntax-checks every playbook."""
    proc = toilbot_cli(env, "check")
    assert 0 == proc.returncode, proc.stdout
    assert "All checks passed." in proc.stdout
    assert "ok   playbook" in proc.stdout and "slow.yml" in proc.stdout


def test_check_finds_a_broken_playbook_and_a_policy_typo(env, config_path):
    """A playbook with a syntax error and a permission no command needs both fail the check."""
    broken = config_path.parent / "playbooks" / "echo.yml"
    broken.write_text(
        "- name: Broken\n  hosts: all\n  tasks:\n    - ansible.builtin.nosuchmodule: {}\n"
    )
    text = config_path.read_text().replace("- status\n      - restart", "- statsu\n      - restart")
    config_path.write_text(text)
    proc = toilbot_cli(env, "check")
    assert 1 == proc.returncode
    assert f"FAIL playbook {broken}" in proc.stdout
    assert "grants `statsu`, which no command needs" in proc.stdout


def test_check_reports_a_bad_spec(env, config_path):
    """A malformed spec fails the check with the spec's file and key."""
    spec = config_path.parent / "commands" / "status.yaml"
    spec.write_text(spec.read_text().replace("timeout: 5m", "timeout: later"))
    proc = toilbot_cli(env, "check")
    assert 1 == proc.returncode
    assert f"FAIL command specs: {spec}: timeout: must be a positive duration" in proc.stdout


def test_check_reports_a_config_schedule_whose_command_is_wrong(env, config_path):
    """A schedule in toilbot.yaml with a mistyped target fails the check, naming its key."""
    config = yaml.safe_load(config_path.read_text())
    config["schedules"] = {
        "nightly": {"command": "status wbe", "cron": "0 3 * * *", "owner": "U0ADMIN"},
        "fine": {"command": "status web", "every": "1h", "owner": "U0ADMIN"},
    }
    config_path.write_text(yaml.safe_dump(config))
    proc = toilbot_cli(env, "check")
    assert 1 == proc.returncode
    assert "FAIL schedule nightly: " in proc.stdout
    assert "schedules.nightly.command: <targets>: `wbe` is not a host or group" in proc.stdout
    assert "ok   schedule fine: `status web` every 1h" in proc.stdout


def test_exec_on_a_terminal_rewrites_one_progress_line_and_styles_code(env):
    """On a TTY: one progress line rewritten in place with \\r while the job runs, wiped before
    the result; code spans in cyan instead of backticks; the time in the team's zone."""
    import os
    import pty

    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "exec", "status localhost"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=REPO,
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=180)
    os.close(leader)
    screen = b"".join(chunks).decode()
    assert 0 == proc.returncode, screen
    assert "Job 1 queued: \x1b[36mstatus localhost\x1b[39m on 1 host." in screen
    assert "\r\x1b[K  0/1 hosts done" in screen  # drawn, then rewritten in place
    assert "\r\x1b[K  1/1 hosts done" in screen
    assert "localhost: ok (1/1" not in screen  # no line a host on a terminal, only the count
    assert "`" not in screen and "<!date" not in screen
