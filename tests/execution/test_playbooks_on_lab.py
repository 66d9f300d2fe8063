"""Patching, reboots and restarts for real: `toilbot exec` against the lab's hosts.

The lab (tests/lab) has web-01, web-02 and db-01, each with its own root file
system, network namespace, apt repository (toilbot-demo 1.0 installed, 1.1
pending; 1.1 asks for a reboot) and a `demo` service answering /health. It also
has rpm-01 (group rpmlab), where rpm and dnf do the same with toilbot-demo
1.0-1 and 1.1-1 and `needs-restarting -r` says when a reboot is due. Every host
reboots with its inventory's reboot_command: services stop and start again
(new pid), /run is emptied and the boot id changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, toilbot_cli
from tests.lab.lab import Lab

HOSTS = ("db-01", "web-01", "web-02")
RPM_HOST = "rpm-01"


@pytest.fixture
def lab_env(lab: Lab, env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """toilbot configured for the lab: its inventory (plus service states), real specs."""
    inventory = yaml.safe_load(lab.inventory_path.read_text())
    inventory["all"]["children"]["lab"]["vars"] = {"toilbot_services": ["demo"]}
    path = tmp_path / "lab-inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    config = tmp_path / "lab-toilbot.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inventory": str(path),
                "commands_dir": str(REPO / "commands"),
                "playbooks_dir": str(REPO / "playbooks"),
                "local_user": "U0ADMIN",
                "policy": {"roles": {"admin": {"permissions": ["*"], "members": ["U0ADMIN"]}}},
            }
        )
    )
    for host in HOSTS:
        lab.reset(host)
    yield {**env, "TOILBOT_CONFIG": str(config)}
    for host in HOSTS:
        lab.reset(host)


def exec_json(environ: dict[str, str], text: str) -> dict:
    proc = toilbot_cli(environ, "exec", "--yes", "--json", text, timeout=600)
    body = json.loads(proc.stdout)
    body["returncode"] = proc.returncode
    body["stderr"] = proc.stderr
    return body


def results(body: dict) -> dict[str, dict]:
    return {r["host"]: r for r in body["job"]["results"]}


@pytest.fixture
def rpm_env(lab: Lab, lab_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """lab_env, with rpm-01 reset before and after as well."""
    lab.reset(RPM_HOST)
    yield lab_env
    lab.reset(RPM_HOST)


def demo_version(lab: Lab, host: str) -> str:
    return lab.run(host, "dpkg-query -W -f=${Version} toilbot-demo").strip()


def reboot_flag(lab: Lab, host: str) -> Path:
    """The host's /var/run/reboot-required, seen from here.

    Not root / "var/run/...": in the host /var/run is the symlink /run, which from here
    would be the controller's own /run.
    """
    return lab.root(host) / "run/reboot-required"


def rpm_version(lab: Lab) -> str:
    return lab.run(RPM_HOST, "rpm -q --qf %{VERSION}-%{RELEASE} toilbot-demo").strip()


def needs_restarting(lab: Lab) -> int:
    """`needs-restarting -r` on rpm-01: 1 when a reboot is due, 0 when not."""
    return int(lab.shell(RPM_HOST, "needs-restarting -r >/dev/null; echo $?").strip())


def test_status_reports_real_facts(lab: Lab, lab_env):
    """`status lab` reads each host: its OS, the pending upgrade, no reboot, demo running."""
    body = exec_json(lab_env, "status lab")
    assert 0 == body["returncode"], body
    for host, result in results(body).items():
        report = result["report"]
        assert report["os"].startswith("Debian 12"), host
        assert 1 == int(report["pending_updates"])
        assert report["reboot_required"] is False
        assert ["demo running"] == report["services"]


def test_patch_check_lists_the_upgrade_and_changes_nothing(lab: Lab, lab_env):
    """`patch lab --check` lists toilbot-demo 1.0 -> 1.1 on every host; dpkg still shows 1.0."""
    body = exec_json(lab_env, "patch lab --check")
    assert 0 == body["returncode"], body
    assert HOSTS == tuple(sorted(results(body)))
    for host, result in results(body).items():
        report = result["report"]
        assert "ok" == result["status"], (host, result)
        assert ["toilbot-demo 1.0 -> 1.1"] == report["packages"]
        assert "check: nothing changed" == report["mode"]
        assert "refreshed" == report["package_lists"]
        assert "1.0" == demo_version(lab, host)
        assert not reboot_flag(lab, host).exists()


def test_security_only_leaves_other_updates(lab: Lab, lab_env):
    """toilbot-demo does not come from a security archive, so --security-only finds nothing."""
    body = exec_json(lab_env, "patch web-01 --security-only --check")
    assert 0 == body["returncode"], body
    assert [] == results(body)["web-01"]["report"]["packages"]


def test_patch_one_host_upgrades_it_alone(lab: Lab, lab_env):
    """`patch web-01` upgrades web-01 only and reports that a reboot is required."""
    body = exec_json(lab_env, "patch web-01")
    assert 0 == body["returncode"], body
    [result] = body["job"]["results"]
    report = result["report"]
    assert ("web-01", "changed") == (result["host"], result["status"])
    assert ["toilbot-demo 1.0 -> 1.1"] == report["upgraded"]
    assert report["reboot_required"] is True
    assert report["rebooted"] is False
    assert "ok" == report["health"]  # the lab gives every host health_url and health_port
    assert ("1.1", "1.0", "1.0") == tuple(
        demo_version(lab, h) for h in ("web-01", "web-02", "db-01")
    )
    follow_up = exec_json(lab_env, "status web-01")
    assert results(follow_up)["web-01"]["report"]["reboot_required"] is True


def test_rolling_restart_changes_every_pid_and_stays_healthy(lab: Lab, lab_env):
    """`restart demo on lab --serial 1` restarts each host in turn: new PID, healthy again."""
    before = {h: lab.service_pid(h) for h in HOSTS}
    body = exec_json(lab_env, "restart demo on lab --serial 1")
    assert 0 == body["returncode"], body
    for host, result in results(body).items():
        report = result["report"]
        after = lab.service_pid(host)
        assert after is not None and after != before[host], host
        assert (str(before[host]), str(after)) == (report["pid_before"], report["pid_after"])
        assert "ok" == report["health"]
        assert report["healthy_after"].endswith("s")


def test_rollout_stops_when_a_host_does_not_come_back(lab: Lab, lab_env):
    """A host whose service does not start again fails; the batches after it are not touched."""
    daemon = lab.root("web-01") / "usr/local/sbin/demo-server"
    original = daemon.read_bytes()
    untouched = lab.service_pid("web-02")
    try:
        daemon.write_text("#!/bin/sh\nexit 1\n")  # the next start fails
        body = exec_json(lab_env, "restart demo on lab --serial 1")
    finally:
        daemon.write_bytes(original)
    assert 1 == body["returncode"]
    found = results(body)
    assert {"db-01": "changed", "web-01": "failed", "web-02": "not run"} == {
        h: r["status"] for h, r in found.items()
    }
    assert "Restart the service" == found["web-01"]["failed_task"]
    assert untouched == lab.service_pid("web-02")


def test_patch_if_required_reboots_and_comes_back_healthy(lab: Lab, lab_env):
    """`patch web-01 --reboot if-required`: 1.1 asks for a reboot, so web-01 reboots."""
    pid_before, boot_before = lab.service_pid("web-01"), lab.boot_id("web-01")
    others = {h: (lab.boot_id(h), lab.service_pid(h)) for h in ("web-02", "db-01")}

    body = exec_json(lab_env, "patch web-01 --reboot if-required")

    assert 0 == body["returncode"], body
    [result] = body["job"]["results"]
    report = result["report"]
    assert ("web-01", "changed") == (result["host"], result["status"])
    assert ["toilbot-demo 1.0 -> 1.1"] == report["upgraded"]
    assert report["rebooted"] is True
    assert report["reboot_required"] is False
    assert "ok" == report["health"]
    assert "1.1" == demo_version(lab, "web-01")
    assert lab.boot_id("web-01") != boot_before
    pid_after = lab.service_pid("web-01")
    assert pid_after is not None and pid_after != pid_before
    assert not reboot_flag(lab, "web-01").exists()
    assert not reboot_flag(lab, "web-01").with_suffix(".pkgs").exists()
    assert others == {h: (lab.boot_id(h), lab.service_pid(h)) for h in others}
    follow_up = exec_json(lab_env, "status web-01")
    assert results(follow_up)["web-01"]["report"]["reboot_required"] is False


def test_patch_reboot_never_leaves_the_reboot_required(lab: Lab, lab_env):
    """`patch web-02 --reboot never` upgrades and says a reboot is required, but no reboot."""
    pid_before, boot_before = lab.service_pid("web-02"), lab.boot_id("web-02")

    body = exec_json(lab_env, "patch web-02 --reboot never")

    assert 0 == body["returncode"], body
    report = results(body)["web-02"]["report"]
    assert ["toilbot-demo 1.0 -> 1.1"] == report["upgraded"]
    assert report["rebooted"] is False
    assert report["reboot_required"] is True
    assert (boot_before, pid_before) == (lab.boot_id("web-02"), lab.service_pid("web-02"))
    assert reboot_flag(lab, "web-02").exists()


def test_patch_reboot_always_in_check_mode_does_not_reboot(lab: Lab, lab_env):
    """`patch db-01 --reboot always --check` lists the upgrade; no upgrade, no reboot."""
    pid_before, boot_before = lab.service_pid("db-01"), lab.boot_id("db-01")

    body = exec_json(lab_env, "patch db-01 --reboot always --check")

    assert 0 == body["returncode"], body
    result = results(body)["db-01"]
    assert "ok" == result["status"], result
    assert ["toilbot-demo 1.0 -> 1.1"] == result["report"]["packages"]
    assert "check: nothing changed" == result["report"]["mode"]
    assert "rebooted" not in result["report"]
    assert (boot_before, pid_before) == (lab.boot_id("db-01"), lab.service_pid("db-01"))
    assert "1.0" == demo_version(lab, "db-01")


def test_patch_reboot_always_reboots_with_nothing_to_upgrade(lab: Lab, lab_env):
    """`--reboot always` reboots a host even when no update asked for it."""
    lab.shell("db-01", "apt-get install -y -q toilbot-demo=1.1 && rm /run/reboot-required*")
    boot_before = lab.boot_id("db-01")

    body = exec_json(lab_env, "patch db-01 --reboot always")

    assert 0 == body["returncode"], body
    report = results(body)["db-01"]["report"]
    assert [] == report["upgraded"]
    assert report["rebooted"] is True
    assert report["reboot_required"] is False
    assert lab.boot_id("db-01") != boot_before
    assert "ok" == report["health"]


# -- rpm-01: the dnf path ----------------------------------------------------------------


def test_status_reads_the_rpm_host(lab: Lab, rpm_env):
    """`status rpm-01`: a RHEL 9.4 with one pending dnf update and demo running."""
    body = exec_json(rpm_env, "status rpm-01")
    assert 0 == body["returncode"], body
    report = results(body)[RPM_HOST]["report"]
    assert "RedHat 9.4" == report["os"]
    assert 1 == int(report["pending_updates"])
    assert report["reboot_required"] is False


def test_patch_check_on_the_rpm_host_lists_the_dnf_update(lab: Lab, rpm_env):
    """`patch rpm-01 --check` lists toilbot-demo 1.0-1 -> 1.1-1 from dnf; rpm still has 1.0-1."""
    body = exec_json(rpm_env, "patch rpm-01 --check")
    assert 0 == body["returncode"], body
    result = results(body)[RPM_HOST]
    assert "ok" == result["status"], result
    assert ["toilbot-demo 1.0-1 -> 1.1-1"] == result["report"]["packages"]
    assert 1 == int(result["report"]["pending_updates"])
    assert "check: nothing changed" == result["report"]["mode"]
    assert "1.0-1" == rpm_version(lab)
    assert 0 == needs_restarting(lab)


def test_patch_upgrades_the_rpm_host_with_dnf_and_requires_a_reboot(lab: Lab, rpm_env):
    """`patch rpm-01`: dnf installs 1.1-1, needs-restarting -r asks for a reboot, none yet."""
    boot_before = lab.boot_id(RPM_HOST)

    body = exec_json(rpm_env, "patch rpm-01")

    assert 0 == body["returncode"], body
    result = results(body)[RPM_HOST]
    report = result["report"]
    assert "changed" == result["status"], result
    assert 1 == len(report["upgraded"]) and report["upgraded"][0].endswith(" -> 1.1-1")
    assert report["reboot_required"] is True
    assert report["rebooted"] is False
    assert "ok" == report["health"]
    assert "1.1-1" == rpm_version(lab)
    assert 1 == needs_restarting(lab)
    assert boot_before == lab.boot_id(RPM_HOST)


def test_patch_rpm_host_if_required_reboots_it(lab: Lab, rpm_env):
    """`patch rpm-01 --reboot if-required` reboots; then needs-restarting is satisfied."""
    pid_before, boot_before = lab.service_pid(RPM_HOST), lab.boot_id(RPM_HOST)

    body = exec_json(rpm_env, "patch rpm-01 --reboot if-required")

    assert 0 == body["returncode"], body
    report = results(body)[RPM_HOST]["report"]
    assert report["rebooted"] is True
    assert report["reboot_required"] is False
    assert "ok" == report["health"]
    assert "1.1-1" == rpm_version(lab)
    assert 0 == needs_restarting(lab)
    assert lab.boot_id(RPM_HOST) != boot_before
    assert lab.service_pid(RPM_HOST) not in (None, pid_before)


def test_patch_rpm_host_reports_the_old_version(lab: Lab, rpm_env):
    body = exec_json(rpm_env, "patch rpm-01")
    assert 0 == body["returncode"], body
    assert ["toilbot-demo 1.0-1 -> 1.1-1"] == results(body)[RPM_HOST]["report"]["upgraded"]


def test_patch_rpm_host_reports_refreshed_package_lists(lab: Lab, rpm_env):
    body = exec_json(rpm_env, "patch rpm-01 --check")
    assert 0 == body["returncode"], body
    assert "refreshed" == results(body)[RPM_HOST]["report"]["package_lists"]


def test_status_of_the_rpm_host_shows_a_required_reboot(lab: Lab, rpm_env):
    patched = exec_json(rpm_env, "patch rpm-01")
    assert results(patched)[RPM_HOST]["report"]["reboot_required"] is True
    body = exec_json(rpm_env, "status rpm-01")
    assert 0 == body["returncode"], body
    assert results(body)[RPM_HOST]["report"]["reboot_required"] is True
