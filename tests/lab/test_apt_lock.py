"""The lab's package installs on the controller wait for a dpkg lock another process holds
(unattended-upgrades at boot, a second lab) instead of failing. Real apt-get, real lock."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from tests.lab.system import apt_get

pytestmark = pytest.mark.slow

LOCK = Path("/var/lib/dpkg/lock-frontend")
HELD = 6.0  # seconds the test holds the lock


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("apt-get") is None or not LOCK.exists(),
    reason="needs root and Debian's apt-get",
)
def test_apt_get_waits_for_the_dpkg_lock_held_by_another_process():
    """While this process holds dpkg's frontend lock, the lab's apt-get (installing a package
    that is already there, so nothing changes) waits, then succeeds once the lock is let go."""
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    with LOCK.open("w") as held:
        fcntl.lockf(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        release = threading.Timer(HELD, fcntl.lockf, args=(held, fcntl.LOCK_UN))
        release.start()
        started = time.monotonic()
        proc = apt_get(["install", "-y", "-q", "--no-install-recommends", "coreutils"], env)
        waited = time.monotonic() - started
        release.join()
    assert 0 == proc.returncode, proc.stderr
    assert waited >= HELD - 0.5, f"apt-get returned after {waited:.1f}s, while the lock was held"
    assert "coreutils is already the newest version" in proc.stdout
