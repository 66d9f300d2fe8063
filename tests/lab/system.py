"""Low-level helpers for the lab: commands, required tools, the apt mirror, mounts, processes.

Everything here talks to the controller (the machine running the tests), never to a
lab host. The lab needs root and a handful of Debian tools; `ensure_tools` installs the
missing ones with apt-get when it can and otherwise raises `LabUnavailable` saying what
is missing, so a test run fails with the reason instead of a stack of subprocess errors.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

Arg = str | os.PathLike[str]

# Tool -> Debian package that ships it.
TOOLS: dict[str, str] = {
    "debootstrap": "debootstrap",
    "ip": "iproute2",
    "dpkg-deb": "dpkg",
    "dpkg-scanpackages": "dpkg-dev",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "chroot": "coreutils",
    "mount": "mount",
    "umount": "mount",
    "hostname": "hostname",
}

APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")


class LabError(RuntimeError):
    """Building, using or tearing down the lab failed."""


class LabUnavailable(LabError):
    """This machine cannot run the lab; the message says what is missing."""


def run(
    cmd: Sequence[Arg],
    *,
    check: bool = True,
    timeout: float | None = 120,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Arg | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output as text, raise `LabError` on failure when `check`."""
    args = [os.fspath(part) for part in cmd]
    try:
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            env=env,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise LabError(f"{args[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout}s: {' '.join(args)}") from exc
    if check and proc.returncode != 0:
        raise LabError(describe_failure(args, proc))
    return proc


def describe_failure(args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> str:
    """One readable message for a failed command: the command, its code, its last output."""
    output = "\n".join(part.strip() for part in (proc.stdout, proc.stderr) if part.strip())
    tail = "\n".join(output.splitlines()[-25:])
    return f"command failed ({proc.returncode}): {' '.join(args)}\n{tail}"


def require_root() -> None:
    """Raise `LabUnavailable` unless we are root on Linux (netns, mounts and chroot need it)."""
    if platform.system() != "Linux":
        raise LabUnavailable(f"the lab needs Linux, this is {platform.system()}")
    if os.geteuid() != 0:
        raise LabUnavailable(
            "the lab needs root (network namespaces, mounts, chroot, debootstrap); "
            f"running as uid {os.geteuid()}"
        )


def missing_tools(tools: Iterable[str] = TOOLS) -> list[str]:
    """The tools from `tools` that are not on PATH (sbin directories included)."""
    return [tool for tool in tools if which(tool) is None]


def which(tool: str) -> str | None:
    """`shutil.which` that also looks in the sbin directories a non-login PATH may lack."""
    path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
    return shutil.which(tool, path=path)


def tool(name: str) -> str:
    """Absolute path of a required tool; raise `LabUnavailable` when it is missing."""
    found = which(name)
    if found is None:
        raise LabUnavailable(f"{name} is missing (Debian package {TOOLS.get(name, name)})")
    return found


def ensure_tools() -> None:
    """Make sure every tool the lab uses is installed, installing Debian packages if needed."""
    require_root()
    missing = missing_tools()
    if not missing:
        return
    packages = sorted({TOOLS[name] for name in missing})
    if which("apt-get") is None:
        raise LabUnavailable(
            f"missing tools {', '.join(missing)} and no apt-get to install {', '.join(packages)}"
        )
    apt_install(packages)
    still = missing_tools()
    if still:
        raise LabUnavailable(f"still missing after installing {', '.join(packages)}: {still}")


# Another apt or dpkg (unattended-upgrades at boot, a second lab) may hold the lock: wait.
APT_LOCK_WAIT = 600
APT_LOCKED = ("Could not get lock", "Unable to lock", "is held by process")


def apt_get(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """apt-get ``args``, waiting up to APT_LOCK_WAIT seconds for the dpkg and list locks:
    apt's own ``DPkg::Lock::Timeout`` for the dpkg lock, and a retry while apt still says a
    lock is held (``apt-get update`` takes the lists lock without waiting)."""
    command = ["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT}", *args]
    deadline = time.monotonic() + APT_LOCK_WAIT
    while True:
        proc = run(command, check=False, env=env, timeout=APT_LOCK_WAIT + 600)
        locked = any(mark in proc.stderr for mark in APT_LOCKED)
        if proc.returncode == 0 or not locked or time.monotonic() > deadline:
            return proc
        time.sleep(5)


def apt_install(packages: Sequence[str]) -> None:
    """apt-get install on the controller; refresh the package lists once if that fails.
    Both wait for a dpkg or apt lock another process holds instead of failing."""
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["install", "-y", "-q", "--no-install-recommends", *packages]
    if apt_get(install, env).returncode == 0:
        return
    apt_get(["update", "-q"], env)
    proc = apt_get(install, env)
    if proc.returncode != 0:
        failure = describe_failure(["apt-get", *install], proc)
        raise LabUnavailable(f"could not install {' '.join(packages)}: {failure}")


def find_mirror(suite: str) -> str:
    """The Debian mirror URI to debootstrap `suite` from.

    TOILBOT_LAB_MIRROR wins; otherwise the machine's own apt sources: an entry for `suite`
    itself, else any non-security Debian entry (the same mirror carries every suite).
    """
    override = os.environ.get("TOILBOT_LAB_MIRROR")
    if override:
        return override
    entries = list(apt_source_entries())
    exact = [uri for uri, suites in entries if suite in suites]
    debian = [
        uri
        for uri, suites in entries
        if uri.rstrip("/").endswith("/debian") and not any("security" in s for s in suites)
    ]
    for uri in exact + debian:
        return uri
    raise LabUnavailable(
        f"no Debian mirror for {suite} in /etc/apt/sources.list(.d); "
        "set TOILBOT_LAB_MIRROR=http://<mirror>/debian"
    )


def apt_source_entries() -> Iterable[tuple[str, list[str]]]:
    """(uri, suites) of every enabled `deb` entry in the apt sources, both file formats."""
    if APT_SOURCES.is_file():
        yield from one_line_entries(APT_SOURCES.read_text())
    if APT_SOURCES_DIR.is_dir():
        for path in sorted(APT_SOURCES_DIR.iterdir()):
            if path.suffix == ".list":
                yield from one_line_entries(path.read_text())
            elif path.suffix == ".sources":
                yield from deb822_entries(path.read_text())


def one_line_entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """Entries of a one-line-style sources.list: `deb [options] uri suite components...`."""
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            yield words[1], [words[2]]


def deb822_entries(text: str) -> Iterable[tuple[str, list[str]]]:
    """Entries of a deb822 `.sources` file (paragraphs of Types/URIs/Suites fields)."""
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


def mount_points() -> list[Path]:
    """Every mount point of our mount namespace, in /proc/self/mountinfo order."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        raw = line.split()[4]
        points.append(Path(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), raw)))
    return points


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below `path`, deepest first (the order to unmount them in)."""
    inside = [m for m in mount_points() if m == path or path in m.parents]
    return sorted(set(inside), key=lambda m: len(m.parts), reverse=True)


def unmount_all(path: Path) -> None:
    """Unmount everything at or below `path`; lazily if busy. Raise if anything stays."""
    for point in mounts_under(path):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)
    left = mounts_under(path)
    if left:
        raise LabError(f"could not unmount {', '.join(map(str, left))}")


def remove_tree(path: Path) -> None:
    """Delete a directory tree, but only once nothing is mounted inside it."""
    if not path.exists():
        return
    unmount_all(path)
    shutil.rmtree(path)


def process_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> int | None:
    """The start time of a live `pid` in clock ticks since boot; None if gone or a zombie.

    Together with the pid it identifies a process even if the pid gets reused.
    """
    fields = process_stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def process_root(pid: int) -> str | None:
    """Where `pid` is chrooted (readlink /proc/PID/root), or None if it is gone."""
    try:
        return str(Path(f"/proc/{pid}/root").readlink())
    except OSError:
        return None


def children(pid: int) -> list[int]:
    """The direct children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = process_stat(int(entry.name))
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def wait_until_gone(pid: int, timeout: float) -> bool:
    """Poll until `pid` has exited (and is not a zombie); True if it did within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_start_time(pid) is None:
            return True
        time.sleep(0.02)
    return False
