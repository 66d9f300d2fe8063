"""The lab's private network: one network namespace per host, all on one bridge.

    controller (root namespace)                 host web-01 (netns toilbot-lab-web-01)
    toilbot-lab0  10.231.77.1/24  <-- veth -->  eth0 10.231.77.11/24, lo
                                  <-- veth -->  web-02: eth0 10.231.77.12/24, lo ...

Each host has its own loopback, its own eth0 and its own port space, so every host's
demo service listens on 8080. There is no default route anywhere in the lab and the
controller only gains the connected route of the lab subnet on the bridge: lab traffic
cannot leave the machine. The subnet is checked against the controller's routes first,
and building refuses to go on if it overlaps one.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from tests.lab.system import LabUnavailable, run, tool

SUBNET = ipaddress.IPv4Network("10.231.77.0/24")
BRIDGE = "toilbot-lab0"
NETNS_PREFIX = "toilbot-lab-"
VETH_PREFIX = "tlab-veth"
FIRST_HOST_OFFSET = 11  # host n (0-based) gets .11 + n


def netns_name(host: str) -> str:
    """The network namespace of lab host `host`."""
    return f"{NETNS_PREFIX}{host}"


def netns_path(host: str) -> Path:
    """The namespace's file, what `nsenter --net=` takes."""
    return Path("/run/netns") / netns_name(host)


def veth_name(index: int) -> str:
    """The controller-side end of host number `index`'s veth pair (at most 15 characters)."""
    return f"{VETH_PREFIX}{index}"


def gateway() -> ipaddress.IPv4Interface:
    """The bridge's address on the controller."""
    return ipaddress.IPv4Interface(f"{SUBNET[1]}/{SUBNET.prefixlen}")


def host_address(index: int) -> ipaddress.IPv4Interface:
    """The address of host number `index`."""
    return ipaddress.IPv4Interface(f"{SUBNET[FIRST_HOST_OFFSET + index]}/{SUBNET.prefixlen}")


def check_subnet_free() -> None:
    """Refuse to build if the lab subnet overlaps any route the controller already has."""
    routes = json.loads(run([tool("ip"), "-j", "-4", "route", "show", "table", "all"]).stdout)
    for route in routes:
        dst = route.get("dst", "default")
        if dst == "default" or route.get("dev") == BRIDGE or route.get("type") == "broadcast":
            continue
        network = ipaddress.IPv4Network(dst, strict=False)
        if network.prefixlen and network.overlaps(SUBNET):
            raise LabUnavailable(
                f"the lab subnet {SUBNET} overlaps the route {dst} dev {route.get('dev')}; "
                "pick another SUBNET in tests/lab/network.py"
            )


def link_exists(name: str) -> bool:
    """Whether a network interface called `name` exists in the root namespace."""
    return run([tool("ip"), "link", "show", "dev", name], check=False).returncode == 0


def netns_exists(host: str) -> bool:
    """Whether host `host`'s network namespace exists."""
    return netns_path(host).exists()


def create_bridge() -> None:
    """Create the lab bridge with the controller's address on it."""
    ip = tool("ip")
    run([ip, "link", "add", BRIDGE, "type", "bridge"])
    run([ip, "addr", "add", str(gateway()), "dev", BRIDGE])
    run([ip, "link", "set", BRIDGE, "up"])


def create_host_network(host: str, index: int) -> None:
    """Create `host`'s namespace with lo up and eth0 on the bridge at its address."""
    ip = tool("ip")
    ns = netns_name(host)
    veth = veth_name(index)
    run([ip, "netns", "add", ns])
    run([ip, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run([ip, "link", "set", veth, "master", BRIDGE, "up"])
    run([ip, "-n", ns, "link", "set", "lo", "up"])
    run([ip, "-n", ns, "addr", "add", str(host_address(index)), "dev", "eth0"])
    run([ip, "-n", ns, "link", "set", "eth0", "up"])


def netns_pids(host: str) -> list[int]:
    """Processes still living in `host`'s network namespace."""
    if not netns_exists(host):
        return []
    out = run([tool("ip"), "netns", "pids", netns_name(host)], check=False).stdout
    return [int(pid) for pid in out.split()]


def delete_host_network(host: str, index: int) -> None:
    """Delete `host`'s namespace; its veth pair goes with it."""
    ip = tool("ip")
    if netns_exists(host):
        run([ip, "netns", "delete", netns_name(host)], check=False)
    if link_exists(veth_name(index)):
        run([ip, "link", "delete", veth_name(index)], check=False)


def delete_lab_links() -> None:
    """Delete any controller-side lab veth left behind (normally gone with its namespace)."""
    links = json.loads(run([tool("ip"), "-j", "link", "show"]).stdout)
    for link in links:
        if link.get("ifname", "").startswith(VETH_PREFIX):
            run([tool("ip"), "link", "delete", link["ifname"]], check=False)


def delete_bridge() -> None:
    """Delete the lab bridge (and with it the controller's route to the lab)."""
    if link_exists(BRIDGE):
        run([tool("ip"), "link", "delete", BRIDGE], check=False)


def leftovers() -> list[str]:
    """Lab namespaces and interfaces that exist right now (to find a lab left running)."""
    found = sorted(f"netns {path.name}" for path in Path("/run/netns").glob(f"{NETNS_PREFIX}*"))
    if link_exists(BRIDGE):
        found.append(f"bridge {BRIDGE}")
    return found
