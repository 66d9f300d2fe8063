"""`toilbot check`: validate everything toilbot reads, the way start-up would, and more."""

from __future__ import annotations

import fnmatch
import os
import subprocess
from typing import TextIO

from bot.config import text as config_text
from bot.config.settings import load_settings
from bot.execution.ansible import ansible_playbook
from bot.pipeline.builtins import BUILTINS
from bot.pipeline.inventory import Inventory, load_inventory
from bot.pipeline.parse import parse
from bot.pipeline.specs import load_specs
from bot.platform.errors import ConfigError, ParseError, StoreError
from bot.platform.store import connect


def run_checks(out: TextIO) -> int:
    failures = 0

    def report(ok: bool, text: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {text}", file=out)

    try:
        settings = load_settings()
    except ConfigError as exc:
        report(False, f"config: {exc}")
        if exc.key.startswith("policy"):
            print(f"     {config_text.policy_check_running()}", file=out)
        return 1
    report(True, f"config {settings.config_path} (policy: {len(settings.policy.roles)} roles)")
    if settings.redis_url:  # the embedded Redis is started on demand, not checked
        try:
            store = connect(settings.redis_url, settings.data_dir)
            report(True, config_text.redis_answers(store.description))
            store.redis.close()
        except StoreError as exc:
            report(False, f"redis: {exc}")
    inventory: Inventory | None = None
    sources = settings.inventory.sources
    try:
        inventory = load_inventory(sources, settings.inventory.timeout)
        report(True, config_text.inventory_read(settings.inventory.label, inventory))
        if inventory.warnings:
            print(config_text.ansible_warned(inventory.warnings), file=out)
        for skipped in inventory.skipped:
            report(False, f"inventory: {skipped.describe()}")
    except ConfigError as exc:
        report(False, f"inventory: {exc}")
    try:
        specs = load_specs(settings.commands_dir, settings.playbooks_dir)
        report(True, f"command specs in {settings.commands_dir}: {', '.join(sorted(specs))}")
    except ConfigError as exc:
        report(False, f"command specs: {exc}")
        return 1
    if inventory is not None:
        try:
            settings.policy.validate(inventory, specs, str(settings.config_path))
        except ConfigError as exc:
            report(False, f"policy: {exc}")
            print(f"     {config_text.policy_check_running()}", file=out)
    needed = {s.permission for s in specs.values()} | BUILTINS.permissions()
    if inventory is not None:
        for name, (schedule, node) in settings.schedule.configured.items():
            try:
                parse(schedule.command, specs, inventory)
                report(True, f"schedule {name}: `{schedule.command}` {schedule.describe()}")
            except ParseError as exc:
                report(
                    False,
                    f"schedule {name}: {node.child('command').error(str(exc), 'fix the command')}",
                )
    for role in settings.policy.roles:
        for rule in role.all_rules():
            granted = rule.permission
            if granted and not any(fnmatch.fnmatchcase(p, granted) for p in needed):
                report(False, config_text.unused_permission(role.name, granted, sorted(needed)))
    binary = ansible_playbook()
    if binary is None:
        report(False, config_text.no_ansible())
        return 1
    for playbook in sorted({s.playbook for s in specs.values()}):
        path = settings.playbooks_dir / playbook
        proc = subprocess.run(
            [binary, "--syntax-check", *(a for s in sources for a in ("-i", str(s))), str(path)],
            capture_output=True,
            text=True,
            cwd=settings.playbooks_dir,
            timeout=120,
            check=False,
            env={**os.environ, "ANSIBLE_NOCOLOR": "True"},
        )
        if proc.returncode == 0:
            report(True, f"playbook {path}")
        else:  # Ansible's whole error: what is wrong, and the file, line and column
            report(False, config_text.syntax_error(str(path), proc.stderr or proc.stdout))
    print(config_text.check_summary(failures), file=out)
    return 0 if failures == 0 else 1
