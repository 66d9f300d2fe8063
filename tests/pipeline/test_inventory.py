"""The inventory through Ansible: every source ansible-inventory takes, cached, refreshed, and
the last good one kept when a source fails. All with the real ansible-inventory and Redis."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
import redis
import yaml

from bot.config.settings import load_settings
from bot.pipeline.inventory import load_inventory
from bot.pipeline.inventory.cache import Inventories
from bot.pipeline.inventory.source import InventorySettings
from bot.platform.errors import ConfigError
from bot.platform.store import Store
from tests.conftest import ADMIN, OPERATOR, toilbot_cli, wait_for, write_config
from tests.harness import Harness

HOSTS_INI = """\
[web]
web-[01:03]

[db]
db-01

[prod:children]
web
db
"""
CONSTRUCTED = """\
plugin: ansible.builtin.constructed
strict: true
groups:
  edge: inventory_hostname in ['web-01', 'web-03']
"""
SCRIPT = """\
#!/bin/sh
if [ "$1" = "--list" ]; then
  echo '{"cloud": {"hosts": ["vm-a", "vm-b"]}, "_meta": {"hostvars": {}}}'
else
  echo '{}'
fi
"""
FAILING = """\
#!/bin/sh
echo "cloud API: 403 Forbidden, token expired" >&2
exit 3
"""


def script(path: Path, body: str) -> Path:
    path.write_text(body)
    path.chmod(0o755)
    return path


def fleet(directory: Path) -> list[str]:
    """An inventory directory (hosts.ini with a range and a children group, group_vars/all.yml
    making every host local), a constructed source and a script source; the sources, in order."""
    inventory = directory / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.ini").write_text(HOSTS_INI)
    markers = directory / "markers"
    markers.mkdir(exist_ok=True)
    all_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "marker_dir": str(markers),
    }
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(all_vars))
    (directory / "edge.constructed.yml").write_text(CONSTRUCTED)
    script(directory / "cloud.sh", SCRIPT)
    return ["inventory", "cloud.sh", "edge.constructed.yml"]


@pytest.fixture
def fleet_config(config_path: Path) -> Path:
    """The test setup (tests/conftest.py) on the fleet's sources instead of hosts.yml."""
    sources = fleet(config_path.parent)
    config = yaml.safe_load(config_path.read_text())
    config["inventory"] = sources
    config_path.write_text(yaml.safe_dump(config))
    return config_path


def test_a_directory_constructed_and_script_sources_check_and_run_for_real(
    fleet_config: Path, env: dict[str, str], r: redis.Redis
) -> None:
    """`toilbot check` passes on hosts.ini (a range, a children group) with group_vars, a
    constructed source and a script; `status` on a ranged host and on the children group
    runs real Ansible, with the connection group_vars/all.yml gives."""
    checked = toilbot_cli(env, "check")
    assert 0 == checked.returncode, checked.stdout + checked.stderr
    assert "6 hosts, 5 groups, read by ansible-inventory" in checked.stdout
    harness = Harness.start(load_settings(env), Store(r, "test Redis"))
    out = harness.say("status web-02", ADMIN)
    assert "Job 1 succeeded" in out, out
    out = harness.say("status prod", ADMIN)
    assert "on 4 hosts" in out and "Job 2 succeeded" in out, out
    for host in ("db-01", "web-01", "web-02", "web-03"):
        assert host in out
    assert ("web-01", "web-03") == harness.bot.inventory.resolve("edge")
    assert ("vm-a", "vm-b") == harness.bot.inventory.resolve("cloud")


@pytest.mark.parametrize(
    ("files", "source", "expected"),
    [
        ({"hosts.ini": HOSTS_INI}, "hosts.ini", {"prod": 4, "web": 3, "db": 1}),
        (
            {"hosts.yml": "all:\n  children:\n    web:\n      hosts:\n        web-[01:03]:\n"},
            "hosts.yml",
            {"web": 3},
        ),
        (
            {
                "dir/hosts": "[db]\ndb-[1:2]\n",
                "dir/host_vars/db-1.yml": "ansible_connection: local\n",
                "dir/group_vars/db.yml": "tier: data\n",
            },
            "dir",
            {"db": 2},
        ),
        ({"cloud.sh": SCRIPT}, "cloud.sh", {"cloud": 2}),
    ],
)
def test_each_format_is_read_by_ansible(tmp_path, files, source, expected):
    """INI and YAML files (with ranges), a directory with host_vars and group_vars, and an
    executable script: whatever Ansible reads, groups with their hosts counted."""
    for name, body in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        if name.endswith(".sh"):
            path.chmod(0o755)
    inventory = load_inventory(tmp_path / source)
    assert expected == {g: len(h) for g, h in inventory.groups.items() if g in expected}
    assert set(expected) == set(inventory.groups)
    assert () == inventory.skipped


def test_several_sources_at_once_in_order_and_a_constructed_group_over_them(tmp_path):
    """Sources are read together, in order: a constructed source groups the hosts of the
    ones before it, and a host range counts each host once."""
    sources = [tmp_path / s for s in fleet(tmp_path)]
    inventory = load_inventory(sources)
    expected = {"db-01", "web-01", "web-02", "web-03", "vm-a", "vm-b"}
    assert expected == set(inventory.hosts)
    assert ("web-01", "web-03") == inventory.resolve("edge")
    assert ("db-01", "web-01", "web-02", "web-03") == inventory.resolve("prod")


def test_the_inventory_setting_takes_a_path_a_list_or_options(tmp_path):
    """`inventory:` is one path (as before), a list of paths, or {sources, cache_seconds,
    timeout}; a missing source names itself."""
    fleet(tmp_path)
    cases = {
        "inventory": "inventory",
        "one": ["inventory", "cloud.sh"],
        "full": {"sources": ["cloud.sh"], "cache_seconds": 30, "timeout": 5},
    }
    found = {}
    for name, value in cases.items():
        path = write_config(tmp_path / name, inventory=value)
        for source in ("inventory", "cloud.sh"):
            target = tmp_path / name / source
            if not target.exists():
                target.symlink_to(tmp_path / source)
        settings = load_settings({"TOILBOT_CONFIG": str(path)}).inventory
        found[name] = ([p.name for p in settings.sources], settings.cache_seconds, settings.timeout)
    assert {
        "inventory": (["inventory"], 300, 60),
        "one": (["inventory", "cloud.sh"], 300, 60),
        "full": (["cloud.sh"], 30, 5),
    } == found
    missing = write_config(tmp_path / "missing", inventory=["hosts.yml", "nowhere.ini"])
    with pytest.raises(ConfigError) as caught:
        load_settings({"TOILBOT_CONFIG": str(missing)})
    assert "inventory[1]: " in str(caught.value) and "nowhere.ini does not exist" in str(
        caught.value
    )


def test_a_name_that_is_not_plain_is_skipped_naming_its_source_among_several(tmp_path):
    """With several sources, a host name that could act as a pattern is not a target, and
    the message names the source it came from; the other hosts stay targets."""
    fleet(tmp_path)
    odd = tmp_path / "odd.ini"
    odd.write_text("[odd]\nweb*\nok-9\n")
    inventory = load_inventory([tmp_path / "inventory", odd])
    assert [f"host 'web*' from {odd} is not a target: "] == [
        s.describe()[: len(f"host 'web*' from {odd} is not a target: ")] for s in inventory.skipped
    ]
    assert ("ok-9",) == inventory.resolve("odd")
    assert "web*" not in inventory.hosts


def test_a_failing_source_is_refused_with_ansibles_message_naming_it(tmp_path):
    """A script that fails is a ConfigError naming that script, with what it printed."""
    fleet(tmp_path)
    bad = script(tmp_path / "bad.sh", FAILING)
    with pytest.raises(ConfigError) as caught:
        load_inventory([tmp_path / "inventory", bad])
    message = str(caught.value)
    assert message.startswith(f"{bad}: ansible-inventory could not read this inventory source")
    assert "cloud API: 403 Forbidden, token expired" in message
    assert "Inventory script returned non-zero exit code 3" in message


def test_a_slow_source_times_out_and_its_script_is_stopped(tmp_path):
    """A source slower than inventory.timeout is a ConfigError within the timeout, and the
    script ansible-inventory started is stopped with it."""
    marker = tmp_path / "still-running"
    slow = script(tmp_path / "slow.sh", f"#!/bin/sh\nsleep 5\ntouch {marker}\necho '{{}}'\n")
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_inventory([slow], timeout=1)
    assert time.monotonic() - started < 4
    assert "did not finish reading these inventory sources within 1s" in str(caught.value)
    assert str(slow) in str(caught.value)
    time.sleep(5)
    assert not marker.exists()


def counting(calls: list[float]):
    """The real loader, counted."""

    def load(sources, timeout):
        calls.append(time.time())
        return load_inventory(sources, timeout)

    return load


def test_the_cache_is_shared_through_redis_and_refreshed_after_its_ttl(tmp_path, r):
    """A second process starts on the copy in Redis without running Ansible; after
    cache_seconds the inventory is read again in the background, and `refresh` reads it now."""
    hosts = tmp_path / "hosts.ini"
    hosts.write_text("[web]\nweb-[01:02]\n")
    settings = InventorySettings((hosts,), cache_seconds=2, timeout=30)
    calls: list[float] = []
    first = Inventories(settings, r, counting(calls))
    assert {"web-01", "web-02"} == set(first.start().inventory.hosts)
    second = Inventories(settings, r, counting(calls))
    assert {"web-01", "web-02"} == set(second.start().inventory.hosts)
    assert 1 == len(calls)  # the second took Redis's copy
    for _ in range(20):  # within the TTL: no Ansible, whatever the number of requests
        first.current()
    assert 1 == len(calls)
    hosts.write_text("[web]\nweb-[01:03]\n")
    wait_for(lambda: "web-03" in first.current().hosts, 15, "the TTL refresh")
    wait_for(lambda: "web-03" in second.current().hosts, 5, "the other process to see it")
    assert 2 == len(calls)  # one process read it; the other took it from Redis
    hosts.write_text("[web]\nweb-[01:04]\n")
    assert "web-04" in second.refresh().inventory.hosts
    assert 3 == len(calls)


def test_a_failing_refresh_keeps_the_last_good_inventory_and_says_so(r, caplog, fleet_config, env):
    """When the script source starts failing, `inventory refresh` keeps the last good
    inventory, says so with the script's error, logs it, and `inventory` keeps saying it."""
    config_path = fleet_config
    harness = Harness.start(load_settings(env), Store(r, "test Redis"))
    listing = harness.say("inventory", ADMIN)
    assert "6 hosts" in listing and "cloud: 2 hosts" in listing and "prod: 4 hosts" in listing
    script(config_path.parent / "cloud.sh", FAILING)
    with caplog.at_level(logging.ERROR, logger="bot.pipeline.inventory.cache"):
        out = harness.say("inventory refresh", ADMIN)
    assert "could not be refreshed; the last good one" in out, out
    assert "cloud API: 403 Forbidden, token expired" in out and "cloud.sh" in out
    assert "inventory not refreshed, the last good one stays in use" in caplog.text
    assert "cloud.sh" in caplog.text
    assert ("vm-a", "vm-b") == harness.bot.inventory.resolve("cloud")
    assert "Job 1 succeeded" in harness.say("status web-01", ADMIN)
    again = harness.say("inventory", ADMIN)
    assert "6 hosts" in again and "could not be refreshed" in again
    script(config_path.parent / "cloud.sh", SCRIPT)
    assert "Inventory refreshed: 6 hosts" in harness.say("inventory refresh", ADMIN)
    assert "could not be refreshed" not in harness.say("inventory", ADMIN)


def test_inventory_needs_its_permission_and_takes_only_refresh(harness):
    """`inventory` needs the `inventory` permission (the admin's "*"); another word is refused
    with the usage."""
    refused = re.compile(
        rf"You \(<@{OPERATOR}>\) may not run `?inventory`?: it needs the `?inventory`? permission"
    )
    for command in ("inventory", "inventory refresh"):
        assert refused.search(harness.say(command, OPERATOR))
    assert "Usage: inventory [refresh]" in harness.say("inventory reload", ADMIN)
    listing = harness.say("inventory", ADMIN)
    assert ": 4 hosts, read " in listing and "web: 2 hosts" in listing
    assert "db: 1 host\n" in listing and "Refresh now" in listing


def test_a_slow_refresh_keeps_the_last_good_inventory_and_says_so(tmp_path, r, caplog):
    """A script that turns slow: the refresh stops at inventory.timeout, the last good
    inventory stays in use, and the state says why (as `inventory` shows it)."""
    cloud = script(tmp_path / "cloud.sh", SCRIPT)
    settings = InventorySettings((cloud,), cache_seconds=300, timeout=2)
    inventories = Inventories(settings, r)
    assert ("vm-a", "vm-b") == inventories.start().inventory.resolve("cloud")
    script(cloud, "#!/bin/sh\nsleep 30\n")
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="bot.pipeline.inventory.cache"):
        state = inventories.refresh()
    assert time.monotonic() - started < 10
    assert ("vm-a", "vm-b") == state.inventory.resolve("cloud")
    assert state.error is not None
    assert f"{cloud}: ansible-inventory did not finish reading" in state.error
    assert "within 2s" in state.error and "within 2s" in caplog.text
    assert ("vm-a", "vm-b") == inventories.current().resolve("cloud")
