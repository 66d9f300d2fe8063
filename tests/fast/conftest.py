"""The fast tier: the whole pipeline on a real Redis, jobs run in-process by a fake runner.

`harness` here is the console harness of tests/harness.py with the fake playbook
runner of fake_runner.py passed through the start-up wiring (``assemble(...,
runner=fake)``), so a job goes parse -> policy -> approvals -> confirm -> queue
-> worker -> runner -> per-host results exactly as in production, minus Ansible.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bot.config.settings import Settings
from bot.platform.store import Store
from tests.conftest import ADMIN, OPERATOR, VIEWER, write_config
from tests.fast.fake_runner import FakeRunner
from tests.harness import Harness

LEAD1 = "U0LEAD1"
LEAD2 = "U0LEAD2"
POLICY = {
    "roles": {
        "admin": {"permissions": ["*"], "members": [ADMIN]},
        "operator": {
            "permissions": [
                "status",
                "restart",
                "patch",
                "guarded",
                "jobs",
                "cancel",
                "slow",
                "schedule",
            ],
            "members": [OPERATOR],
        },
        "lead": {"permissions": ["approve", "jobs"], "members": [LEAD1, LEAD2]},
        "viewer": {"permissions": ["status", "jobs"], "members": [VIEWER]},
    }
}


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """The shared test setup, with two approvers (`lead`) beside admin, operator and viewer."""
    return write_config(tmp_path, policy=POLICY)


@pytest.fixture
def fake() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def harness(settings: Settings, r: redis.Redis, fake: FakeRunner) -> Harness:
    return Harness.start(settings, Store(r, "test Redis"), runner=fake)
