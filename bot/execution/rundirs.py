"""Private run folders: where ansible-runner keeps one run's inputs and artifacts.

They live under toilbot's data directory (``<data dir>/runs``), owner-only (0700),
one per run, removed when the run ends however it ends. The process running a
job holds an exclusive ``flock`` on its folder for the whole run; the lock goes
with the process, so a folder nobody holds belongs to a killed work horse and
``remove_leftovers`` deletes it (at worker start and when a horse dies). A folder
is locked before it gets its ``run-`` name, so no sweep sees an unheld live one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "run-"
_NEW = ".new-"  # a folder not yet locked; only one older than NEW_GRACE is a leftover
NEW_GRACE = 60.0


def runs_dir(data_dir: Path) -> Path:
    """Where a worker's private run folders live."""
    return data_dir / "runs"


def _root(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root.chmod(0o700)
    return root


def _lock(path: Path, blocking: bool) -> int | None:
    """An open descriptor holding an exclusive flock on ``path``, or None if another holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def private_dir(root: Path) -> Iterator[Path]:
    """A fresh 0700 folder under ``root``, locked by this process and removed afterwards."""
    fresh = Path(tempfile.mkdtemp(prefix=_NEW, dir=_root(root)))  # mkdtemp: mode 0700
    fd = _lock(fresh, blocking=True)
    folder = fresh.with_name(PREFIX + fresh.name.removeprefix(_NEW))
    try:
        fresh.rename(folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(fresh, ignore_errors=True)
        if fd is not None:
            os.close(fd)


def remove_leftovers(root: Path) -> list[Path]:
    """Delete run folders no living process holds (their horse was killed); return them."""
    if not root.is_dir():
        return []
    removed = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(_NEW):
            with contextlib.suppress(OSError):
                if time.time() - folder.stat().st_mtime > NEW_GRACE:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
            continue
        if not folder.name.startswith(PREFIX) or not folder.is_dir():
            continue
        try:
            fd = _lock(folder, blocking=False)
        except OSError:
            continue  # removed meanwhile by its own run
        if fd is None:
            continue  # a running job holds it
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    for folder in removed:
        log.info("removed the run folder %s left by a killed work horse", folder)
    return removed
