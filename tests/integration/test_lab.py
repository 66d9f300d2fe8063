"""Patching and restarts for real: `toilbot exec` against the lab's Debian hosts.

The lab (tests/lab) has web-01, web-02 and db-01, each with its own root file
system, network namespace, apt repository (toilbot-demo 1.0 installed, 1.1
pending; 1.1 asks for a reboot) and a `demo` service answering /health.
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


def demo_version(lab: Lab, host: str) -> str:
    return lab.run(host, "dpkg-query -W -f=${Version} toilbot-demo").strip()


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
        assert not (lab.root(host) / "var/run/reboot-required").exists()


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
