"""Command line for the lab, for trying playbooks by hand (as root, from the repo's top).

python -m tests.lab build /tmp/lab            # hosts web-01 web-02 db-01
python -m tests.lab build /tmp/lab --hosts app-01,app-02
python -m tests.lab build /tmp/lab --rpm-hosts rpm-01   # plus an RPM host (group rpmlab)
.venv/bin/ansible-playbook -i /tmp/lab/inventory.yml playbooks/status.yml
python -m tests.lab run /tmp/lab web-01 'service demo status'
python -m tests.lab reboot /tmp/lab web-01    # reboot a host, wait until it is back
python -m tests.lab destroy /tmp/lab
python -m tests.lab cleanup                   # whatever a crashed lab left behind
python -m tests.lab base                      # only build (or find) the cached base
python -m tests.lab base --kind rpm           # the RPM hosts' base
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from tests.lab.base import KINDS, ensure_base
from tests.lab.lab import DEFAULT_HOSTS, Lab, cleanup
from tests.lab.system import LabError, ensure_tools


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    top = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build and start a lab in DIR (new or empty)")
    build.add_argument("dir")
    build.add_argument("--hosts", default=",".join(DEFAULT_HOSTS), help="comma-separated")
    build.add_argument("--rpm-hosts", default="", help="comma-separated RPM hosts (rpm-01)")
    destroy = sub.add_parser("destroy", help="stop the lab in DIR and delete it")
    destroy.add_argument("dir")
    run = sub.add_parser("run", help="run a shell command inside a host of the lab in DIR")
    run.add_argument("dir")
    run.add_argument("host")
    run.add_argument("shell_command")
    reboot = sub.add_parser("reboot", help="reboot a host of the lab in DIR and wait for it")
    reboot.add_argument("dir")
    reboot.add_argument("host")
    sub.add_parser("cleanup", help="remove whatever is left of a lab on this machine")
    base = sub.add_parser("base", help="build (or find) the cached base root filesystem")
    base.add_argument("--kind", choices=KINDS, default="deb", help="deb (default) or rpm")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit 1 with the reason if the lab fails."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="lab: %(message)s")
    try:
        return dispatch(args)
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1


def dispatch(args: argparse.Namespace) -> int:
    """Do what the parsed command line says."""
    if args.command == "build":
        hosts = [name.strip() for name in args.hosts.split(",") if name.strip()]
        rpm_hosts = [name.strip() for name in args.rpm_hosts.split(",") if name.strip()]
        lab = Lab.build(args.dir, hosts, rpm_hosts=rpm_hosts, owned=False)
        describe(lab)
    elif args.command == "destroy":
        Lab.destroy(args.dir)
    elif args.command == "run":
        lab = Lab.attach(args.dir)
        print(lab.shell(args.host, args.shell_command), end="")
    elif args.command == "reboot":
        print(f"{args.host} is up again, boot id {Lab.attach(args.dir).reboot(args.host)}")
    elif args.command == "cleanup":
        cleanup()
    elif args.command == "base":
        ensure_tools()
        print(ensure_base(kind=args.kind))
    return 0


def describe(lab: Lab) -> None:
    """Print what was built and how to use it."""
    print(f"lab up in {lab.build_seconds:.1f}s")
    print(f"inventory: {lab.inventory_path}")
    for name in lab.hosts:
        kind = "rpm" if name in lab.rpm_hosts else "deb"
        print(f"  {name:10} {kind:4} {lab.ip(name):15} {lab.netns(name):24} {lab.root(name)}")
    print(f"try: .venv/bin/ansible all -i {lab.inventory_path} -m ansible.builtin.ping")
    print(f"done: python -m tests.lab destroy {lab.dir}")


if __name__ == "__main__":
    sys.exit(main())
