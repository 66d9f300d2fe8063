"""Settings as the pipeline sees them: each package's own settings, composed.

``bot.config.settings.load_settings`` reads them from the environment and toilbot.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.execution.settings import JobSettings
from bot.pipeline.inventory.source import InventorySettings
from bot.pipeline.policy.rules import Policy
from bot.platform.logs import LogSettings
from bot.platform.metrics import MetricsSettings
from bot.schedule.cron import Cron
from bot.schedule.model import ScheduleSettings
from bot.toil.settings import ToilSettings


@dataclass(frozen=True)
class ApprovalSettings:
    expiry: int = 900  # seconds an approval request waits before it expires
    quorum: int = 1  # approvers needed, unless the command's spec says otherwise


@dataclass(frozen=True)
class Settings:
    config_path: Path
    inventory: InventorySettings  # the sources Ansible reads, how long a read is kept
    commands_dir: Path
    playbooks_dir: Path
    timezone: str
    channels: dict[str, str]
    local_user: str
    policy: Policy
    jobs: JobSettings
    toil: ToilSettings
    schedule: ScheduleSettings
    redis_url: str | None
    data_dir: Path
    approvals: ApprovalSettings = ApprovalSettings()
    summary_when: Cron | None = None  # toil.summary.cron: when the weekly summary is posted
    audit_retention: int | None = None  # seconds audit entries are kept; None: forever
    slack_notify_on_finish: bool = True  # slack.notify_on_finish: a thread reply when a job ends
    logging: LogSettings = field(default_factory=LogSettings)  # logging: level, format (json lines)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)  # metrics: port, host
