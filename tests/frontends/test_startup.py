"""Start-up: the local front ends import only what the command needs (issue 15, fast start-up).

Timings live in bench/startup.py (`make bench-startup`); these tests only check
which modules a fresh interpreter has loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ADMIN, NOBODY, REPO

# Loaded only by the commands that use them: Slack by Slack commands (and where Slack is
# configured), RQ and ansible-runner once a job is queued, the rest by their command.
LAZY = (
    "slack_sdk",
    "slack_bolt",
    "ansible_runner",
    "rq",
    "bot.execution.worker",
    "bot.config.check",
    "bot.frontends.scheduler",
)

_LOADED = """
import json, sys
lazy = json.loads(sys.argv[1])
{body}
loaded = sorted({{m for m in sys.modules for n in lazy if m == n or m.startswith(n + ".")}})
print(json.dumps(loaded), file=sys.stderr)
"""


def loaded_after(body: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """Run ``body`` in a fresh interpreter; the lazy modules it loaded, and its stdout."""
    code = _LOADED.format(body=body)
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(LAZY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    assert 0 == proc.returncode, proc.stdout + proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1]), proc.stdout


def test_importing_the_cli_loads_no_slack_worker_or_ansible_runner():
    """`import bot.frontends.cli` in a fresh interpreter loads none of the lazy modules."""
    loaded, _ = loaded_after("import bot.frontends.cli")
    assert [] == loaded


def test_exec_help_whoami_and_a_refusal_start_without_them(env, r):
    """`exec help`, `whoami` and a refused command answer as before and load none of them."""
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    body = f"""
from bot.frontends.cli import main
codes = [
    main(["exec", "--user", "{ADMIN}", "--json", "help"]),
    main(["exec", "--user", "{ADMIN}", "whoami"]),
    main(["exec", "--user", "{NOBODY}", "status localhost"]),
]
print(json.dumps(codes))
"""
    loaded, stdout = loaded_after(body, env)
    help_reply = json.loads(stdout[: stdout.index("\n}\n") + 2])
    assert (True, "answered") == (help_reply["ok"], help_reply["outcome"])
    assert "status" in help_reply["message"]
    assert ADMIN in stdout
    assert "needs the status permission" in stdout  # terminal text: no backticks
    assert [0, 0, 2] == json.loads(stdout.strip().splitlines()[-1])
    assert [] == loaded


def test_a_queued_job_still_runs_in_process(env, r):
    """`toilbot exec` of a real command still loads the worker and ansible-runner when needed."""
    env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    body = f"""
from bot.frontends.cli import main
print(json.dumps(main(["exec", "--user", "{ADMIN}", "--json", "status localhost"])))
"""
    loaded, stdout = loaded_after(body, env)
    assert "0" == stdout.strip().splitlines()[-1]
    assert {"bot.execution.worker", "ansible_runner", "rq"} <= set(loaded)
