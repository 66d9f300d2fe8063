"""The lab's local apt repository: one package, `toilbot-demo`, at versions 1.0 and 1.1.

Every lab host starts with 1.0 installed, so 1.1 is a pending update that `apt-get -s
dist-upgrade` shows as `Inst toilbot-demo [1.0] (1.1 toilbot-lab:toilbot-lab [all])`.
Installing 1.1 asks for a reboot the way Debian packages do: its postinst touches
/var/run/reboot-required and appends its name to /var/run/reboot-required.pkgs.

The repository is a flat one (Packages, Packages.gz and Release at its top, the .debs
under pool/), built with dpkg-deb and dpkg-scanpackages, and unsigned: hosts list it as
`deb [trusted=yes] file:/srv/toilbot-lab-repo ./`.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from email.utils import formatdate
from pathlib import Path

from tests.lab.system import run, tool

PACKAGE = "toilbot-demo"
OLD_VERSION = "1.0"
NEW_VERSION = "1.1"
VERSIONS = (OLD_VERSION, NEW_VERSION)
REPO_PATH_IN_HOST = "/srv/toilbot-lab-repo"
SOURCES_LINE = f"deb [trusted=yes] file:{REPO_PATH_IN_HOST} ./\n"
ORIGIN = "toilbot-lab"

REBOOT_POSTINST = f"""#!/bin/sh
# Like a kernel or libc update: ask for a reboot once configured.
set -e
if [ "$1" = configure ]; then
    touch /var/run/reboot-required
    echo {PACKAGE} >> /var/run/reboot-required.pkgs
fi
"""


def control(version: str) -> str:
    """The DEBIAN/control file of `toilbot-demo` at `version`."""
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        "Architecture: all\n"
        "Maintainer: toilbot lab <lab@toilbot.invalid>\n"
        "Section: misc\n"
        "Priority: optional\n"
        "Description: toilbot lab demo package\n"
        " Installed at 1.0 on every toilbot lab host; 1.1 is the pending update\n"
        " and, like a kernel update, marks the host as needing a reboot.\n"
    )


def build_package(workdir: Path, version: str) -> Path:
    """Build toilbot-demo_<version>_all.deb with dpkg-deb; return its path."""
    tree = workdir / f"{PACKAGE}-{version}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(control(version))
    if version != OLD_VERSION:
        postinst = tree / "DEBIAN/postinst"
        postinst.write_text(REBOOT_POSTINST)
        postinst.chmod(0o755)
    share = tree / "usr/share" / PACKAGE
    share.mkdir(parents=True)
    (share / "VERSION").write_text(version + "\n")
    deb = workdir / f"{PACKAGE}_{version}_all.deb"
    run([tool("dpkg-deb"), "--root-owner-group", "-Zgzip", "--build", tree, deb])
    return deb


def build_repo(repo: Path) -> Path:
    """Build the flat apt repository in `repo` (which must not exist yet); return it."""
    pool = repo / "pool"
    pool.mkdir(parents=True)
    work = repo / ".build"
    work.mkdir()
    for version in VERSIONS:
        build_package(work, version).rename(pool / f"{PACKAGE}_{version}_all.deb")
    packages = run([tool("dpkg-scanpackages"), "--multiversion", "pool"], cwd=repo).stdout
    (repo / "Packages").write_text(packages)
    (repo / "Packages.gz").write_bytes(gzip.compress(packages.encode(), mtime=0))
    (repo / "Release").write_text(release(repo, ["Packages", "Packages.gz"]))
    shutil.rmtree(work)
    return repo


def release(repo: Path, files: list[str]) -> str:
    """A Release file listing `files` with their sizes and checksums."""
    lines = [
        f"Origin: {ORIGIN}",
        f"Label: {ORIGIN}",
        f"Suite: {ORIGIN}",
        f"Codename: {ORIGIN}",
        f"Date: {formatdate(usegmt=True)}",
        "Architectures: all",
        "Description: toilbot lab local repository (unsigned, offline)",
    ]
    lines.append("SHA256:")
    for name in files:
        data = (repo / name).read_bytes()
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}")
    return "\n".join(lines) + "\n"
