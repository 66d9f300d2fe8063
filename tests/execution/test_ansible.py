"""The ansible-runner wrapper on its own: values stay inert, results are per host."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.execution.ansible import (
    Progress,
    RunRequest,
    extravars_yaml,
    output_lines,
    run_playbook,
)
from bot.execution.records import HostStatus
from bot.execution.rundirs import runs_dir


def request(config_path: Path, playbook: str, hosts: list[str], values: dict) -> RunRequest:
    root = config_path.parent
    return RunRequest(
        playbook=root / "playbooks" / playbook,
        inventory=root / "hosts.yml",
        hosts=hosts,
        values=values,
        check_mode=False,
        timeout=120,
        forks=5,
        runs_dir=runs_dir(root / "data"),
    )


def test_template_syntax_in_a_value_is_inert(config_path, tmp_path):
    """A value holding Jinja reaches the playbook as literal text; the lookup never runs."""
    marker = tmp_path / "pwned"
    payload = f"{{{{ lookup('pipe', 'touch {marker}') }}}}"
    values = {"mode": payload, "period": 60, "note": "{{ 7 * 7 }}"}
    outcome = run_playbook(
        request(config_path, "echo.yml", ["localhost"], values), lambda _p: None, lambda: False
    )
    result = outcome.results["localhost"]
    assert HostStatus.OK == result.status, result.message
    assert payload == result.report["mode"]
    assert "{{ 7 * 7 }}" == result.report["note"]
    assert not marker.exists()


def test_extravars_are_written_unsafe():
    """Every string in the extra-vars file carries the !unsafe tag; numbers stay numbers."""
    text = extravars_yaml({"service": "nginx", "serial": 2, "check": True})
    assert "toilbot_service: !unsafe 'nginx'" in text
    assert "toilbot_serial: 2" in text
    assert {"toilbot_serial": 2, "toilbot_check": True} == {
        k: v
        for k, v in yaml.safe_load(text.replace("!unsafe ", "")).items()
        if k != "toilbot_service"
    }


def test_per_host_results_and_progress(config_path):
    """Hosts get their own status, failing task and message; progress arrives while it runs."""
    seen: list[Progress] = []
    outcome = run_playbook(
        request(config_path, "restart.yml", ["web-01", "web-02"], {"service": "demo"}),
        seen.append,
        lambda: False,
    )
    assert "failed" == outcome.status
    for host in ("web-01", "web-02"):
        result = outcome.results[host]
        assert HostStatus.FAILED == result.status
        assert "Restart the service" == result.failed_task
        assert "Could not find the requested service demo" in (result.message or "")
    assert any(p.outcome == "failed" for p in seen)
    assert outcome.pid is not None
    assert any(line for p in seen for line in p.output)


def test_a_missing_host_is_unreachable(config_path, tmp_path):
    """A host Ansible cannot reach is reported unreachable with Ansible's message."""
    inventory = tmp_path / "unreachable.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "ghost": {
                            "ansible_connection": "community.general.chroot",
                            "ansible_host": str(tmp_path / "no-such-root"),
                        }
                    }
                }
            }
        )
    )
    req = request(config_path, "status.yml", ["ghost"], {})
    req.inventory = inventory
    outcome = run_playbook(req, lambda _p: None, lambda: False)
    result = outcome.results["ghost"]
    assert result.status in (HostStatus.UNREACHABLE, HostStatus.FAILED)
    assert result.message


def test_output_lines_drop_colour_and_rules_of_asterisks():
    """A job's last lines on a phone: Ansible's rules of asterisks wrapped into rows of stars."""
    stdout = (
        "\x1b[0;32mTASK [Read service states] ************************************\x1b[0m\n"
        "*******\n\n"
        "ok: [web-01]\n"
        "PLAY RECAP *********************************************************\n"
    )
    assert ["TASK [Read service states]", "ok: [web-01]", "PLAY RECAP"] == output_lines(stdout)
