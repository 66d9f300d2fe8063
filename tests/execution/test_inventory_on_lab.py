"""An inventory directory on the lab's real hosts: hosts.ini with a range and a children
group, each host's connection in host_vars/, the services to check in group_vars/. toilbot
reads it through ansible-inventory and gives the playbook run the same directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, toilbot_cli
from tests.lab.lab import Lab

pytestmark = pytest.mark.slow

HOSTS_INI = """\
[web]
web-[01:02]

[db]
db-01

[lab:children]
web
db
"""


def test_status_through_an_inventory_directory_on_the_lab(lab: Lab, env, tmp_path: Path):
    """`toilbot check` passes and `status` on a ranged host and on the children group reads
    each real host, with the services group_vars/lab.yml names."""
    data = yaml.safe_load(lab.inventory_path.read_text())
    groups = data["all"]["children"]["lab"]["children"]
    assert {"web": ["web-01", "web-02"], "db": ["db-01"]} == {
        name: sorted(group["hosts"]) for name, group in groups.items()
    }
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "group_vars").mkdir()
    (inventory / "hosts.ini").write_text(HOSTS_INI)
    for group in groups.values():
        for host, host_vars in group["hosts"].items():
            (inventory / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(host_vars))
    (inventory / "group_vars" / "lab.yml").write_text(
        yaml.safe_dump({"toilbot_services": ["demo"]})
    )
    config = tmp_path / "lab-toilbot.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inventory": ["inventory"],
                "commands_dir": str(REPO / "commands"),
                "playbooks_dir": str(REPO / "playbooks"),
                "local_user": "U0ADMIN",
                "policy": {"roles": {"admin": {"permissions": ["*"], "members": ["U0ADMIN"]}}},
            }
        )
    )
    environ = {**env, "TOILBOT_CONFIG": str(config)}
    checked = toilbot_cli(environ, "check")
    assert 0 == checked.returncode, checked.stdout
    assert "(3 hosts, 3 groups, read by ansible-inventory)" in checked.stdout
    for target, hosts in (("web-02", ["web-02"]), ("lab", ["db-01", "web-01", "web-02"])):
        proc = toilbot_cli(environ, "exec", "--json", f"status {target}", timeout=600)
        body = json.loads(proc.stdout)
        assert 0 == proc.returncode, body
        results = {r["host"]: r for r in body["job"]["results"]}
        assert hosts == sorted(results)
        for host, result in results.items():
            assert result["report"]["os"].startswith("Debian 12"), host
            assert ["demo running"] == result["report"]["services"], host
