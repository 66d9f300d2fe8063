"""The policy the approval tests share: a requester, two approvers, people with neither."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ADMIN, OPERATOR, VIEWER, write_config

LEAD1 = "U0LEAD1"
LEAD2 = "U0LEAD2"
POLICY = {
    "roles": {
        "admin": {"permissions": ["*"], "members": [ADMIN]},
        "operator": {
            "permissions": ["status", "patch", "jobs", "cancel", "guarded"],
            "members": [OPERATOR],
        },
        "lead": {"permissions": ["approve", "jobs"], "members": [LEAD1, LEAD2]},
        "viewer": {"permissions": ["status", "jobs"], "members": [VIEWER]},
    }
}


def approval_config(directory: Path, approvals: dict[str, Any]) -> Path:
    return write_config(directory, policy=POLICY, approvals=approvals)
