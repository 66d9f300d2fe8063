"""What a builtin works with: the request, the policy in force, and the stores it may read
and change. Not the Bot: a builtin cannot call back into the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.execution.jobs import Jobs
from bot.pipeline.approvals import Approvals
from bot.pipeline.inventory import Inventory
from bot.pipeline.inventory.cache import Inventories
from bot.pipeline.parse import BuiltinCall, Invocation, parse
from bot.pipeline.policy.file import PolicyFile
from bot.pipeline.policy.groups import GroupDirectory, Membership
from bot.pipeline.policy.rules import Decision, Policy
from bot.pipeline.request import Channel, Request
from bot.pipeline.settings import Settings
from bot.pipeline.specs import CommandSpec
from bot.platform.audit import Audit
from bot.schedule.registry import Registry as Schedules

if TYPE_CHECKING:
    from bot.pipeline.builtins.registry import Builtin


def membership(groups: GroupDirectory, user: str, policy: Policy) -> Membership:
    """The Slack user groups of ``policy`` that ``user`` is in."""
    if not policy.group_ids:
        return Membership(frozenset())
    return groups.membership(user, policy.group_ids, policy.groups_ttl)


@dataclass(frozen=True)
class Context:
    request: Request
    policy: Policy  # the policy in force for this request
    settings: Settings
    specs: Mapping[str, CommandSpec]
    inventory: Inventory
    jobs: Jobs
    schedules: Schedules
    approvals: Approvals
    groups: GroupDirectory
    builtins: Mapping[str, Builtin]  # for `help`
    policies: PolicyFile | None = None  # where the policy is reloaded from (for `whoami`)
    inventories: Inventories | None = None  # where the inventory is refreshed (`inventory`)

    @property
    def user(self) -> str:
        return self.request.user

    @property
    def audit(self) -> Audit:
        return self.jobs.audit

    def membership(self, user: str) -> Membership:
        return membership(self.groups, user, self.policy)

    def parse(self, text: str) -> Invocation | BuiltinCall:
        """``text`` read as the pipeline reads a command."""
        return parse(text, self.specs, self.inventory, self.policy.patterns)

    def authorize(
        self, parsed: Invocation | BuiltinCall, user: str, channel: Channel | None
    ) -> Decision:
        """The policy's decision on ``parsed`` from ``user`` (with their groups) in ``channel``."""
        groups = self.membership(user).groups
        return self.policy.authorize(parsed, user, self.inventory, groups=groups, channel=channel)
