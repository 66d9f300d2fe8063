"""The lab is real: plain ansible-playbook against its inventory sees three Debian hosts
and an RPM host, and reboots them.

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
from tests.lab.repo import NEW_VERSION, OLD_VERSION, PACKAGE

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
    assert ["lab", "rpmlab"] == list(inventory["all"]["children"])
    groups = inventory["all"]["children"]["lab"]["children"]
    assert {"web": ["web-01", "web-02"], "db": ["db-01"]} == {
        name: list(group["hosts"]) for name, group in groups.items()
    }
    rpm_groups = inventory["all"]["children"]["rpmlab"]["children"]
    assert {"rpm": ["rpm-01"]} == {name: list(group["hosts"]) for name, group in rpm_groups.items()}
    assert ["web-01", "web-02", "db-01"] == lab.debian_hosts
    assert ["rpm-01"] == lab.rpm_hosts
    web01 = groups["web"]["hosts"]["web-01"]
    assert "community.general.chroot" == web01["ansible_connection"]
    assert str(lab.root("web-01")) == web01["ansible_host"]
    assert str(lab.wrapper("web-01")) == web01["ansible_chroot_exe"]
    assert "/usr/bin/python3" == web01["ansible_python_interpreter"]
    assert f"http://{lab.ip('web-01')}:8080/health" == web01["health_url"]
    assert 8080 == web01["health_port"]
    assert "/usr/local/sbin/lab-reboot" == web01["reboot_command"]
    assert "boot_time_command" not in web01  # Ansible's default reads the host's own boot id
    rpm01 = rpm_groups["rpm"]["hosts"]["rpm-01"]
    assert str(lab.wrapper("rpm-01")) == rpm01["ansible_chroot_exe"]
    assert "/usr/local/sbin/lab-reboot" == rpm01["reboot_command"]


def test_facts_show_debian_hosts_with_sysvinit(lab: Lab, tmp_path: Path) -> None:
    results = run_playbook(lab, "facts.yml", tmp_path / "facts")
    assert set(lab.debian_hosts) == set(results)
    for host, facts in results.items():
        assert "Debian" == facts["distribution"]
        assert "Debian" == facts["os_family"]
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
    assert set(lab.debian_hosts) == set(results)
    for host, result in results.items():
        installs = [line for line in result["lines"] if line.startswith("Inst ")]
        assert 1 == len(installs), (host, result["lines"])
        assert installs[0].startswith(f"Inst toilbot-demo [{OLD_VERSION}] ({NEW_VERSION} ")
        assert OLD_VERSION == lab.run(host, "dpkg-query -W -f=${Version} toilbot-demo")


def test_service_restart_changes_the_pid_and_health_answers(lab: Lab, tmp_path: Path) -> None:
    before = {host: lab.service_pid(host) for host in lab.debian_hosts}
    assert all(before.values()), before

    results = run_playbook(lab, "restart.yml", tmp_path / "restart")

    assert set(lab.debian_hosts) == set(results)
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

    assert set(lab.debian_hosts) == set(results)
    namespaces = {result["netns"] for result in results.values()}
    assert len(lab.debian_hosts) == len(namespaces)
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


def test_rpm_host_facts_say_redhat_with_dnf(lab: Lab, tmp_path: Path) -> None:
    """The setup module sees a RHEL 9.4 whose package manager is dnf, still on sysvinit."""
    results = run_playbook(lab, "facts.yml", tmp_path / "facts", "-e", "lab_hosts=rpmlab")
    assert ["rpm-01"] == list(results)
    facts = results["rpm-01"]
    assert ("RedHat", "RedHat", "9", "9.4") == (
        facts["os_family"],
        facts["distribution"],
        facts["major_version"],
        facts["version"],
    )
    assert "dnf" == facts["pkg_mgr"]
    assert "sysvinit" == facts["service_mgr"]
    assert "rpm-01" == facts["hostname"]
    assert [lab.ip("rpm-01")] == facts["ipv4"]
    assert ["rpm", "rpmlab"] == sorted(facts["groups"])


def test_dnf_upgrades_the_rpm_host_and_needs_restarting_asks_for_a_reboot(
    lab: Lab, tmp_path: Path
) -> None:
    """Real dnf: check-update offers 1.1-1, the dnf module installs it, a reboot is due."""
    assert f"{PACKAGE}-{OLD_VERSION}-1.noarch" == lab.run("rpm-01", f"rpm -q {PACKAGE}").strip()
    try:
        results = run_playbook(lab, "dnf.yml", tmp_path / "dnf", "--limit", "rpm-01")
        result = results["rpm-01"]
        assert "dnf" == result["pkg_mgr"]
        assert 100 == result["pending_rc"]  # dnf check-update: updates are available
        assert [f"{PACKAGE}.noarch 1.1-1 toilbot-lab"] == [
            " ".join(line.split()) for line in result["pending"]
        ]
        assert result["changed"] is True
        assert f"Installed: {PACKAGE}-{NEW_VERSION}-1.noarch" in result["results"]
        assert f"{NEW_VERSION}-1" == result["installed"]
        assert 1 == result["needs_restarting_rc"]
        # A reboot makes /proc/1 new, so the update is older than the boot.
        lab.reboot("rpm-01")
        assert "0" == lab.shell("rpm-01", "needs-restarting -r >/dev/null; echo $?").strip()
    finally:
        lab.reset("rpm-01")
    assert f"{PACKAGE}-{OLD_VERSION}-1.noarch" == lab.run("rpm-01", f"rpm -q {PACKAGE}").strip()
    assert "0" == lab.shell("rpm-01", "needs-restarting -r >/dev/null; echo $?").strip()
    pending = lab.shell("rpm-01", "dnf -q check-update; echo rc=$?").split()
    assert [f"{PACKAGE}.noarch", "1.1-1", "toilbot-lab", "rc=100"] == pending


def test_reboot_module_reboots_a_host_like_a_real_one(lab: Lab, tmp_path: Path) -> None:
    """ansible.builtin.reboot with the inventory's reboot_command: new boot id, new demo."""
    others = {host: lab.boot_id(host) for host in lab.hosts if host != "web-02"}
    results = run_playbook(lab, "reboot.yml", tmp_path / "reboot", "--limit", "web-02")

    result = results["web-02"]
    assert result["rebooted"] is True
    assert result["boot_after"] != result["boot_before"]
    assert lab.boot_id("web-02") == result["boot_after"]
    assert result["pid_after"] != result["pid_before"]
    assert result["pid_after"] == result["health_pid"] == lab.service_pid("web-02")
    assert result["reboot_required_after"] is False  # /run is new after a reboot
    assert others == {host: lab.boot_id(host) for host in others}


def test_reboot_ends_every_process_and_empties_run(lab: Lab) -> None:
    """What a reboot leaves: only init and the services started at boot; a new /run."""
    lab.shell("db-01", "touch /run/leftover; sleep 600 >/dev/null 2>&1 &")
    pid_before, boot_before = lab.service_pid("db-01"), lab.boot_id("db-01")

    boot_after = lab.reboot("db-01")

    assert boot_after != boot_before
    assert not (lab.root("db-01") / "run/leftover").exists()
    assert (lab.root("db-01") / "run/lock").is_dir()
    pid_after = lab.service_pid("db-01")
    assert pid_after is not None and pid_after != pid_before
    processes = lab.run("db-01", "ps -e -o comm=").split()
    assert "sleep" not in processes
    assert ["init", "demo-server"] == [name for name in processes if name != "ps"]
    health = get_health(lab.health_url("db-01"))
    assert ("db-01", pid_after) == (health["host"], health["pid"])
    log = (lab.root("db-01") / "var/log/lab-init.log").read_text()
    assert f"boot {boot_after}: up" in log


def test_reset_waits_for_a_reboot_under_way(lab: Lab) -> None:
    """A reset right after a reboot was asked for lets the reboot finish, then resets."""
    boot_before = lab.boot_id("web-01")
    lab.run("web-01", "/usr/local/sbin/lab-reboot")
    lab.reset("web-01")
    assert lab.boot_id("web-01") != boot_before
    assert not (lab.root("web-01") / "var/lib/toilbot-lab/rebooting").exists()
    assert "demo is running" in lab.run("web-01", "service demo status")
    assert OLD_VERSION == lab.run("web-01", "dpkg-query -W -f=${Version} toilbot-demo")


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
