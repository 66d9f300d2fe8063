"""A lab of real Debian hosts on this machine, for integration tests of playbooks.

`Lab.build(dir)` gives three hosts (web-01, web-02, db-01; groups web, db and lab) as
chroots of a cached Debian bookworm, each in its own network and PID namespace, with a
pending package update, a real SysV service and a reboot of its own, plus an Ansible
inventory for them. `rpm_hosts=("rpm-01",)` adds hosts with real rpm and dnf that
Ansible takes for RHEL 9 (group rpmlab).
See tests/lab/README.md, `python -m tests.lab --help` and the `lab` fixture in
tests/lab/fixtures.py.
"""

from tests.lab.lab import DEFAULT_HOSTS, Lab
from tests.lab.system import LabError, LabUnavailable

__all__ = ["DEFAULT_HOSTS", "Lab", "LabError", "LabUnavailable"]
