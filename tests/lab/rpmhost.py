"""The lab's RPM-family hosts: Debian underneath, real rpm and dnf on top, posing as RHEL 9.

An RPM host (`rpm-01` in the test session, group `rpm` under `rpmlab`) starts from its
own cached base: the Debian one plus Debian's `dnf`, `python3-dnf`, `dnf-plugins-core`,
`rpm` and `createrepo-c`, finished by `finish_base` below, once, when the base is built:

* rpm keeps its database in /var/lib/rpm (Debian's rpm defaults to ~/.rpmdb);
* a local RPM repository in /srv/toilbot-lab-rpms (`toilbot-lab` in
  /etc/yum.repos.d/toilbot-lab.repo, gpgcheck=0), built with rpmbuild and createrepo_c
  inside the base, holding:
  - `toilbot-lab-release` 9.4: /etc/os-release, /etc/redhat-release and
    /etc/system-release of a Red Hat Enterprise Linux 9.4, and the `system-release
    (releasever) = 9` that dnf reads its $releasever from. Ansible's facts then say
    os_family RedHat, distribution RedHat 9.4 and (finding /usr/bin/dnf) pkg_mgr dnf;
  - `dnf-utils`: /usr/bin/needs-restarting, which runs `dnf needs-restarting` like
    RHEL's dnf-utils does (Debian ships the dnf-plugins-core plugin but not the command);
  - `toilbot-demo` 1.0-1 and 1.1-1. 1.1 needs a reboot the way a kernel or glibc update
    does on RHEL: it names itself in /etc/dnf/plugins/needs-restarting.d/, so once it is
    installed `needs-restarting -r` exits 1 ("Reboot is required") until the next boot.
    That command compares install times with the boot time, the mtime of /proc/1, which
    the lab's boot and reboot (guest/init) make new;
* `toilbot-lab-release`, `dnf-utils` and `toilbot-demo` 1.0 installed with dnf.

So `dnf -q check-update` in the host lists `toilbot-demo.noarch 1.1-1 toilbot-lab`.
The spec files and scripts below are part of the base's cache key: change them and the
next lab builds a new RPM base. The host's apt is still there (it is Debian), but has no
sources, and nothing in the host says Debian except /etc/debian_version.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.lab.repo import NEW_VERSION, OLD_VERSION, PACKAGE
from tests.lab.system import LabError, run, tool

PACKAGES = ("dnf", "python3-dnf", "dnf-plugins-core", "rpm", "createrepo-c")
RELEASE = "1"
REPO_ID = "toilbot-lab"
REPO_PATH_IN_HOST = "/srv/toilbot-lab-rpms"
RHEL_VERSION = "9.4"
RHEL_MAJOR = RHEL_VERSION.split(".")[0]
NEEDS_RESTARTING_DIR = "/etc/dnf/plugins/needs-restarting.d"

RPM_MACROS = """# toilbot lab: the rpm database where RHEL keeps it (Debian's rpm uses ~/.rpmdb).
%_dbpath /var/lib/rpm
"""

REPO_FILE = f"""[{REPO_ID}]
name=toilbot lab local repository (offline, unsigned)
baseurl=file://{REPO_PATH_IN_HOST}
enabled=1
gpgcheck=0
metadata_expire=0
"""

OS_RELEASE = f"""NAME="Red Hat Enterprise Linux"
VERSION="{RHEL_VERSION} (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="{RHEL_VERSION}"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux {RHEL_VERSION} (Plow)"
ANSI_COLOR="0;31"
VARIANT="toilbot lab (Debian with rpm and dnf)"
VARIANT_ID="toilbot-lab"
"""

# Debian's dnf-plugins-core turns on its `local` plugin, which copies every installed
# package into a repository of its own (and then wants it signed); RHEL ships it apart.
LOCAL_PLUGIN = """[main]
enabled = false
"""

NEEDS_RESTARTING = """#!/bin/sh
# needs-restarting: as in RHEL's dnf-utils, the `dnf needs-restarting` plugin as a command.
exec /usr/bin/dnf needs-restarting "$@"
"""

SPEC_HEAD = """Name: {name}
Version: {version}
Release: {release}
Summary: {summary}
License: MIT
BuildArch: noarch
AutoReqProv: no
{extra}
%description
{summary}.

%prep

%build

%install
{install}

%files
{files}
"""


def release_spec() -> str:
    """toilbot-lab-release: the files and provides that make the host a RHEL 9."""
    return SPEC_HEAD.format(
        name="toilbot-lab-release",
        version=RHEL_VERSION,
        release=RELEASE,
        summary="toilbot lab: presents this host as Red Hat Enterprise Linux " + RHEL_VERSION,
        extra=(
            f"Provides: system-release = {RHEL_VERSION}\n"
            f"Provides: system-release(releasever) = {RHEL_MAJOR}\n"
            f"Provides: redhat-release = {RHEL_VERSION}\n"
        ),
        install="\n".join(
            [
                "mkdir -p %{buildroot}/etc",
                "cat > %{buildroot}/etc/os-release <<'EOF'",
                OS_RELEASE.rstrip("\n"),
                "EOF",
                f"echo 'Red Hat Enterprise Linux release {RHEL_VERSION} (Plow)'"
                " > %{buildroot}/etc/redhat-release",
                "ln -s redhat-release %{buildroot}/etc/system-release",
            ]
        ),
        files="/etc/os-release\n/etc/redhat-release\n/etc/system-release",
    )


def dnf_utils_spec() -> str:
    """dnf-utils: /usr/bin/needs-restarting, as on RHEL."""
    return SPEC_HEAD.format(
        name="dnf-utils",
        version="4.3.1",
        release=RELEASE,
        summary="toilbot lab: needs-restarting, a front for the dnf needs-restarting plugin",
        extra="",
        install="\n".join(
            [
                "mkdir -p %{buildroot}/usr/bin %{buildroot}" + NEEDS_RESTARTING_DIR,
                "cat > %{buildroot}/usr/bin/needs-restarting <<'EOF'",
                NEEDS_RESTARTING.rstrip("\n"),
                "EOF",
                "chmod 0755 %{buildroot}/usr/bin/needs-restarting",
            ]
        ),
        files=f"/usr/bin/needs-restarting\n%dir {NEEDS_RESTARTING_DIR}",
    )


def demo_spec(version: str) -> str:
    """toilbot-demo at `version`; every version but the first needs a reboot."""
    install = [
        f"mkdir -p %{{buildroot}}/usr/share/{PACKAGE}",
        f"echo {version} > %{{buildroot}}/usr/share/{PACKAGE}/VERSION",
    ]
    files = [f"/usr/share/{PACKAGE}"]
    if version != OLD_VERSION:
        conf = f"{NEEDS_RESTARTING_DIR}/{PACKAGE}.conf"
        install += [
            f"mkdir -p %{{buildroot}}{NEEDS_RESTARTING_DIR}",
            f"echo {PACKAGE} > %{{buildroot}}{conf}",
        ]
        files.append(conf)
    return SPEC_HEAD.format(
        name=PACKAGE,
        version=version,
        release=RELEASE,
        summary="toilbot lab demo package"
        + ("" if version == OLD_VERSION else ", an update that needs a reboot"),
        extra="",
        install="\n".join(install),
        files="\n".join(files),
    )


def specs() -> dict[str, str]:
    """Every spec file the RPM base builds, by file name."""
    found = {"toilbot-lab-release.spec": release_spec(), "dnf-utils.spec": dnf_utils_spec()}
    for version in (OLD_VERSION, NEW_VERSION):
        found[f"{PACKAGE}-{version}.spec"] = demo_spec(version)
    return found


FINISH = f"""set -e
rpm --initdb
for spec in /root/rpmbuild/SPECS/*.spec; do
    rpmbuild --quiet -bb --define "_topdir /root/rpmbuild" --define "_buildhost toilbot-lab" \
        "$spec"
done
mkdir -p {REPO_PATH_IN_HOST}
mv /root/rpmbuild/RPMS/noarch/*.rpm {REPO_PATH_IN_HOST}/
rm -rf /root/rpmbuild
createrepo_c --quiet {REPO_PATH_IN_HOST}
dnf -y -q --releasever={RHEL_MAJOR} install toilbot-lab-release dnf-utils \
    {PACKAGE}-{OLD_VERSION}-{RELEASE}
dnf -q clean all
"""


def recipe_key() -> str:
    """A hash of everything `finish_base` puts into the base (part of its cache key)."""
    parts = [
        RPM_MACROS,
        REPO_FILE,
        LOCAL_PLUGIN,
        FINISH,
        *(f"{n}\n{t}" for n, t in sorted(specs().items())),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def finish_base(root: Path) -> None:
    """Turn a freshly debootstrapped root with rpm and dnf into the RPM hosts' base.

    Runs inside the root, in private mount, PID and network namespaces with their own
    /proc, so nothing stays mounted and nothing reaches the network.
    """
    (root / "etc/rpm").mkdir(parents=True, exist_ok=True)
    (root / "etc/rpm/macros.toilbot-lab").write_text(RPM_MACROS)
    (root / "etc/dnf/plugins/local.conf").write_text(LOCAL_PLUGIN)
    (root / "etc/yum.repos.d").mkdir(parents=True, exist_ok=True)
    (root / f"etc/yum.repos.d/{REPO_ID}.repo").write_text(REPO_FILE)
    # The release package owns /etc/os-release: drop Debian's symlink to /usr/lib/os-release.
    (root / "etc/os-release").unlink(missing_ok=True)
    spec_dir = root / "root/rpmbuild/SPECS"
    spec_dir.mkdir(parents=True)
    for name, text in specs().items():
        (spec_dir / name).write_text(text)
    proc = run(
        [
            tool("unshare"),
            "--mount",
            "--pid",
            "--net",
            "--fork",
            f"--mount-proc={root / 'proc'}",
            tool("chroot"),
            root,
            "/usr/bin/env",
            "-i",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/root",
            "LANG=C.UTF-8",
            "/bin/sh",
            "-c",
            FINISH,
        ],
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        raise LabError(f"finishing the RPM base failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
