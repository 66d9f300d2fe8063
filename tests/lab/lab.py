"""The lab: a few real Debian hosts on this machine for testing playbooks with Ansible.

    with Lab.build(tmp_dir) as lab:                  # web-01, web-02, db-01
        subprocess.run(["ansible-playbook", "-i", lab.inventory_path, "restart.yml"])
        lab.run("web-01", "dpkg-query -W -f=${Version} toilbot-demo")   # "1.0"
        lab.service_pid("web-01")

Each host is a chroot of Debian bookworm (an overlay on a cached debootstrap, see
`base`) with its own network, PID and UTS namespaces, a local apt repository offering
toilbot-demo 1.1 over the installed 1.0 (see `repo`), and a real SysV service, `demo`,
answering GET /health on port 8080 (see `host`). It reboots with its reboot_command
(see guest/init). RPM hosts (`rpm_hosts`, see `rpmhost`) do the same with rpm and dnf.
Ansible reaches the hosts with the community.general.chroot connection through a
wrapper that enters the namespaces.

One lab runs on a machine at a time (its namespace and bridge names are fixed). Its
state is saved in `<dir>/lab.json` and `/run/toilbot-lab.json` records which directory
holds the running lab and which process owns it, so a lab whose owner died (a killed
test run) is torn down by the next build, and `python -m tests.lab destroy <dir>` can
tear down a lab built from the command line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tests.lab import host as hostlib
from tests.lab import network
from tests.lab.base import ensure_base, locked
from tests.lab.host import Host
from tests.lab.repo import build_repo
from tests.lab.system import (
    LabError,
    ensure_tools,
    mount_points,
    process_start_time,
    remove_tree,
    require_root,
    unmount_all,
)

log = logging.getLogger("tests.lab")

DEFAULT_HOSTS = ("web-01", "web-02", "db-01")
DEFAULT_RPM_HOSTS = ("rpm-01",)  # what the test session's lab adds (see fixtures)
STATE_FILE = "lab.json"
INVENTORY_FILE = "inventory.yml"
REGISTRY = Path("/run/toilbot-lab.json")
REGISTRY_LOCK = Path("/run/toilbot-lab.lock")
HOST_NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
MAX_HOSTS = 50

# Groups of the inventory: Debian hosts in `lab`, RPM hosts in `rpmlab`.
TOP_GROUP = {"deb": "lab", "rpm": "rpmlab"}


def group_of(name: str) -> str:
    """The host's group, its name without the trailing number: web-01 -> web ('' if none)."""
    match = re.fullmatch(r"([a-z][a-z0-9-]*?)-?[0-9]+", name)
    return match[1] if match else ""


@dataclass
class LabState:
    """Everything needed to use or tear down a lab, saved as `<dir>/lab.json`."""

    directory: str
    hosts: list[Host]
    owner_pid: int | None = None
    owner_start: int | None = None
    base: str = ""
    rpm_base: str = ""
    build_seconds: float = 0.0

    @property
    def dir(self) -> Path:
        """The lab's directory."""
        return Path(self.directory)

    def save(self) -> None:
        """Write the state file (after each step, so a failed build can be torn down)."""
        path = self.dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, directory: Path) -> LabState:
        """Read `<directory>/lab.json`."""
        data = json.loads((directory / STATE_FILE).read_text())
        data["hosts"] = [Host(**entry) for entry in data["hosts"]]
        return cls(**data)


class Lab:
    """A running lab. Build it with `Lab.build`; use it as a context manager to tear it down."""

    def __init__(self, state: LabState) -> None:
        self.state = state
        self._launchers: list[subprocess.Popen[bytes]] = []
        self._closed = False

    # -- building and tearing down ------------------------------------------------------

    @classmethod
    def build(
        cls,
        directory: str | os.PathLike[str],
        hosts: Sequence[str] = DEFAULT_HOSTS,
        *,
        rpm_hosts: Sequence[str] = (),
        cache_dir: Path | None = None,
        owned: bool = True,
    ) -> Lab:
        """Build and start a lab in `directory` (new or empty) with `hosts`.

        `hosts` are Debian hosts (group `lab`); `rpm_hosts` are RPM hosts (group `rpmlab`,
        see `rpmhost`), whose own base is built the first time one is asked for.
        `owned`: the lab belongs to this process (a test session); if the process dies
        without tearing it down, the next build does. A lab built with owned=False (the
        command line) stays until `Lab.destroy`. Raises `LabUnavailable` when this machine
        cannot run a lab (not root, tools missing and not installable, subnet taken).
        """
        started = time.monotonic()
        lab_dir = Path(directory).resolve()
        kinds = {name: "deb" for name in hosts} | {name: "rpm" for name in rpm_hosts}
        names = validate_hosts([*hosts, *rpm_hosts])
        check_directory(lab_dir)
        ensure_tools()
        bases = ensure_bases(cache_dir, sorted(set(kinds.values())))
        log.info("base root filesystems: %s (%.1fs)", bases, time.monotonic() - started)
        hosts_dir = lab_dir / "hosts"
        state = LabState(
            directory=str(lab_dir),
            hosts=[
                Host(n, i, group_of(n), str(hosts_dir / n), kind=kinds[n])
                for i, n in enumerate(names)
            ],
            base=str(bases.get("deb", "")),
            rpm_base=str(bases.get("rpm", "")),
        )
        if owned:
            state.owner_pid, state.owner_start = os.getpid(), process_start_time(os.getpid())
        with registry_lock():
            claim_machine(state)
            lab_dir.mkdir(parents=True, exist_ok=True)
            state.save()
            lab = cls(state)
            try:
                lab._start()
            except BaseException:
                log.exception("lab build failed, tearing down what was built")
                try:
                    lab._teardown()
                except Exception:
                    log.exception("tearing down the failed build failed too")
                raise
        state.build_seconds = round(time.monotonic() - started, 2)
        state.save()
        log.info("lab up in %.1fs: %s", state.build_seconds, lab.inventory_path)
        return lab

    @classmethod
    def attach(cls, directory: str | os.PathLike[str]) -> Lab:
        """The lab already running in `directory` (built from the command line, say)."""
        lab_dir = Path(directory).resolve()
        if not (lab_dir / STATE_FILE).exists():
            raise LabError(f"no lab in {lab_dir}")
        return cls(LabState.load(lab_dir))

    @classmethod
    def destroy(cls, directory: str | os.PathLike[str]) -> None:
        """Tear down the lab in `directory` (built by this or another process)."""
        require_root()
        lab_dir = Path(directory).resolve()
        with registry_lock():
            destroy_directory(lab_dir)

    def close(self) -> None:
        """Tear the lab down: stop its services, unmount, delete namespaces, remove files."""
        if self._closed:
            return
        with registry_lock():
            self._teardown()
        self._closed = True

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        """Create the repo, the network and the hosts, then provision the hosts in parallel."""
        state = self.state
        repo = build_repo(state.dir / "repo")
        network.check_subnet_free()
        network.create_bridge()
        for host in state.hosts:
            base = Path(state.rpm_base if host.kind == "rpm" else state.base)
            self._start_host(host, base, repo)
        with ThreadPoolExecutor(max_workers=len(state.hosts)) as pool:
            list(pool.map(lambda h: hostlib.provision(h, state.dir), state.hosts))
        write_inventory(state)

    def _start_host(self, host: Host, base: Path, repo: Path) -> None:
        """Root filesystem, files, network, init and mounts of one host."""
        state = self.state
        hostlib.prepare_root(host, base)
        state.save()
        hostlib.install_guest_files(host, state.hosts, repo)
        hostlib.mount_tmpfs(host)
        network.create_host_network(host.name, host.index)
        self._launchers.append(hostlib.start_init(host))
        state.save()
        hostlib.mount_kernel_filesystems(host)
        hostlib.write_wrapper(host, state.dir)

    def _teardown(self) -> None:
        """Undo everything in the state, whatever state it is in; raise what went wrong."""
        teardown_state(self.state)
        for launcher in self._launchers:
            try:
                launcher.wait(timeout=5)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()
        release_machine(self.state.dir)

    # -- using the lab ------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        """The lab's directory."""
        return self.state.dir

    @property
    def hosts(self) -> list[str]:
        """The lab's host names, in order: the Debian hosts, then the RPM hosts."""
        return [host.name for host in self.state.hosts]

    @property
    def debian_hosts(self) -> list[str]:
        """The Debian hosts (apt; inventory group `lab`)."""
        return [host.name for host in self.state.hosts if host.kind == "deb"]

    @property
    def rpm_hosts(self) -> list[str]:
        """The RPM hosts (rpm and dnf, posing as RHEL 9; inventory group `rpmlab`)."""
        return [host.name for host in self.state.hosts if host.kind == "rpm"]

    @property
    def inventory_path(self) -> Path:
        """The generated Ansible inventory (YAML)."""
        return self.dir / INVENTORY_FILE

    @property
    def build_seconds(self) -> float:
        """How long `Lab.build` took, base included."""
        return self.state.build_seconds

    def host(self, name: str) -> Host:
        """The lab host called `name`."""
        for host in self.state.hosts:
            if host.name == name:
                return host
        raise KeyError(f"no lab host {name!r}; the lab has {', '.join(self.hosts)}")

    def root(self, name: str) -> Path:
        """The host's root filesystem (its ansible_host)."""
        return self.host(name).root

    def ip(self, name: str) -> str:
        """The host's address on the lab network."""
        return self.host(name).ip

    def netns(self, name: str) -> str:
        """The host's network namespace."""
        return self.host(name).netns

    def health_url(self, name: str) -> str:
        """The host's demo health check URL (reachable from the controller and all hosts)."""
        return self.host(name).health_url

    def wrapper(self, name: str) -> Path:
        """The host's entry wrapper (its ansible_chroot_exe)."""
        return self.host(name).wrapper(self.dir)

    def run(
        self, name: str, command: str | Sequence[str], *, check: bool = True, timeout: float = 120
    ) -> str:
        """Run a command inside the host (its chroot and namespaces); return its stdout.

        Like ansible.builtin.command: a string is split into words, with no shell, so
        `dpkg-query -W -f=${Version} toilbot-demo` works as written; a list is the argv.
        Raises `LabError` with the output if the command fails and `check` is true.
        """
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        proc = hostlib.enter(self.host(name), self.dir, argv, check=check, timeout=timeout)
        return proc.stdout

    def shell(self, name: str, script: str, *, check: bool = True, timeout: float = 120) -> str:
        """Run a shell script inside the host with /bin/sh -c (like ansible.builtin.shell)."""
        return self.run(name, ["/bin/sh", "-c", script], check=check, timeout=timeout)

    def service_pid(self, name: str) -> int | None:
        """The demo service's pid as seen inside the host, None if it is not running."""
        return hostlib.service_pid(self.host(name))

    def boot_id(self, name: str) -> str:
        """The host's boot id (/proc/sys/kernel/random/boot_id inside it); new on each reboot."""
        return hostlib.boot_id(self.host(name))

    def reboot(self, name: str, *, timeout: float = 60) -> str:
        """Reboot the host with its reboot_command and wait until it is up; its new boot id."""
        before = self.boot_id(name)
        self.run(name, hostlib.REBOOT_COMMAND)
        self.wait_booted(name, timeout=timeout)
        after = self.boot_id(name)
        if after == before:
            raise LabError(f"{name}: rebooted, but its boot id is still {before}")
        return after

    def wait_booted(self, name: str, *, timeout: float = 60) -> None:
        """Wait until no reboot of the host is pending or under way."""
        hostlib.wait_booted(self.host(name), timeout=timeout)

    def reset(self, name: str) -> None:
        """Put the host back as built: toilbot-demo 1.0, no reboot required, demo running.

        A reboot that is pending or under way finishes first, so the host is up and stays
        up; a host that rebooted keeps its new boot id (a reboot cannot be undone).
        """
        host = self.host(name)
        hostlib.wait_booted(host)
        hostlib.reset(host, self.dir)


def validate_hosts(hosts: Sequence[str]) -> list[str]:
    """The host names, checked: lower-case names, no duplicates, not too many."""
    names = list(hosts)
    bad = [name for name in names if not HOST_NAME.fullmatch(name)]
    if bad or not names or len(set(names)) != len(names) or len(names) > MAX_HOSTS:
        raise ValueError(
            f"lab hosts must be 1-{MAX_HOSTS} distinct names like web-01 "
            f"([a-z][a-z0-9-]*, at most 31 characters); got {names}"
        )
    return names


def check_directory(lab_dir: Path) -> None:
    """The lab directory must be new or empty (teardown deletes it whole)."""
    if (lab_dir / STATE_FILE).exists():
        raise LabError(
            f"a lab is already built in {lab_dir}; "
            f"destroy it first: python -m tests.lab destroy {lab_dir}"
        )
    if lab_dir.exists() and any(lab_dir.iterdir()):
        raise LabError(f"{lab_dir} is not empty; the lab needs a new or empty directory")


def write_inventory(state: LabState) -> Path:
    """Write the lab's Ansible inventory: groups per host kind, all in group `lab`."""
    path = state.dir / INVENTORY_FILE
    path.write_text(
        "# toilbot lab inventory, generated by tests/lab; removed with the lab.\n"
        + yaml.safe_dump(inventory(state), sort_keys=False, default_flow_style=False)
    )
    return path


def inventory(state: LabState) -> dict[str, Any]:
    """The inventory as data: all > lab > (web, db, ...) > hosts with their vars.

    RPM hosts go in a group of their own beside `lab`: all > rpmlab > (rpm, ...) > hosts.
    """
    top: dict[str, Any] = {}
    for kind, top_name in TOP_GROUP.items():
        groups: dict[str, dict[str, Any]] = {}
        ungrouped: dict[str, Any] = {}
        for host in state.hosts:
            if host.kind != kind:
                continue
            if host.group:
                target = groups.setdefault(host.group, {"hosts": {}})["hosts"]
            else:
                target = ungrouped
            target[host.name] = host_vars(host, state.dir)
        group: dict[str, Any] = {}
        if ungrouped:
            group["hosts"] = ungrouped
        if groups:
            group["children"] = groups
        if group:
            top[top_name] = group
    return {"all": {"children": top}}


def ensure_bases(cache_dir: Path | None, kinds: Sequence[str]) -> dict[str, Path]:
    """The cached base of each kind, the missing ones built at the same time."""
    with ThreadPoolExecutor(max_workers=max(1, len(kinds))) as pool:
        futures = {kind: pool.submit(ensure_base, cache_dir, kind=kind) for kind in kinds}
        return {kind: future.result() for kind, future in futures.items()}


def host_vars(host: Host, lab_dir: Path) -> dict[str, Any]:
    """One host's inventory variables."""
    return {
        "ansible_connection": "community.general.chroot",
        "ansible_host": str(host.root),
        "ansible_chroot_exe": str(host.wrapper(lab_dir)),
        "ansible_python_interpreter": "/usr/bin/python3",
        "health_url": host.health_url,
        "health_port": hostlib.SERVICE_PORT,
        "lab_ip": host.ip,
        "lab_netns": host.netns,
        # ansible.builtin.reboot runs this instead of shutdown; the boot id it then
        # watches is the default one, /proc/sys/kernel/random/boot_id (see guest/init).
        "reboot_command": hostlib.REBOOT_COMMAND,
    }


def teardown_state(state: LabState) -> None:
    """Stop every host, delete the network, remove the directory; raise the first failure."""
    errors: list[str] = []
    for host in reversed(state.hosts):
        try:
            hostlib.stop(host, state.dir)
        except Exception as exc:
            errors.append(f"{host.name}: {exc}")
    for host in state.hosts:
        network.delete_host_network(host.name, host.index)
    network.delete_bridge()  # ours: the machine is claimed for this lab
    if errors:
        raise LabError("lab teardown incomplete: " + "; ".join(errors))
    remove_tree(state.dir)


# -- one lab per machine ---------------------------------------------------------------


def registry_lock() -> AbstractContextManager[None]:
    """Serialize builds and teardowns on this machine."""
    return locked(REGISTRY_LOCK)


def read_registry() -> dict[str, Any] | None:
    """Which lab runs on this machine, if any."""
    try:
        data: dict[str, Any] = json.loads(REGISTRY.read_text())
    except (OSError, ValueError):
        return None
    return data


def owner_alive(entry: dict[str, Any]) -> bool:
    """Whether the registered lab's owner still runs (a lab with no owner is kept)."""
    pid = entry.get("owner_pid")
    if pid is None:
        return Path(entry["directory"], STATE_FILE).exists()
    return process_start_time(pid) == entry.get("owner_start")


def claim_machine(state: LabState) -> None:
    """Register `state` as this machine's lab, tearing down one whose owner has died."""
    current = read_registry()
    if current is not None:
        if owner_alive(current):
            raise LabError(
                f"another toilbot lab is running in {current['directory']} "
                f"(owner pid {current.get('owner_pid') or 'none: built by hand'}); "
                f"destroy it first: python -m tests.lab destroy {current['directory']}"
            )
        log.warning("tearing down a lab whose owner died: %s", current["directory"])
        destroy_directory(Path(current["directory"]))
    leftovers = network.leftovers()
    if leftovers:
        raise LabError(
            f"lab network leftovers with no lab registered: {', '.join(leftovers)}; "
            "remove them with: python -m tests.lab cleanup"
        )
    entry = {"directory": state.directory, "owner_pid": state.owner_pid}
    entry["owner_start"] = state.owner_start
    REGISTRY.write_text(json.dumps(entry) + "\n")


def release_machine(lab_dir: Path) -> None:
    """Forget the registered lab if it is the one in `lab_dir`."""
    current = read_registry()
    if current is not None and Path(current["directory"]) == lab_dir:
        REGISTRY.unlink(missing_ok=True)


def destroy_directory(lab_dir: Path) -> None:
    """Tear down the lab whose state is in `lab_dir`; without state, clean up by name."""
    if (lab_dir / STATE_FILE).exists():
        teardown_state(LabState.load(lab_dir))
    else:
        cleanup_by_name()
    release_machine(lab_dir)


def cleanup_by_name() -> None:
    """Remove lab namespaces (and what runs in them), mounts and the bridge, with no state."""
    hosts = [path.name.removeprefix(network.NETNS_PREFIX) for path in network_namespaces()]
    for name in hosts:
        hostlib.kill_stragglers(Host(name, 0, "", "/nonexistent"))
    for root in orphan_roots(hosts):
        hostlib.kill_stragglers(Host(root.parent.name, 0, "", str(root.parent)))
        unmount_all(root)
        log.warning("unmounted %s; its lab directory %s is left to delete", root, root.parents[2])
    for name in hosts:
        network.delete_host_network(name, 0)
    network.delete_lab_links()
    network.delete_bridge()


def orphan_roots(hosts: list[str]) -> list[Path]:
    """Mounted lab host roots (.../hosts/<host>/root) of the given hosts."""
    roots = set()
    for point in mount_points():
        parts = point.parts
        for i in range(len(parts) - 2):
            if parts[i] == "hosts" and parts[i + 1] in hosts and parts[i + 2] == "root":
                roots.add(Path(*parts[: i + 3]))
    return sorted(roots)


def network_namespaces() -> list[Path]:
    """The lab's network namespace files under /run/netns."""
    return sorted(Path("/run/netns").glob(f"{network.NETNS_PREFIX}*"))


def cleanup() -> None:
    """`python -m tests.lab cleanup`: tear down the registered lab or whatever is left of one."""
    require_root()
    with registry_lock():
        current = read_registry()
        if current is not None:
            destroy_directory(Path(current["directory"]))
        cleanup_by_name()
        REGISTRY.unlink(missing_ok=True)
