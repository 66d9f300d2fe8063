"""pytest fixtures for the lab. Use them from a conftest.py with

    from tests.lab.fixtures import lab  # noqa: F401

`lab` is session scoped: one lab for the whole run (web-01, web-02 and db-01 in group
`lab`, rpm-01 in group `rpmlab`), built on first use (a second once the bases are
cached, about 70 s the first time on a machine) and torn down at the end of
the session, also when tests fail, on Ctrl-C, and on SIGTERM (turned into
KeyboardInterrupt so pytest still runs its teardown). A session killed with SIGKILL
leaves its lab behind; the next build tears that one down (its owner is gone).

Where the lab cannot run (not root, no debootstrap and no way to install it, subnet
taken) the fixture fails the test with the reason; catch `LabUnavailable` in your own
fixture if you would rather skip.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

from tests.lab.lab import DEFAULT_RPM_HOSTS, Lab
from tests.lab.system import LabUnavailable


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt, so teardown code still runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A running lab (web-01, web-02, db-01 in `lab`; rpm-01 in `rpmlab`), torn down after."""
    directory = tmp_path_factory.mktemp("lab")
    with sigterm_as_interrupt():
        try:
            built = Lab.build(directory, rpm_hosts=DEFAULT_RPM_HOSTS)
        except LabUnavailable as exc:
            pytest.fail(f"the toilbot lab cannot run here: {exc}", pytrace=False)
        with built:
            yield built
