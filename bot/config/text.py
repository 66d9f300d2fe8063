"""What `toilbot check` says about the configuration."""

from __future__ import annotations

from bot.pipeline.inventory import Inventory


def policy_check_running() -> str:
    return (
        "A running toilbot keeps its last good policy until this is fixed; `whoami` there "
        "says the policy is stale and why"
    )


def unused_permission(role: str, granted: str, needed: list[str]) -> str:
    return (
        f"policy: role {role} grants `{granted}`, which no command needs (a typo?). "
        f"Permissions in use: {', '.join(needed)}"
    )


def inventory_read(sources: str, inventory: Inventory) -> str:
    return (
        f"inventory {sources} ({len(inventory.hosts)} hosts, {len(inventory.groups)} groups, "
        "read by ansible-inventory)"
    )


def ansible_warned(warnings: str) -> str:
    return "\n".join(f"     {line.rstrip()}" for line in warnings.splitlines())


def syntax_error(playbook: str, output: str, limit: int = 80) -> str:
    lines = [line.rstrip() for line in output.strip().splitlines()]
    if len(lines) > limit:
        lines = [*lines[:limit], f"… {len(lines) - limit} more lines"]
    shown = "\n".join(f"     {line}" for line in lines)
    return f"playbook {playbook}: ansible-playbook --syntax-check says:\n{shown}"


def redis_answers(description: str) -> str:
    return f"Redis at {description} answers"


def no_ansible() -> str:
    return "ansible-playbook is not installed. Run `make run` or `pip install ansible`."


def check_summary(failures: int) -> str:
    return "All checks passed." if failures == 0 else f"{failures} check(s) failed."
