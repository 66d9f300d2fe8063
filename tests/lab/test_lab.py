"""The lab is real: plain ansible-playbook against its inventory sees three Debian hosts.

Each test runs one playbook from tests/lab/playbooks with the virtualenv's own
ansible-playbook, nothing of toilbot in between; the playbooks save what they saw per
host as JSON (see playbooks/save.yml) and the tests check it, often against the lab's
Python API and the controller's own view.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab import Lab, LabError, LabUnavailable
from tests.lab.repo import NEW_VERSION, OLD_VERSION

pytestmark = pytest.mark.slow

PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def run_playbook(lab: Lab, playbook: str, results: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Run a lab playbook with plain ansible-playbook; return each host's saved result."""
    results.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env |= {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"}
    proc = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(lab.inventory_path),
            str(PLAYBOOKS / playbook),
            "-e",
            json.dumps({"lab_result_dir": str(results)}),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=PLAYBOOKS,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"{playbook} failed:\n{proc.stdout}\n{proc.stderr}"
    return {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}


def get_health(url: str) -> dict[str, Any]:
    """GET a health URL from the controller; assert 200; return its JSON."""
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - lab URL
        assert response.status == 200
        body: dict[str, Any] = json.loads(response.read())
    return body


def test_inventory_lists_hosts_groups_and_connection_vars(lab: Lab) -> None:
    inventory = yaml.safe_load(lab.inventory_path.read_text())
    groups = inventory["all"]["children"]["lab"]["children"]
    assert {"web": ["web-01", "web-02"], "db": ["db-01"]} == {
        name: list(group["hosts"]) for name, group in groups.items()
    }
    web01 = groups["web"]["hosts"]["web-01"]
    assert "community.general.chroot" == web01["ansible_connection"]
    assert str(lab.root("web-01")) == web01["ansible_host"]
    assert str(lab.wrapper("web-01")) == web01["ansible_chroot_exe"]
    assert "/usr/bin/python3" == web01["ansible_python_interpreter"]
    assert f"http://{lab.ip('web-01')}:8080/health" == web01["health_url"]
    assert 8080 == web01["health_port"]


def test_facts_show_debian_hosts_with_sysvinit(lab: Lab, tmp_path: Path) -> None:
    results = run_playbook(lab, "facts.yml", tmp_path / "facts")
    assert set(lab.hosts) == set(results)
    for host, facts in results.items():
        assert "Debian" == facts["distribution"]
        assert "12" == facts["major_version"]
        assert "bookworm" == facts["release"]
        assert host == facts["hostname"]
        assert "sysvinit" == facts["service_mgr"]
        assert "apt" == facts["pkg_mgr"]
        assert [lab.ip(host)] == facts["ipv4"]
        assert ["eth0", "lo"] == facts["interfaces"]
        assert "lab" in facts["groups"]


def test_dist_upgrade_offers_toilbot_demo_1_1(lab: Lab, tmp_path: Path) -> None:
    results = run_playbook(lab, "pending.yml", tmp_path / "pending")
    assert set(lab.hosts) == set(results)
    for host, result in results.items():
        installs = [line for line in result["lines"] if line.startswith("Inst ")]
        assert 1 == len(installs), (host, result["lines"])
        assert installs[0].startswith(f"Inst toilbot-demo [{OLD_VERSION}] ({NEW_VERSION} ")
        assert OLD_VERSION == lab.run(host, "dpkg-query -W -f=${Version} toilbot-demo")


def test_service_restart_changes_the_pid_and_health_answers(lab: Lab, tmp_path: Path) -> None:
    before = {host: lab.service_pid(host) for host in lab.hosts}
    assert all(before.values()), before

    results = run_playbook(lab, "restart.yml", tmp_path / "restart")

    assert set(lab.hosts) == set(results)
    for host, result in results.items():
        assert result["changed"] is True
        assert before[host] == result["pid_before"]
        assert result["pid_after"] != result["pid_before"]
        assert lab.service_pid(host) == result["pid_after"]
        assert 200 == result["health_status"]
        assert host == result["health_host"]
        assert result["pid_after"] == result["health_pid"]
        health = get_health(lab.health_url(host))
        assert (host, result["pid_after"]) == (health["host"], health["pid"])
        assert "demo is running" in lab.run(host, "service demo status")


def test_each_host_has_its_own_network_namespace(lab: Lab, tmp_path: Path) -> None:
    results = run_playbook(lab, "netns.yml", tmp_path / "netns")

    assert set(lab.hosts) == set(results)
    namespaces = {result["netns"] for result in results.values()}
    assert len(lab.hosts) == len(namespaces)
    assert str(Path("/proc/self/ns/net").readlink()) not in namespaces
    for host, result in results.items():
        assert host == result["loopback_host"]
        addresses = " ".join(result["addresses"])
        assert f"inet {lab.ip(host)}/24" in addresses
        others = [lab.ip(other) for other in lab.hosts if other != host]
        assert not any(f"inet {ip}/" in addresses for ip in others)
        # The namespace Ansible's commands ran in is the one `ip netns` knows by the host's name.
        inode = (Path("/run/netns") / lab.netns(host)).stat().st_ino
        assert f"net:[{inode}]" == result["netns"]


def test_patch_installs_1_1_and_requires_a_reboot(lab: Lab, tmp_path: Path) -> None:
    try:
        results = run_playbook(lab, "patch.yml", tmp_path / "patch", "--limit", "db-01")
        assert ["db-01"] == list(results)
        assert results["db-01"]["changed"] is True
        assert results["db-01"]["reboot_required"] is True
        assert ["toilbot-demo"] == results["db-01"]["reboot_pkgs"]
        assert NEW_VERSION == lab.run("db-01", "dpkg-query -W -f=${Version} toilbot-demo")
        assert OLD_VERSION == lab.run("web-01", "dpkg-query -W -f=${Version} toilbot-demo")
        assert not (lab.root("web-01") / "run/reboot-required").exists()
    finally:
        lab.reset("db-01")
    assert OLD_VERSION == lab.run("db-01", "dpkg-query -W -f=${Version} toilbot-demo")
    assert not (lab.root("db-01") / "run/reboot-required").exists()


def test_build_without_root_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabUnavailable, match="the lab needs root"):
        Lab.build(tmp_path / "lab")
    assert not (tmp_path / "lab").exists()


def test_one_lab_per_machine(lab: Lab, tmp_path: Path) -> None:
    with pytest.raises(LabError, match=f"another toilbot lab is running in {lab.dir}"):
        Lab.build(tmp_path / "second")
    assert not (tmp_path / "second").exists()
    assert lab.service_pid("web-01")
