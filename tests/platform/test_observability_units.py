"""Metrics, logs and their settings in one process: the Grafana dashboard asks only for
metrics toilbot exposes; JSON lines carry the bound fields; bad settings name themselves."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from bot.config.settings import load_settings
from bot.platform import logs
from bot.platform.errors import ConfigError
from bot.platform.metrics import render
from tests.conftest import write_config

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "toilbot.json"


def family(name: str) -> str:
    return re.sub(r"_(bucket|total|count|sum)$", "", name)


def test_the_dashboard_asks_only_for_metrics_toilbot_exposes(r):
    typed = re.findall(r"^# TYPE (\w+) ", render(r).decode(), re.MULTILINE)
    families = {family(name) for name in typed}
    assert {"toilbot_jobs", "toilbot_queue_depth", "toilbot_slack_outbox_depth"} <= families
    panels = json.loads(DASHBOARD.read_text())["panels"]
    asked = {
        name
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"\btoilbot_\w+", target["expr"])
    }
    assert asked
    unknown = {name for name in asked if family(name) not in families}
    assert set() == unknown


def test_render_without_redis_says_redis_is_down(r):
    import redis

    gone = redis.Redis(unix_socket_path="/nonexistent/redis.sock")
    text = render(gone).decode()
    assert "toilbot_redis_up 0.0" in text and "toilbot_queue_depth" not in text


def test_json_lines_carry_bound_fields_and_extras(capsys):
    logs.configure(logs.LogSettings(level="debug", json=True), "warning")
    try:
        log = logging.getLogger("toilbot.test")
        with logs.bound(job_id=7, user="U0ADMIN"):
            logs.bind(command="status web-01")
            log.info("inside %s", "the job")
        log.warning("outside", extra={"request_id": "abc"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        logs.configure(logs.LogSettings(), "warning")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert {"job_id": 7, "user": "U0ADMIN", "command": "status web-01"}.items() <= lines[0].items()
    assert ("INFO", "toilbot.test", "inside the job") == (
        lines[0]["level"],
        lines[0]["logger"],
        lines[0]["message"],
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lines[0]["time"])
    assert "job_id" not in lines[1] and "abc" == lines[1]["request_id"]
    assert "ValueError: boom" in lines[2]["exc"]


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ({}, {"TOILBOT_LOG_LEVEL": "LOUD"}, "environment: TOILBOT_LOG_LEVEL: 'loud' is not"),
        ({"logging": {"level": "verbose"}}, {}, "logging.level: 'verbose' is not allowed"),
        ({"logging": {"format": "xml"}}, {}, "logging.format: 'xml' is not allowed"),
        ({"logging": {"colour": True}}, {}, "logging.colour: is not a known key"),
        ({"metrics": {"port": 70000}}, {}, "metrics.port: is 70000, above the maximum 65535"),
        ({}, {"TOILBOT_METRICS_PORT": "http"}, "TOILBOT_METRICS_PORT: must be a whole number"),
    ],
)
def test_bad_observability_settings_name_themselves(tmp_path, config, env, message):
    path = write_config(tmp_path, **config)
    with pytest.raises(ConfigError) as raised:
        load_settings({"TOILBOT_CONFIG": str(path), "TOILBOT_DATA_DIR": str(tmp_path), **env})
    assert message in str(raised.value) and "Fix: " in str(raised.value)


def test_observability_settings_from_file_and_environment(tmp_path):
    path = write_config(tmp_path, logging={"level": "debug"}, metrics={"port": 9102})
    env = {"TOILBOT_CONFIG": str(path), "TOILBOT_DATA_DIR": str(tmp_path)}
    settings = load_settings(env)
    assert ("debug", False, 9102) == (
        settings.logging.level,
        settings.logging.json,
        settings.metrics.port,
    )
    settings = load_settings({**env, "TOILBOT_LOG_FORMAT": "JSON", "TOILBOT_METRICS_PORT": "9200"})
    assert (True, 9200) == (settings.logging.json, settings.metrics.port)
