"""Host states from real Ansible events (issue 11, item 6): a host is `running`, on its current
task, until its play (or its serial batch) ends; only then ok or changed."""

from __future__ import annotations

from pathlib import Path

from bot.execution.ansible import Progress, RunRequest, run_playbook
from bot.execution.records import HostStatus
from bot.execution.rundirs import runs_dir

BATCHES = """
- name: Two tasks a host, one host at a time
  hosts: all
  serial: 1
  gather_facts: false
  tasks:
    - name: First
      ansible.builtin.debug:
        msg: first
    - name: Second
      ansible.builtin.file:
        path: "{{ marker_dir }}/{{ inventory_hostname }}"
        state: touch
"""


def test_a_host_runs_until_its_batch_ends_then_is_changed(config_path: Path):
    """After its ok 'First' a host is running on 'Second', not ok; when the next batch starts
    it is changed, while the next host runs; at the end both are changed."""
    root = config_path.parent
    playbook = root / "playbooks" / "batches.yml"
    playbook.write_text(BATCHES)
    seen: list[dict[str, tuple[HostStatus, str | None]]] = []
    states: dict[str, tuple[HostStatus, str | None]] = {}

    def progress(update: Progress) -> None:
        for host in update.hosts:
            states[host.host] = (host.status, host.task)
        seen.append(dict(states))

    outcome = run_playbook(
        RunRequest(
            playbook=playbook,
            inventory=root / "hosts.yml",
            hosts=["web-01", "web-02"],
            values={},
            check_mode=False,
            timeout=120,
            forks=5,
            runs_dir=runs_dir(root / "data"),
        ),
        progress,
        lambda: False,
    )
    assert "successful" == outcome.status
    assert {HostStatus.CHANGED} == {r.status for r in outcome.results.values()}
    web01 = [s["web-01"] for s in seen if "web-01" in s]
    assert (HostStatus.RUNNING, "First") in web01
    assert (HostStatus.RUNNING, "Second") in web01  # after 'First' was ok: still running
    assert HostStatus.OK not in {status for status, _ in web01}
    # web-01's batch ended when web-02's began: changed, while web-02 runs.
    assert any(
        s.get("web-01") == (HostStatus.CHANGED, None)
        and s.get("web-02", (None,))[0] is HostStatus.RUNNING
        for s in seen
    ), seen
