"""The lab's own tests use the shared `lab` fixture."""

from tests.lab.fixtures import lab

__all__ = ["lab"]
