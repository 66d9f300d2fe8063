"""Settings from the environment and one toilbot.yaml, validated once at start-up.

Each package owns the type of its part (``JobSettings``, ``ToilSettings``, ``ScheduleSettings``,
``Policy``); ``Settings`` composes them (re-exported here for the front ends).
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping
from pathlib import Path

from bot.execution.settings import JobSettings
from bot.pipeline.inventory.source import load_inventory_settings
from bot.pipeline.policy.load import load_policy
from bot.pipeline.settings import ApprovalSettings, Settings
from bot.platform.audit import audit_key, parse_retention
from bot.platform.errors import ParseError
from bot.platform.ids import USER_ID
from bot.platform.logs import FORMATS, LEVELS, LogSettings
from bot.platform.metrics import MetricsSettings
from bot.platform.redis_url import parse_redis_url
from bot.platform.schema import Node, load_yaml
from bot.schedule.cron import parse_cron
from bot.schedule.model import load_schedule_settings
from bot.toil.ratio import Thresholds
from bot.toil.settings import DEFAULT_CATEGORIES, ToilSettings

DEFAULT_CONFIG = "toilbot.yaml"


def _real(path: Path) -> Path:
    """``path`` made absolute with its links followed; a link loop is left for the reader of
    the file to name (``Path.resolve`` raises RuntimeError on one)."""
    return Path(os.path.realpath(path))


def config_path(env: Mapping[str, str]) -> Path:
    return _real(Path(env.get("TOILBOT_CONFIG") or DEFAULT_CONFIG))


def data_dir(env: Mapping[str, str]) -> Path:
    if env.get("TOILBOT_DATA_DIR"):
        return _real(Path(env["TOILBOT_DATA_DIR"]))
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "toilbot"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = config_path(env)
    root = load_yaml(path)
    root.check_keys(
        {
            "inventory",
            "commands_dir",
            "playbooks_dir",
            "timezone",
            "channels",
            "local_user",
            "policy",
            "jobs",
            "toil",
            "scheduler",
            "schedules",
            "freezes",
            "maintenance_windows",
            "approvals",
            "audit",
            "logging",
            "metrics",
            "slack",
        }
    )
    base = path.parent

    def directory(node: Node) -> Path:
        found = _real(base / node.text())
        if not found.is_dir():
            raise node.error(f"{found} is not a directory", "point it at an existing folder")
        return found

    inventory = load_inventory_settings(root.child("inventory"), base)

    tz_node = root.child("timezone", "UTC")
    timezone = tz_node.text()
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise tz_node.error(
            f"{timezone!r} is not an IANA timezone", "write e.g. Europe/Oslo or UTC"
        ) from None

    channels = {
        name: node.text(
            r"[#A-Za-z0-9_-]+", "write a channel name such as #ops or an id such as C0123"
        )
        for name, node in root.child("channels", {}).items()
    }
    jobs_node = root.child("jobs", {})
    jobs_node.check_keys({"lease_seconds", "output_lines", "keep", "forks"})
    jobs = JobSettings(
        lease_seconds=jobs_node.child("lease_seconds", 30).number(2, 3600),
        output_lines=jobs_node.child("output_lines", 200).number(10, 10_000),
        keep=jobs_node.child("keep", 1000).number(10, 1_000_000),
        forks=jobs_node.child("forks", 10).number(1, 200),
    )
    toil_node = root.child("toil", {})
    toil_node.check_keys({"categories", "timer_limit", "thresholds", "hands_on", "summary"})
    summary = toil_node.child("summary", {})
    summary.check_keys({"channel", "names", "cron"})
    when_node = summary.child("cron", "0 9 * * MON")
    try:
        summary_when = parse_cron(when_node.text(), timezone)
    except ParseError as exc:
        raise when_node.error(str(exc), "write five cron fields such as '0 9 * * MON'") from None
    levels = toil_node.child("thresholds", {})
    levels.check_keys({"target", "notice", "warning", "action"})
    percents = {
        name: levels.child(name, default).number(1, 99) / 100
        for name, default in (("target", 35), ("notice", 40), ("warning", 45), ("action", 50))
    }
    if not percents["target"] <= percents["notice"] <= percents["warning"] <= percents["action"]:
        raise levels.error(
            "must rise: target <= notice <= warning <= action",
            "order the percentages, e.g. 35, 40, 45, 50",
        )
    toil = ToilSettings(
        categories=tuple(
            toil_node.child("categories", list(DEFAULT_CATEGORIES)).text_list(
                r"[a-z][a-z0-9-]{0,30}", "use lower-case words such as on-call"
            )
        ),
        timer_limit=toil_node.child("timer_limit", "4h").duration(),
        hands_on=toil_node.child("hands_on", "2m").duration(),
        thresholds=Thresholds(**percents),
        summary_channel=(
            None
            if summary.child("channel", None).value is None
            else summary.child("channel").text(
                r"[#A-Za-z0-9_-]+", "write a channel name such as #ops or an id such as C0123"
            )
        ),
        summary_names=summary.child("names", False).flag(),
    )
    approvals_node = root.child("approvals", {})
    approvals_node.check_keys({"expiry", "quorum"})
    expiry_node = approvals_node.child("expiry", "15m")
    if expiry_node.duration() > 7 * 86400:
        raise expiry_node.error("is longer than 7 days", "use 168h or less, e.g. 15m or 2h")
    approvals = ApprovalSettings(
        expiry=expiry_node.duration(),
        quorum=approvals_node.child("quorum", 1).number(1, 10),
    )
    slack_node = root.child("slack", {})
    slack_node.check_keys({"notify_on_finish"})
    notify_on_finish = slack_node.child("notify_on_finish", True).flag()
    audit_retention = _audit_retention(root.child("audit", {}))
    audit_key(env)  # a bad TOILBOT_AUDIT_KEY stops start-up here, with the fix
    redis_url = env.get("REDIS_URL") or None
    if redis_url:
        parse_redis_url(redis_url)  # a bad URL stops start-up here: one line, password masked
    return Settings(
        config_path=path,
        inventory=inventory,
        commands_dir=directory(root.child("commands_dir", "commands")),
        playbooks_dir=directory(root.child("playbooks_dir", "playbooks")),
        timezone=timezone,
        channels=channels,
        local_user=root.child("local_user", "U0LOCAL").text(
            USER_ID, "use a Slack-style user id such as U0LOCAL"
        ),
        policy=load_policy(root.child("policy")),
        jobs=jobs,
        toil=toil,
        schedule=load_schedule_settings(root, timezone, channels.get("ops")),
        redis_url=redis_url,
        data_dir=data_dir(env),
        approvals=approvals,
        audit_retention=audit_retention,
        summary_when=summary_when,
        slack_notify_on_finish=notify_on_finish,
        logging=_log_settings(root.child("logging", {}), env),
        metrics=_metrics_settings(root.child("metrics", {}), env),
    )


def _log_settings(node: Node, env: Mapping[str, str]) -> LogSettings:
    """``logging: {level: info, format: json}``; TOILBOT_LOG_LEVEL and TOILBOT_LOG_FORMAT win."""
    node.check_keys({"level", "format"})
    level, form = node.child("level", None), node.child("format", "text")
    if env.get("TOILBOT_LOG_LEVEL"):
        level = Node("environment", "TOILBOT_LOG_LEVEL", env["TOILBOT_LOG_LEVEL"].lower())
    if env.get("TOILBOT_LOG_FORMAT"):
        form = Node("environment", "TOILBOT_LOG_FORMAT", env["TOILBOT_LOG_FORMAT"].lower())
    return LogSettings(
        level=None if level.value is None else level.choice(LEVELS),
        json=form.choice(FORMATS) == "json",
    )


def _metrics_settings(node: Node, env: Mapping[str, str]) -> MetricsSettings:
    """``metrics: {port: 9102, host: 0.0.0.0}``; TOILBOT_METRICS_PORT wins (one per process)."""
    node.check_keys({"port", "host"})
    port = node.child("port", None)
    if env.get("TOILBOT_METRICS_PORT"):
        raw = env["TOILBOT_METRICS_PORT"]
        port = Node("environment", "TOILBOT_METRICS_PORT", int(raw) if raw.isdigit() else raw)
    host = node.child("host", MetricsSettings.host).text(
        r"[A-Za-z0-9.:_-]+", "write an address such as 0.0.0.0 or 127.0.0.1"
    )
    return MetricsSettings(None if port.value is None else port.number(1, 65535), host)


def _audit_retention(node: Node) -> int | None:
    """``audit: {retention: 365d}``; absent: keep every entry."""
    node.check_keys({"retention"})
    retention = node.child("retention", None)
    if retention.value is None:
        return None
    seconds = parse_retention(str(retention.value))
    if seconds is None:
        raise retention.error(
            f"{retention.value!r} is not a number of days",
            "write e.g. 365d, or leave it out to keep every entry",
        )
    return seconds


__all__ = ["ApprovalSettings", "JobSettings", "Settings", "ToilSettings", "load_settings"]
