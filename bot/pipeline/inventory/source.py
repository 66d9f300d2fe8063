"""The inventory sources of toilbot.yaml, read by Ansible itself: ``ansible-inventory --list``.

Any source Ansible takes works: INI or YAML files, directories with ``group_vars``
and ``host_vars``, host ranges, inventory plugin files (``constructed``, cloud
plugins) and executable scripts, several at once, in order. The runs of
playbooks get the same sources (``-i`` each), so group and host variables keep
working there. ansible-inventory runs with the allow-listed environment of a
playbook run (``bot.execution.environment``), never toilbot's secrets, and is
stopped, with every process it started, after ``inventory.timeout`` seconds.

A source Ansible cannot parse fails the whole read (``ANY_UNPARSED_IS_FAILED``)
with Ansible's own message: half an inventory is never taken for the whole one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.execution.environment import inherited
from bot.pipeline.inventory import text
from bot.pipeline.inventory.model import Inventory, from_listing
from bot.platform.errors import ConfigError
from bot.platform.files import read_text
from bot.platform.schema import Node

DEFAULT_CACHE_SECONDS = 300
DEFAULT_TIMEOUT = 60


@dataclass(frozen=True)
class InventorySettings:
    """``inventory:`` in toilbot.yaml: one path, a list of paths, or
    ``{sources: [...], cache_seconds: 300, timeout: 60}``."""

    sources: tuple[Path, ...]
    cache_seconds: int = DEFAULT_CACHE_SECONDS  # how long a resolved inventory is used
    timeout: int = DEFAULT_TIMEOUT  # seconds ansible-inventory may take

    @property
    def label(self) -> str:
        return label(self.sources)


def label(sources: Sequence[Path | str]) -> str:
    return ", ".join(str(s) for s in sources)


def load_inventory_settings(node: Node, base: Path) -> InventorySettings:
    """The ``inventory`` key of toilbot.yaml; paths are relative to ``base`` and must exist."""
    options = node
    if isinstance(node.value, dict):
        node.check_keys({"sources", "cache_seconds", "timeout"})
        options, node = node, node.child("sources")
    paths = [node] if isinstance(node.value, str) else list(node.elements())
    if not paths:
        raise node.error(*text.no_sources())
    sources = []
    for path_node in paths:
        given = base / path_node.text()
        found = Path(os.path.realpath(given))  # a link loop: not found
        if os.path.lexists(given) and (not found.exists() or _plain_file(found)):
            # One line for a link loop, a FIFO, no permission or bytes that are not UTF-8
            # (ansible-inventory would hang on a FIFO, or answer in thirty lines).
            read_text(given)
        if not found.exists():
            raise path_node.error(*text.source_missing(str(found)))
        sources.append(found)
    if options is node:
        return InventorySettings(tuple(sources))
    return InventorySettings(
        tuple(sources),
        options.child("cache_seconds", DEFAULT_CACHE_SECONDS).number(1, 86400),
        options.child("timeout", DEFAULT_TIMEOUT).number(1, 3600),
    )


def _plain_file(path: Path) -> bool:
    """Not a directory and not a script: a file Ansible reads as text (INI, YAML, plugin)."""
    return not path.is_dir() and not os.access(path, os.X_OK)


def ansible_inventory() -> str | None:
    """The ansible-inventory installed beside this Python (the virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "ansible-inventory"
    return str(beside) if beside.exists() else shutil.which("ansible-inventory")


def _environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if inherited(name)}
    found = ansible_inventory()
    if found:
        env["PATH"] = f"{Path(found).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    env.update(
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="True",
        ANSIBLE_NOCOLOR="True",
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
    )
    return env


def list_sources(sources: Sequence[Path | str], timeout: int) -> tuple[dict[str, Any], str]:
    """``ansible-inventory -i S1 -i S2 ... --list``, parsed, and its warnings; a source that
    fails, times out or prints no inventory is a ConfigError naming it with Ansible's message."""
    binary = ansible_inventory()
    where = label(sources)
    if binary is None:
        raise ConfigError(where, "", text.no_ansible_inventory(), "install Ansible")
    command = [binary, *(a for s in sources for a in ("-i", str(s))), "--list"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_environment(),
        start_new_session=True,  # a timeout stops the scripts it started too
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ConfigError(where, "", *text.timed_out(timeout)) from None
    if proc.returncode != 0:
        failing = _failing(sources, err) or [str(s) for s in sources]
        raise ConfigError(label(failing), "", *text.failed(err or out))
    try:
        listing = json.loads(out)
        if not isinstance(listing, dict):
            raise ValueError(f"a JSON {type(listing).__name__}, not an object")
    except ValueError as exc:
        raise ConfigError(where, "", *text.not_json(str(exc))) from None
    return listing, err.strip()


def _failing(sources: Sequence[Path | str], stderr: str) -> list[str]:
    """The sources Ansible's error lines name (a file inside a directory source names it)."""
    lines = [line for line in stderr.splitlines() if "parse" in line.lower()]
    return [str(s) for s in sources if any(str(s) in line for line in lines)]


def load_inventory(sources: Path | Sequence[Path], timeout: int = DEFAULT_TIMEOUT) -> Inventory:
    """The inventory Ansible resolves from ``sources``; a ConfigError if it cannot, or if it
    has no host toilbot can target. Names that are not plain are skipped, naming their source."""
    paths = (sources,) if isinstance(sources, Path) else tuple(sources)
    listing, warnings = list_sources(paths, timeout)
    inventory = replace(from_listing(listing, tuple(str(p) for p in paths)), warnings=warnings)
    if not inventory.hosts:
        raise ConfigError(label(paths), "", *text.no_hosts())
    if inventory.skipped and len(paths) > 1:
        inventory = _attribute(inventory, paths, timeout)
    return inventory


def _attribute(inventory: Inventory, paths: tuple[Path, ...], timeout: int) -> Inventory:
    """Name the source of each skipped name: each source read alone (only when names are
    skipped: an error path). A name no source has alone came from them together."""
    alone: dict[str, set[str]] = {}
    for path in paths:
        try:
            listing, _ = list_sources((path,), timeout)
        except ConfigError:
            continue  # e.g. a constructed source needs the hosts of the ones before it
        names = set((listing.get("_meta") or {}).get("hostvars") or {}) | set(listing)
        for group in listing.values():
            if isinstance(group, dict):
                names |= {str(h) for h in group.get("hosts") or ()}
        alone[str(path)] = names
    skipped = tuple(
        replace(
            s,
            source=label([p for p, names in alone.items() if s.name in names])
            or text.sources_together(),
        )
        for s in inventory.skipped
    )
    return replace(inventory, skipped=skipped)
