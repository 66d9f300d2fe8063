"""Health, readiness, metrics and logs of the real processes: `toilbot serve` (gunicorn, two
workers), `toilbot worker` with a metrics port, `toilbot run`, on loopback ports."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bot.frontends.console import EXIT_CONFIG
from tests.conftest import ADMIN, start_toilbot, stop_toilbot, submit, toilbot_cli, wait_for
from tests.slack import SignedClient, slash_command_body
from tests.slack_fixtures import free_port, listening


def base(server: str) -> str:
    return server.removesuffix("/slack/events")


def scrape(url: str) -> dict[str, float]:
    """The samples of a /metrics page: 'name{labels}' -> value."""
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert 200 == answer.status_code
    samples = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def total(samples: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in samples.items() if k.startswith(prefix))


@pytest.fixture
def metered_worker(slack_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`toilbot worker` with its metrics port, JSON logs at debug level."""
    port = free_port()
    env = {
        **slack_env,
        "TOILBOT_METRICS_PORT": str(port),
        "TOILBOT_LOG_FORMAT": "json",
        "TOILBOT_LOG_LEVEL": "info",  # debug lines would fill the pipe nobody reads yet
    }
    proc = start_toilbot(env, "worker")
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, 30, "the worker's port")
        assert proc.poll() is None, stop_toilbot(proc)
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        stop_toilbot(proc)


def test_health_needs_no_signature_and_ready_needs_a_worker(server, slack_env):
    url = base(server)
    health = httpx.get(f"{url}/healthz", timeout=5)
    assert (200, "ok\n") == (health.status_code, health.text)
    unready = httpx.get(f"{url}/readyz", timeout=5)
    assert 503 == unready.status_code
    assert {"ready": False, "redis": "ok", "workers": 0} == unready.json()
    assert 404 == httpx.get(f"{url}/slack/other", timeout=5).status_code  # only the three paths
    waiting = submit(slack_env, "status localhost")  # queued, with no worker to take it
    wait_for(lambda: scrape(url).get("toilbot_queue_depth") == 1, 30, "the queue depth")
    assert 1 == scrape(url)["toilbot_jobs_in_flight"]
    port = free_port()
    worker = start_toilbot({**slack_env, "TOILBOT_METRICS_PORT": str(port)}, "worker")
    try:
        wait_for(lambda: listening(port), 30, "the worker's metrics port")
        wait_for(
            lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200, 15, "ready"
        )  # the port opens a moment before the worker's first heartbeat
        for where in (url, f"http://127.0.0.1:{port}"):
            ready = httpx.get(f"{where}/readyz", timeout=5)
            assert (200, {"ready": True, "redis": "ok", "workers": 1}) == (
                ready.status_code,
                ready.json(),
            )
            assert 200 == httpx.get(f"{where}/healthz", timeout=5).status_code
        assert 0 == waiting.wait(timeout=120), waiting.stderr.read() if waiting.stderr else ""
        assert 0 == scrape(url)["toilbot_queue_depth"] == scrape(url)["toilbot_jobs_in_flight"]
        worker.send_signal(signal.SIGTERM)  # a worker that stops says goodbye
        worker.wait(timeout=30)
        assert 503 == httpx.get(f"{url}/readyz", timeout=5).status_code
    finally:
        stop_toilbot(worker)
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()


def test_metrics_move_with_jobs_and_acks(workspace, server, slack, metered_worker, env):
    worker, worker_url = metered_worker
    url = base(server)
    before = scrape(url)
    assert 0 == total(before, "toilbot_slack_ack_seconds_count")
    for n in range(1, 4):
        seen = workspace.ops("status localhost", as_=ADMIN)
        assert f"Job {n} queued" in seen.text
    workspace.ops("help", as_=ADMIN)

    def ended() -> bool:
        return (
            scrape(worker_url).get('toilbot_jobs_total{command="status",outcome="succeeded"}', 0)
            == 3
        )

    wait_for(ended, 120, "three jobs counted on the worker's /metrics")
    on_worker = scrape(worker_url)
    assert 3 == on_worker['toilbot_job_duration_seconds_count{command="status"}']
    assert 3 == on_worker['toilbot_job_queue_wait_seconds_count{command="status"}']
    assert on_worker['toilbot_slack_api_calls_total{error="ok",method="chat.postMessage"}'] >= 3
    assert 1 == on_worker["toilbot_workers"] and 1 == on_worker["toilbot_redis_up"]
    on_server = scrape(url)
    assert 4 == on_server['toilbot_slack_ack_seconds_count{kind="slash_command"}']
    assert 0 == on_server["toilbot_queue_depth"]
    # A worker's files: its own and its horses' (one set, however many jobs they ran).
    files = (Path(env["TOILBOT_DATA_DIR"]) / "metrics").glob(f"worker-{worker.pid}/*.db")
    owners = {f.name.rpartition("_")[2] for f in files}
    assert {f"{worker.pid}.db", f"{worker.pid}-horse.db"} == owners
    # JSON lines, and the job's lines carry its id, user and command.
    output = stop_toilbot(worker)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    started = [line for line in lines if line["message"].startswith("job 2 started")]
    assert 1 == len(started), lines
    assert (2, ADMIN, "status localhost") == (
        started[0]["job_id"],
        started[0]["user"],
        started[0]["command"],
    )


def test_two_gunicorn_workers_show_one_merged_count(server, env):
    """`serve --workers 2`: whichever worker answers /metrics, it counts every worker's acks."""
    url, sent = base(server), 24

    def ask(n: int) -> int:
        with SignedClient(server) as client:  # a new connection each: both workers take some
            return client.post(slash_command_body("/ops", "help", trigger_id=f"t{n}")).status_code

    with ThreadPoolExecutor(8) as pool:
        assert [200] * sent == list(pool.map(ask, range(sent)))
    files = (Path(env["TOILBOT_DATA_DIR"]) / "metrics").glob("serve-*/histogram_*.db")
    assert len({f.name for f in files}) == 2  # one file per gunicorn worker
    counts = {total(scrape(url), "toilbot_slack_ack_seconds_count") for _ in range(10)}
    assert {sent} == counts


def test_two_servers_on_one_host_keep_answering(slack_env, tmp_path):
    """No shared gunicorn control socket: stopping one server leaves the other whole."""
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir()
    env = {**slack_env, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    ports = [free_port(), free_port()]
    procs = [
        start_toilbot(env, "serve", "--host", "127.0.0.1", "--port", str(p), "--workers", "1")
        for p in ports
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_for(lambda p=port: listening(p), 30, "toilbot serve to listen")
            assert proc.poll() is None
        for port in ports:
            assert 200 == httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
        assert [] == list(home.rglob("*.ctl")) + list(runtime.rglob("*.ctl"))
        print(stop_toilbot(procs[0]))
        time.sleep(1)
        answer = httpx.get(f"http://127.0.0.1:{ports[1]}/healthz", timeout=5)
        assert 200 == answer.status_code and procs[1].poll() is None
        metrics_dirs = list((Path(env["TOILBOT_DATA_DIR"]) / "metrics").iterdir())
        assert [f"serve-{procs[1].pid}"] == [d.name for d in metrics_dirs]
    finally:
        for proc in procs:
            print(stop_toilbot(proc))


def test_run_serves_http_on_gunicorn(slack_env):
    env = {k: v for k, v in slack_env.items() if k != "SLACK_APP_TOKEN"}
    port = free_port()
    proc = start_toilbot(env, "run", "--port", str(port))
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, 30, "toilbot run to listen")
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert 200 == answer.status_code
        assert answer.headers["server"].startswith("gunicorn")
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200,
            15,
            "run's own worker to make it ready",
        )
    finally:
        output = stop_toilbot(proc)
        print(output)
    assert "wsgiref" not in output


@pytest.mark.parametrize(
    ("name", "value"),
    [("TOILBOT_LOG_LEVEL", "loud"), ("TOILBOT_LOG_FORMAT", "xml"), ("TOILBOT_METRICS_PORT", "x")],
)
def test_a_bad_setting_is_one_line(env, name, value):
    done = toilbot_cli({**env, name: value}, "exec", "help", timeout=60)
    assert EXIT_CONFIG == done.returncode
    assert 1 == len(done.stderr.strip().splitlines()), done.stderr
    assert "Traceback" not in done.stderr
    assert re.search(rf"{name}: .*Fix: ", done.stderr), done.stderr


def test_serve_logs_json_lines_with_the_request_id(slack_env):
    """gunicorn's lines and toilbot's are JSON; a Slack request's lines carry its request id."""
    env = {**slack_env, "TOILBOT_LOG_FORMAT": "json", "TOILBOT_LOG_LEVEL": "info"}
    port = free_port()
    proc = start_toilbot(env, "serve", "--host", "127.0.0.1", "--port", str(port))
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, 30, "toilbot serve")
        url = f"http://127.0.0.1:{port}/slack/events"
        with SignedClient(url) as client:
            answer = client.post(slash_command_body("/ops", "help"), bad_signature=True)
            assert 401 == answer.status_code
    finally:
        output = stop_toilbot(proc)
        print(output)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["logger"] == "gunicorn.error" for line in lines), output
    assert any(line["logger"] == "gunicorn.access" for line in lines), output
    refused = [line for line in lines if line["message"].startswith("slack request refused")]
    assert 1 == len(refused) and re.fullmatch(r"[0-9a-f]{16}", refused[0]["request_id"])
    not_json = [line for line in output.splitlines() if line and not line.startswith("{")]
    assert not_json == [line for line in not_json if line.startswith("Slack: connected")]


def test_the_scheduler_says_it_leads_on_its_port(env):
    port = free_port()
    proc = start_toilbot({**env, "TOILBOT_METRICS_PORT": str(port)}, "scheduler")
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, 30, "the scheduler's port")

        def leads() -> bool:
            samples = scrape(f"http://127.0.0.1:{port}")
            return samples.get("toilbot_scheduler_leader") == 1

        wait_for(leads, 30, "the only replica to lead")
        samples = scrape(f"http://127.0.0.1:{port}")
        assert (1, 1) == (
            samples["toilbot_scheduler_has_leader"],
            samples["toilbot_scheduler_replicas"],
        )
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert 503 == ready.status_code  # no worker: nothing would run what it fires
    finally:
        print(stop_toilbot(proc))


def test_socket_mode_has_the_three_paths_on_its_metrics_port(slack_env, slack):
    """`toilbot socket` with a metrics port: health, and its acks timed like HTTP ones."""
    port = free_port()
    proc = start_toilbot({**slack_env, "TOILBOT_METRICS_PORT": str(port)}, "socket")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, 30, "the socket's port")
        assert 200 == httpx.get(f"{url}/healthz", timeout=5).status_code
        assert 503 == httpx.get(f"{url}/readyz", timeout=5).status_code
        slack.wait_for_socket(30)
        command = {
            "command": "/ops",
            "text": "help",
            "user_id": ADMIN,
            "channel_id": "C0OPS",
            "team_id": "T0TOIL",
            "response_url": slack.new_response_url(),
            "trigger_id": "1.2",
        }
        ack = slack.wait_for_ack(slack.socket_send("slash_commands", command), 15)
        assert ack.payload is not None and "Commands" in str(ack.payload["text"])
        samples = scrape(url)
        assert 1 == samples['toilbot_slack_ack_seconds_count{kind="slash_command"}']
        assert samples['toilbot_slack_api_calls_total{error="ok",method="apps.connections.open"}']
    finally:
        print(stop_toilbot(proc))
