"""What the execution layer is configured with (from toilbot.yaml `jobs`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobSettings:
    lease_seconds: int  # a running job's heartbeat lease: a worker silent this long is dead
    output_lines: int  # lines of Ansible output kept per job
    keep: int  # job records kept in the listing
    forks: int  # Ansible forks per job
