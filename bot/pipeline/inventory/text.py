"""What toilbot says about the inventory: its sources, their errors, the `inventory` listing."""

from __future__ import annotations

NAME_HINT = "use letters, digits, '.', '_' and '-' only (at most 63 characters)"
ANSIBLE_MESSAGE_LIMIT = 3000  # characters of Ansible's message shown in chat


def also_a_host() -> str:
    return "it is also a host name; rename one of them"


def source_missing(path: str) -> tuple[str, str]:
    return (
        f"{path} does not exist",
        "point it at an inventory file, directory, inventory plugin file or script",
    )


def no_sources() -> tuple[str, str]:
    return "names no inventory source", "write a path, a list of paths, or {sources: [...]}"


def no_ansible_inventory() -> str:
    return (
        "ansible-inventory is not installed beside toilbot. "
        "Run `make run` or `pip install ansible-core`."
    )


def failed(message: str) -> tuple[str, str]:
    return (
        f"ansible-inventory could not read this inventory source:\n{message.strip()}\n",
        "fix that source (try `ansible-inventory -i <source> --list`), then `inventory refresh`",
    )


def timed_out(seconds: int) -> tuple[str, str]:
    return (
        f"ansible-inventory did not finish reading these inventory sources within {seconds}s",
        "make the slow source faster or raise inventory.timeout in toilbot.yaml",
    )


def not_json(problem: str) -> tuple[str, str]:
    return (
        f"ansible-inventory printed something other than an inventory: {problem}",
        "run `ansible-inventory -i <source> --list` and fix what it prints",
    )


def no_hosts() -> tuple[str, str]:
    return "defines no host toilbot can target", "add at least one host with a plain name"


def skipped_name(kind: str, name: str, reason: str, sources: str) -> str:
    return f"{kind} {name!r} from {sources} is not a target: {reason}"


def sources_together() -> str:
    return "the sources together (a constructed or keyed group?)"


def kept_last_good(resolved_at: str, error: str) -> str:
    return (
        f"The inventory could not be refreshed; the last good one (read {resolved_at}) stays "
        f"in use.\n{error}"
    )


def listing(
    sources: str,
    resolved_at: str,
    hosts: int,
    groups: list[tuple[str, int]],
    more: int,
) -> str:
    lines = [f"Inventory from {sources}: {_hosts(hosts)}, read {resolved_at}."]
    lines += [f"  {name}: {_hosts(count)}" for name, count in groups]
    if more:
        lines.append(f"  … and {more} more groups")
    if not groups:
        lines.append("  (no groups)")
    return "\n".join(lines)


def skipped_names(lines: list[str]) -> str:
    return "Not targets:\n" + "\n".join(f"  {line}" for line in lines)


def refreshed(hosts: int, groups: int) -> str:
    return f"Inventory refreshed: {_hosts(hosts)}, {groups} group{'' if groups == 1 else 's'}."


def _hosts(count: int) -> str:
    return f"{count} host{'' if count == 1 else 's'}"


def still_reading(timeout: int) -> str:
    return (
        f"Reading the inventory sources again (at most {timeout}s); `inventory` shows the "
        "result when it is done."
    )


def refresh_button() -> str:
    return "Refresh"


def refresh_how() -> str:
    return "Refresh now: `inventory refresh`."


def bad_inventory_word(word: str) -> str:
    return f"`inventory {word}` is not a command. Usage: inventory [refresh]"
