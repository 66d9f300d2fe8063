"""One lab host: its root filesystem, namespaces, init, mounts, entry wrapper and teardown.

A host is a directory tree and a few namespaces, no VM and no container runtime:

* root: an overlayfs whose lower layer is the cached base (instant, no copy; falls back
  to `cp -a --reflink=auto` where overlayfs is unavailable), with /run, /dev/shm tmpfs,
  /proc of the host's PID namespace and a sysfs showing the host's network devices;
* its own network namespace (see `network`), PID namespace and UTS namespace (hostname),
  whose PID 1 is the lab's tiny /sbin/init;
* `bin/enter-<host>`: the wrapper Ansible's chroot connection uses as `chroot`
  (`ansible_chroot_exe`): it enters the host's namespaces with nsenter, clears the
  environment like a login would, then runs chroot with the connection's arguments.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.lab import network, rpmhost
from tests.lab.repo import OLD_VERSION, PACKAGE, REPO_PATH_IN_HOST, SOURCES_LINE
from tests.lab.system import (
    LabError,
    children,
    process_root,
    run,
    tool,
    unmount_all,
    wait_until_gone,
)

GUEST = Path(__file__).resolve().parent / "guest"
SERVICE = "demo"
SERVICE_PORT = 8080
SERVICE_PIDFILE = "run/demo.pid"
REBOOT_COMMAND = "/usr/local/sbin/lab-reboot"
# Inside a host: the boot id (bind-mounted on /proc/sys/kernel/random/boot_id) and the
# flag that a reboot is pending or under way (see guest/init).
BOOT_ID_FILE = "var/lib/toilbot-lab/boot_id"
PROC_BOOT_ID = "proc/sys/kernel/random/boot_id"
REBOOTING_FILE = "var/lib/toilbot-lab/rebooting"
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

WRAPPER = """#!/bin/sh
# Enter toilbot lab host {name}: its network, PID and UTS namespaces, then chroot.
# Ansible's community.general.chroot connection runs this as its chroot binary
# (ansible_chroot_exe): "$@" is "<root> /bin/sh -c <command>".
init_pid={init_pid}
if [ "$(readlink /proc/$init_pid/root 2>/dev/null)" != "{root}" ]; then
    echo "toilbot lab host {name} is down (its init, pid $init_pid, is gone)" >&2
    exit 125
fi
exec {nsenter} --net={netns} --pid=/proc/$init_pid/ns/pid --uts=/proc/$init_pid/ns/uts -- \\
    /usr/bin/env -i PATH={path} HOME=/root LANG=C.UTF-8 {chroot} "$@"
"""

# Inside a new host: toilbot-demo 1.0 (the RPM base has it already), demo started at boot.
PROVISION = {
    "deb": f"""set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q {PACKAGE}={OLD_VERSION}
update-rc.d {SERVICE} defaults
service {SERVICE} start
""",
    "rpm": f"""set -e
update-rc.d {SERVICE} defaults
service {SERVICE} start
""",
}
# Back to as built: toilbot-demo 1.0, no reboot required, demo running.
RESET = {
    "deb": f"""set -e
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --allow-downgrades {PACKAGE}={OLD_VERSION}
rm -f /var/run/reboot-required /var/run/reboot-required.pkgs
service {SERVICE} start
""",
    # Downgrading takes away 1.1's needs-restarting.d entry, so no reboot is required.
    "rpm": f"""set -e
rpm -q {PACKAGE}-{OLD_VERSION}-{rpmhost.RELEASE} >/dev/null \
    || dnf -y -q downgrade {PACKAGE}-{OLD_VERSION}-{rpmhost.RELEASE}
service {SERVICE} start
""",
}


@dataclass
class Host:
    """A lab host's identity and where its pieces live; saved in the lab's state file."""

    name: str
    index: int
    group: str
    directory: str
    mode: str = ""
    init_pid: int = 0
    launcher_pid: int = 0
    kind: str = "deb"  # "deb": Debian with apt; "rpm": rpm and dnf, posing as RHEL 9

    @property
    def dir(self) -> Path:
        """The host's working directory in the lab (upper layer, work dir, root)."""
        return Path(self.directory)

    @property
    def root(self) -> Path:
        """The host's root filesystem, what Ansible's chroot connection gets as ansible_host."""
        return self.dir / "root"

    @property
    def ip(self) -> str:
        """The host's address on the lab network."""
        return str(network.host_address(self.index).ip)

    @property
    def netns(self) -> str:
        """The host's network namespace."""
        return network.netns_name(self.name)

    def wrapper(self, lab_dir: Path) -> Path:
        """The host's entry wrapper (ansible_chroot_exe)."""
        return lab_dir / "bin" / f"enter-{self.name}"

    @property
    def health_url(self) -> str:
        """The demo service's health check, reachable from the controller and every host."""
        return f"http://{self.ip}:{SERVICE_PORT}/health"


def prepare_root(host: Host, base: Path) -> None:
    """Give the host its own root: an overlay on the base, else a copy of the base.

    TOILBOT_LAB_ROOTS=copy forces the copy (to try the fallback where overlayfs works).
    """
    host.dir.mkdir(parents=True, exist_ok=True)
    if os.environ.get("TOILBOT_LAB_ROOTS") != "copy" and mount_overlay(host, base):
        host.mode = "overlay"
        return
    run(["cp", "-a", "--reflink=auto", base, host.root], timeout=600)
    host.mode = "copy"


def mount_overlay(host: Host, base: Path) -> bool:
    """Mount an overlay with the base as its read-only lower layer; False if we cannot."""
    for sub in ("upper", "work", "root"):
        (host.dir / sub).mkdir(exist_ok=True)
    options = f"lowerdir={base},upperdir={host.dir / 'upper'},workdir={host.dir / 'work'}"
    mounted = run(["mount", "-t", "overlay", "overlay", "-o", options, host.root], check=False)
    if mounted.returncode == 0:
        return True
    for sub in ("upper", "work", "root"):
        shutil.rmtree(host.dir / sub)
    return False


def install_guest_files(host: Host, hosts: list[Host], repo: Path) -> None:
    """Write what makes the base this host: name, hosts file, apt source, repo, demo, init.

    An RPM host's repository and repo file come with its base (see `rpmhost`).
    """
    root = host.root
    (root / "etc/hostname").write_text(host.name + "\n")
    (root / "etc/hosts").write_text(hosts_file(hosts))
    if host.kind == "deb":
        (root / "etc/apt/sources.list.d/toilbot-lab.list").write_text(SOURCES_LINE)
        shutil.copytree(repo, root / REPO_PATH_IN_HOST.lstrip("/"), dirs_exist_ok=True)
    install(GUEST / "init", root / "sbin/init")
    install(GUEST / "demo-server", root / "usr/local/sbin/demo-server")
    install(GUEST / "demo.init", root / "etc/init.d" / SERVICE)
    install(GUEST / "lab-reboot", root / REBOOT_COMMAND.lstrip("/"))


def hosts_file(hosts: list[Host]) -> str:
    """/etc/hosts naming every lab host, so they can reach each other by name."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{other.ip}\t{other.name}" for other in hosts]
    return "\n".join(lines) + "\n"


def install(source: Path, target: Path) -> None:
    """Copy an executable into the host, mode 0755."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o755)


def mount_tmpfs(host: Host) -> None:
    """Fresh /run (lost on 'reboot', like a real one) and /dev/shm."""
    tmpfs(host.root / "run", "0755")
    (host.root / "run/lock").mkdir()
    (host.root / "run/lock").chmod(0o1777)
    tmpfs(host.root / "dev/shm", "1777")


def tmpfs(target: Path, mode: str) -> None:
    """Mount a small tmpfs on `target`."""
    run(["mount", "-t", "tmpfs", "-o", f"mode={mode},nosuid,nodev,size=64m", "tmpfs", target])


def start_init(host: Host) -> subprocess.Popen[bytes]:
    """Start the host's PID 1 in new PID and UTS namespaces inside its network namespace."""
    cmd = [
        tool("nsenter"),
        f"--net={network.netns_path(host.name)}",
        "--",
        tool("unshare"),
        "--pid",
        "--uts",
        "--fork",
        "--",
        tool("chroot"),
        str(host.root),
        "/sbin/init",
    ]
    launcher = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={"PATH": HOST_PATH, "LANG": "C.UTF-8"},
    )
    host.launcher_pid = launcher.pid
    host.init_pid = wait_for_init(host, launcher)
    return launcher


def wait_for_init(host: Host, launcher: subprocess.Popen[bytes]) -> int:
    """The pid (in our namespace) of the host's init once it runs chrooted in the host."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for pid in children(launcher.pid):
            if process_root(pid) == str(host.root) and comm(pid) == "init":
                return pid
        if launcher.poll() is not None:
            raise LabError(f"{host.name}: init exited at once ({launcher.returncode})")
        time.sleep(0.02)
    raise LabError(f"{host.name}: init did not start within 10 s")


def comm(pid: int) -> str:
    """The command name of `pid` (empty if it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def mount_kernel_filesystems(host: Host) -> None:
    """/proc of the host's PID namespace, a sysfs of its network namespace, its hostname."""
    nsenter = tool("nsenter")
    target = ["--target", str(host.init_pid)]
    run([nsenter, *target, "--pid", "--", "mount", "-t", "proc", "proc", host.root / "proc"])
    run(
        [
            nsenter,
            f"--net={network.netns_path(host.name)}",
            "--",
            "mount",
            "-t",
            "sysfs",
            "-o",
            "ro",
            "sysfs",
            host.root / "sys",
        ]
    )
    run([nsenter, *target, "--uts", "--", tool("hostname"), host.name])
    first_boot(host)


def first_boot(host: Host) -> None:
    """What a boot gives the host besides /proc: a boot id of its own, a boot time.

    The boot id is a file of the host's, bind-mounted on /proc/sys/kernel/random/boot_id,
    so reading it (Ansible's reboot module does) shows this host's boot; the host's init
    writes a new one on every reboot. Looking up /proc/1 now fixes its mtime, which
    `dnf needs-restarting -r` takes as the boot time (procfs sets it on first lookup).
    """
    boot_id = host.root / BOOT_ID_FILE
    boot_id.parent.mkdir(parents=True, exist_ok=True)
    boot_id.write_text(f"{uuid.uuid4()}\n")
    (host.root / REBOOTING_FILE).unlink(missing_ok=True)
    run(["mount", "--bind", boot_id, host.root / PROC_BOOT_ID])
    (host.root / "proc/1").stat()


def boot_id(host: Host) -> str:
    """The host's current boot id (what /proc/sys/kernel/random/boot_id shows inside it)."""
    return (host.root / PROC_BOOT_ID).read_text().strip()


def wait_booted(host: Host, timeout: float = 60) -> None:
    """Wait until no reboot of the host is pending or under way; raise if it takes too long."""
    deadline = time.monotonic() + timeout
    while (host.root / REBOOTING_FILE).exists():
        if not init_alive(host):
            raise LabError(f"{host.name} is down: its init is gone")
        if time.monotonic() > deadline:
            log = host.root / "var/log/lab-init.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise LabError(f"{host.name} did not come back from a reboot in {timeout}s:\n{tail}")
        time.sleep(0.05)


def write_wrapper(host: Host, lab_dir: Path) -> Path:
    """Write the host's entry wrapper (used by Ansible and by `Lab.run`)."""
    path = host.wrapper(lab_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        WRAPPER.format(
            name=host.name,
            init_pid=host.init_pid,
            root=host.root,
            netns=network.netns_path(host.name),
            nsenter=tool("nsenter"),
            chroot=tool("chroot"),
            path=HOST_PATH,
        )
    )
    path.chmod(0o755)
    return path


def provision(host: Host, lab_dir: Path) -> None:
    """Inside the host: read the local repo, install toilbot-demo 1.0, start demo."""
    enter(host, lab_dir, ["/bin/sh", "-c", PROVISION[host.kind]], timeout=300)


def reset(host: Host, lab_dir: Path) -> None:
    """Inside the host: toilbot-demo back to 1.0, no reboot required, demo running."""
    enter(host, lab_dir, ["/bin/sh", "-c", RESET[host.kind]], timeout=300)


def enter(
    host: Host, lab_dir: Path, argv: Sequence[str], *, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `argv` inside the host, through the same wrapper Ansible's connection uses."""
    wrapper = host.wrapper(lab_dir)
    proc = run([wrapper, host.root, *argv], check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(
            f"{host.name}: `{shlex.join(argv)}` failed ({proc.returncode}):\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return proc


def service_pid(host: Host) -> int | None:
    """The demo service's pid as the host sees it (its pidfile), or None if not running."""
    try:
        return int((host.root / SERVICE_PIDFILE).read_text().strip())
    except (OSError, ValueError):
        return None


def init_alive(host: Host) -> bool:
    """Whether the host's init is still the process we started."""
    return bool(host.init_pid) and process_root(host.init_pid) == str(host.root)


def stop(host: Host, lab_dir: Path) -> None:
    """Stop the host: its services, then every process in it, then its mounts."""
    if init_alive(host):
        enter(host, lab_dir, ["service", SERVICE, "stop"], check=False, timeout=20)
        os.kill(host.init_pid, signal.SIGKILL)  # ends every process of the PID namespace
        wait_until_gone(host.init_pid, timeout=10)
    kill_stragglers(host)
    if host.launcher_pid and process_root(host.launcher_pid) is not None:
        wait_until_gone(host.launcher_pid, timeout=5)
    unmount_all(host.root)


def chrooted_into(root: Path) -> list[int]:
    """Processes whose root directory is `root` or below it."""
    found = []
    for entry in Path("/proc").iterdir():
        where = process_root(int(entry.name)) if entry.name.isdigit() else None
        if where is not None and (where == str(root) or where.startswith(f"{root}/")):
            found.append(int(entry.name))
    return found


def kill_stragglers(host: Host) -> None:
    """Kill whatever still runs in the host's network namespace or root (e.g. `ip netns exec`)."""
    for pid in set(network.netns_pids(host.name)) | set(chrooted_into(host.root)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        wait_until_gone(pid, timeout=5)
