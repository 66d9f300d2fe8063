"""Policy table: user x permission -> allowed or denied, and the rule that decided."""

from __future__ import annotations

import pytest

from bot.policy import load_policy
from bot.schema import Node

POLICY = load_policy(
    Node(
        "toilbot.yaml",
        "policy",
        {
            "roles": {
                "admin": {"permissions": ["*"], "members": ["U0ADMIN"]},
                "operator": {
                    "permissions": ["status", "patch*", "jobs"],
                    "members": ["U0OPER", "U0BOTH"],
                },
                "viewer": {"permissions": ["status"], "members": ["U0VIEW", "U0BOTH"]},
                "empty": {"permissions": []},
            }
        },
    )
)


@pytest.mark.parametrize(
    ("user", "permission", "allowed", "rule"),
    [
        ("U0ADMIN", "patch", True, "role admin grants *"),
        ("U0ADMIN", "anything.at.all", True, "role admin grants *"),
        ("U0OPER", "patch", True, "role operator grants patch*"),
        ("U0OPER", "patch.prod", True, "role operator grants patch*"),
        ("U0OPER", "restart", False, "no role of U0OPER grants restart"),
        ("U0VIEW", "status", True, "role viewer grants status"),
        ("U0VIEW", "patch", False, "no role of U0VIEW grants patch"),
        ("U0VIEW", "jobs", False, "no role of U0VIEW grants jobs"),
        ("U0BOTH", "jobs", True, "role operator grants jobs"),
        ("U0NOBODY", "status", False, "no role of U0NOBODY grants status"),
        ("U0NOBODY", None, True, "needs no permission"),
    ],
)
def test_decisions(user, permission, allowed, rule):
    """Deny by default; a decision says which rule allowed or denied it."""
    decision = POLICY.decide(user, permission)
    assert (allowed, rule) == (decision.allowed, decision.rule)
    assert allowed == bool(decision)


def test_roles_of():
    """A user's roles are listed in policy order."""
    assert ["operator", "viewer"] == POLICY.roles_of("U0BOTH")
    assert [] == POLICY.roles_of("U0NOBODY")


CAPPED = load_policy(
    Node(
        "toilbot.yaml",
        "policy",
        {
            "roles": {
                "operator": {
                    "permissions": ["restart"],
                    "members": ["U0OPER", "U0LEAD"],
                    "max_hosts": 5,
                },
                "lead": {"permissions": ["restart"], "members": ["U0LEAD"], "max_hosts": 50},
            }
        },
    )
)


@pytest.mark.parametrize(
    ("user", "hosts", "allowed", "rule", "cap"),
    [
        ("U0OPER", 5, True, "role operator grants restart", None),
        ("U0OPER", 6, False, "role operator allows at most 5 hosts per command", 5),
        ("U0LEAD", 6, True, "role lead grants restart", None),
        ("U0LEAD", 51, False, "role operator, lead allows at most 50 hosts per command", 50),
        ("U0NOBODY", 1, False, "no role of U0NOBODY grants restart", None),
    ],
)
def test_blast_radius(user, hosts, allowed, rule, cap):
    """max_hosts caps one command's hosts; the most generous role that grants it decides."""
    decision = CAPPED.decide(user, "restart", hosts)
    assert (allowed, rule, cap) == (decision.allowed, decision.rule, decision.max_hosts)
