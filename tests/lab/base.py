"""The cached base root filesystem every lab host starts from.

`debootstrap --variant=minbase` of Debian bookworm plus the packages the hosts need,
built once (about 40 s) into the user's cache directory, outside the repository, and
reused by every lab. Its directory name carries a key hashed from the suite, variant,
architecture, package list and recipe version, so changing any of them builds a new
base; bases with other keys are pruned once nothing mounts them.

The base has no apt sources (each lab host gets only the lab's local repository),
no downloaded packages or package lists, and no DNS: a lab host cannot reach the network.

RPM hosts (see `rpmhost`) have a base of their own, kind "rpm": the same debootstrap
with rpm and dnf added, finished by `rpmhost.finish_base`, cached beside the Debian one
as base-rpm-<suite>-<arch>-<key>. Each kind is built, locked and pruned on its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.lab import rpmhost
from tests.lab.system import (
    LabError,
    find_mirror,
    mount_points,
    remove_tree,
    run,
    tool,
    unmount_all,
)

SUITE = "bookworm"
VARIANT = "minbase"
# What the hosts need beyond minbase: Python for Ansible, python3-apt for its apt module,
# procps (ps, pgrep), iproute2 (ip, for network facts), `service` and start-stop-daemon.
PACKAGES = (
    "python3",
    "python3-apt",
    "procps",
    "iproute2",
    "init-system-helpers",
    "sysvinit-utils",
)
# Bump when the recipe below changes in a way the package list does not show.
RECIPE = 1
KINDS = ("deb", "rpm")


@dataclass(frozen=True)
class BaseSpec:
    """What goes into a base root filesystem; its `key` names the cache entry."""

    suite: str = SUITE
    variant: str = VARIANT
    packages: tuple[str, ...] = PACKAGES
    arch: str = ""
    recipe: int = RECIPE
    kind: str = "deb"  # "rpm": plus rpm and dnf, finished by rpmhost.finish_base
    finish: str = ""  # a hash of what the finishing step puts in (rpmhost.recipe_key)

    @classmethod
    def of_kind(cls, kind: str, arch: str) -> BaseSpec:
        """The base for lab hosts of `kind` ("deb" or "rpm") on `arch`."""
        if kind == "deb":
            return cls(arch=arch)
        if kind == "rpm":
            return cls(
                packages=PACKAGES + rpmhost.PACKAGES,
                arch=arch,
                kind="rpm",
                finish=rpmhost.recipe_key(),
            )
        raise ValueError(f"no lab host kind {kind!r}; there are {', '.join(KINDS)}")

    def key(self) -> str:
        """A short hash of everything that shapes the base."""
        fields = asdict(self)
        if self.kind == "deb":  # as before kinds existed, so cached Debian bases stay valid
            del fields["kind"], fields["finish"]
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def prefix(self) -> str:
        """What the names of this kind's cache entries start with."""
        return "base-" if self.kind == "deb" else f"base-{self.kind}-"

    @property
    def name(self) -> str:
        """The cache entry's directory name."""
        return f"{self.prefix}{self.suite}-{self.arch}-{self.key()}"


def default_cache_dir() -> Path:
    """TOILBOT_LAB_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/toilbot-lab."""
    override = os.environ.get("TOILBOT_LAB_CACHE")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "toilbot-lab"


def host_arch() -> str:
    """The controller's Debian architecture (amd64, arm64, ...)."""
    return run(["dpkg", "--print-architecture"]).stdout.strip()


def ensure_base(
    cache_dir: Path | None = None, spec: BaseSpec | None = None, *, kind: str = "deb"
) -> Path:
    """The base root filesystem for `spec` (default: the one for `kind`), built if missing."""
    cache_dir = cache_dir or default_cache_dir()
    spec = spec or BaseSpec.of_kind(kind, host_arch())
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = cache_dir / spec.name
    lock = ".lock" if spec.kind == "deb" else f".lock-{spec.kind}"
    with locked(cache_dir / lock):
        if not target.is_dir():
            build_base(target, spec)
            prune_other_bases(cache_dir, keep=target, spec=spec)
    return target


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (other builders wait rather than race)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_base(target: Path, spec: BaseSpec) -> None:
    """debootstrap into a scratch directory, trim it, then rename it into place."""
    scratch = target.with_name(f".building-{target.name}-{os.getpid()}")
    remove_tree(scratch)
    mirror = find_mirror(spec.suite)
    started = time.monotonic()
    try:
        debootstrap(scratch, spec, mirror)
        trim(scratch)
        if spec.kind == "rpm":
            rpmhost.finish_base(scratch)
    except BaseException:
        remove_tree(scratch)
        raise
    scratch.rename(target)
    meta = asdict(spec) | {
        "mirror": mirror,
        "seconds": round(time.monotonic() - started, 1),
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    target.with_name(target.name + ".json").write_text(json.dumps(meta, indent=2) + "\n")


def debootstrap(root: Path, spec: BaseSpec, mirror: str) -> None:
    """Run debootstrap; on failure, the error carries the end of its log."""
    cmd = [
        tool("debootstrap"),
        f"--variant={spec.variant}",
        f"--arch={spec.arch}",
        f"--include={','.join(spec.packages)}",
        spec.suite,
        str(root),
        mirror,
    ]
    proc = run(cmd, check=False, timeout=1800)
    if proc.returncode != 0:
        log = root / "debootstrap" / "debootstrap.log"
        detail = log.read_text()[-3000:] if log.is_file() else proc.stdout[-3000:]
        raise LabError(f"debootstrap failed ({proc.returncode}): {proc.stderr[-2000:]}\n{detail}")
    # debootstrap mounts /proc and /sys inside while it works; make sure none is left.
    unmount_all(root)


def trim(root: Path) -> None:
    """Drop what a lab host must not have: network apt sources, caches, the controller's DNS."""
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    for leftover in (root / "etc/apt/sources.list.d").glob("*"):
        leftover.unlink()
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    for entry in (root / "var/lib/apt/lists").glob("*"):
        if entry.is_file() and entry.name != "lock":
            entry.unlink()
    for cache in (root / "var/cache/apt").glob("*.bin"):
        cache.unlink()
    (root / "etc/resolv.conf").write_text("# toilbot lab hosts have no DNS and no way out\n")
    (root / "etc/apt/apt.conf.d/99toilbot-lab").write_text(
        '// toilbot lab: offline hosts, only the local repository.\nAcquire::Languages "none";\n'
    )


def kind_of_entry(name: str) -> str:
    """The kind of base a cache entry called `name` holds."""
    for kind in KINDS:
        if kind != "deb" and name.startswith(f"base-{kind}-"):
            return kind
    return "deb"


def prune_other_bases(cache_dir: Path, keep: Path, spec: BaseSpec) -> None:
    """Delete bases of `spec`'s kind with another key, unless a running lab still uses one."""
    mounted = {str(point) for point in mount_points()}
    options = Path("/proc/self/mountinfo").read_text()
    for old in cache_dir.glob("base-*"):
        if old == keep or old.suffix == ".json" or str(old) in mounted or str(old) in options:
            continue
        if kind_of_entry(old.name) != spec.kind:
            continue
        shutil.rmtree(old, ignore_errors=True)
        old.with_name(old.name + ".json").unlink(missing_ok=True)
