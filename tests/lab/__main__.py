"""Command line for the lab, for trying playbooks by hand (as root, from the repo's top).

python -m tests.lab build /tmp/lab            # hosts web-01 web-02 db-01
python -m tests.lab build /tmp/lab --hosts app-01,app-02
.venv/bin/ansible-playbook -i /tmp/lab/inventory.yml playbooks/status.yml
python -m tests.lab run /tmp/lab web-01 'service demo status'
python -m tests.lab destroy /tmp/lab
python -m tests.lab cleanup                   # whatever a crashed lab left behind
python -m tests.lab base                      # only build (or find) the cached base
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from tests.lab.base import ensure_base
from tests.lab.lab import DEFAULT_HOSTS, Lab, cleanup
from tests.lab.system import LabError, ensure_tools


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    top = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build and start a lab in DIR (new or empty)")
    build.add_argument("dir")
    build.add_argument("--hosts", default=",".join(DEFAULT_HOSTS), help="comma-separated")
    destroy = sub.add_parser("destroy", help="stop the lab in DIR and delete it")
    destroy.add_argument("dir")
    run = sub.add_parser("run", help="run a shell command inside a host of the lab in DIR")
    run.add_argument("dir")
    run.add_argument("host")
    run.add_argument("shell_command")
    sub.add_parser("cleanup", help="remove whatever is left of a lab on this machine")
    sub.add_parser("base", help="build (or find) the cached base root filesystem")
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
        lab = Lab.build(args.dir, hosts, owned=False)
        describe(lab)
    elif args.command == "destroy":
        Lab.destroy(args.dir)
    elif args.command == "run":
        lab = Lab.attach(args.dir)
        print(lab.shell(args.host, args.shell_command), end="")
    elif args.command == "cleanup":
        cleanup()
    elif args.command == "base":
        ensure_tools()
        print(ensure_base())
    return 0


def describe(lab: Lab) -> None:
    """Print what was built and how to use it."""
    print(f"lab up in {lab.build_seconds:.1f}s")
    print(f"inventory: {lab.inventory_path}")
    for name in lab.hosts:
        print(f"  {name:10} {lab.ip(name):15} {lab.netns(name):24} {lab.root(name)}")
    print(f"try: .venv/bin/ansible lab -i {lab.inventory_path} -m ansible.builtin.ping")
    print(f"done: python -m tests.lab destroy {lab.dir}")


if __name__ == "__main__":
    sys.exit(main())
