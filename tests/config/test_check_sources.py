"""`toilbot check` on inventory sources and playbooks: Ansible's whole message, with the
source, or the playbook's file, line and column."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import toilbot_cli

BROKEN_TASK = """\
- name: broken
  hosts: all
  gather_facts: false
  tasks:
    - name: fine
      ansible.builtin.debug:
        msg: hi
    - name: misindented
      ansible.builtin.debug:
        msg: "hi"
       oops: 1
"""


def use_inventory(config_path: Path, sources: object) -> None:
    config = yaml.safe_load(config_path.read_text())
    config["inventory"] = sources
    config_path.write_text(yaml.safe_dump(config))


def test_check_names_a_broken_source_with_ansibles_message(config_path, env):
    """A script source that fails: check fails, naming the script and quoting what it printed
    (every line of Ansible's message, not the last three)."""
    bad = config_path.parent / "cloud.sh"
    bad.write_text("#!/bin/sh\necho 'cloud API: 401 Unauthorized' >&2\nexit 2\n")
    bad.chmod(0o755)
    use_inventory(config_path, ["hosts.yml", "cloud.sh"])
    proc = toilbot_cli(env, "check")
    assert 1 == proc.returncode, proc.stdout
    assert f"FAIL inventory: {bad}: ansible-inventory could not read this inventory source" in (
        proc.stdout
    )
    for line in (
        "Inventory script returned non-zero exit code 2.",
        f"Origin: <inventory plugin 'script' with source '{bad}'>",
        "cloud API: 401 Unauthorized",
        f"Completely failed to parse inventory source {bad}",
    ):
        assert line in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_check_names_a_skipped_host_and_its_source(config_path, env):
    """A host name that could act as a pattern fails the check, naming the host and file."""
    odd = config_path.parent / "odd.ini"
    odd.write_text("[odd]\nweb*\n")
    use_inventory(config_path, ["hosts.yml", "odd.ini"])
    proc = toilbot_cli(env, "check")
    assert 1 == proc.returncode, proc.stdout
    assert f"FAIL inventory: host 'web*' from {odd} is not a target: " in proc.stdout


def test_check_shows_a_playbook_syntax_error_with_file_and_line(config_path, env):
    """A playbook with a YAML error: check prints Ansible's whole error, with the file, line
    and column and the lines around it."""
    playbook = config_path.parent / "playbooks" / "status.yml"
    playbook.write_text(BROKEN_TASK)
    proc = toilbot_cli(env, "check")
    assert 1 == proc.returncode, proc.stdout
    assert f"FAIL playbook {playbook}: ansible-playbook --syntax-check says:" in proc.stdout
    assert "YAML parsing failed" in proc.stdout
    assert f"Origin: {playbook}:11:8" in proc.stdout
    assert "11        oops: 1" in proc.stdout
    assert "^ column 8" in proc.stdout


def test_check_shows_what_ansible_warned_about_in_a_source(config_path, env):
    """A key Ansible's YAML inventory plugin skips (a typo) passes, but check prints Ansible's
    warning under the inventory line, so the typo is seen."""
    hosts = config_path.parent / "hosts.yml"
    data = yaml.safe_load(hosts.read_text())
    data["all"]["groups"] = {"web": {}}
    hosts.write_text(yaml.safe_dump(data))
    proc = toilbot_cli(env, "check")
    assert 0 == proc.returncode, proc.stdout
    lines = proc.stdout.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("ok   inventory ")]
    assert "Skipping unexpected key (groups) in group (all)" in lines[at + 1]
