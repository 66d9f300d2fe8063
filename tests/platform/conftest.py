"""Fixtures of the REDIS_URL tests: real redis-server processes and test certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.platform.redis_servers import Certificates, Servers, make_certificates


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """redis-server processes a test starts; all SIGKILLed at its end."""
    started = Servers(tmp_path / "servers")
    started.directory.mkdir()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))
