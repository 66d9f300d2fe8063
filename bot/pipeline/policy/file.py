"""The policy, reloaded from toilbot.yaml without a restart.

Every command first looks at the file's size, mtime and inode (one stat);
when they change, the file is read and hashed, and if its contents changed the
``policy`` section is validated like at start-up. A broken policy is refused:
the last good one stays in force, the error is logged, and ``whoami`` says the
loaded policy is stale and why. Only the policy section is reloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.pipeline.inventory import Inventory
from bot.pipeline.policy.load import load_policy
from bot.pipeline.policy.rules import Policy
from bot.pipeline.specs import CommandSpec
from bot.platform.audit import Audit, AuditAction
from bot.platform.errors import ConfigError
from bot.platform.schema import load_yaml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyState:
    policy: Policy  # in force
    loaded_at: float  # when the policy in force was read
    error: str | None = None  # why the file's newer policy was refused (stale), else None
    error_at: float | None = None  # when that refused version was seen


def read_policy(path: Path, inventory: Inventory, specs: Mapping[str, CommandSpec]) -> Policy:
    """The policy section of ``path``, validated; a problem is a ConfigError."""
    policy = load_policy(load_yaml(path).child("policy"))
    policy.validate(inventory, specs, str(path))
    return policy


class PolicyFile:
    def __init__(
        self,
        path: Path,
        policy: Policy,
        inventory: Callable[[], Inventory],  # the inventory in force when the policy is read
        specs: Mapping[str, CommandSpec],
        audit: Audit | None = None,
    ) -> None:
        self.path = path
        self.audit = audit
        self.inventory = inventory
        self.specs = specs
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._digest = self._hash()
        self.state = PolicyState(policy, time.time())

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def current(self) -> Policy:
        """The policy in force, re-read first if the file changed."""
        stamp = self._stat()
        if stamp == self._stamp:
            return self.state.policy
        with self._lock:
            if stamp != self._stamp:
                self._reload(stamp)
            return self.state.policy

    def _reload(self, stamp: tuple[int, int, int] | None) -> None:
        self._stamp = stamp
        digest = self._hash()
        if digest is not None and digest == self._digest:
            return
        self._digest = digest
        try:
            policy = read_policy(self.path, self.inventory(), self.specs)
        except ConfigError as exc:
            log.error("policy not reloaded, the last good one stays in force: %s", exc)
            self.state = PolicyState(self.state.policy, self.state.loaded_at, str(exc), time.time())
            self._audit(AuditAction.POLICY_REJECTED, str(exc))
            return
        log.warning("policy reloaded from %s", self.path)
        self.state = PolicyState(policy, time.time())
        self._audit(AuditAction.POLICY_RELOADED, None)

    def _audit(self, action: AuditAction, problem: str | None) -> None:
        """Each process that reloads says so (its host and pid are the source)."""
        if self.audit is not None:
            self.audit.try_record(
                action,
                user="toilbot",
                source=f"{socket.gethostname()}:{os.getpid()}",
                outcome=problem,
                detail={"file": str(self.path), "sha256": self._digest},
            )
