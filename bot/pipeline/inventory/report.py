"""The `inventory` answer: the sources, groups with their host counts, and what went wrong."""

from __future__ import annotations

from bot.pipeline.inventory import text
from bot.pipeline.inventory.cache import InventoryState
from bot.pipeline.reply import Action
from bot.platform.formatting import seconds_text, when

MAX_GROUPS = 40  # groups listed in chat; the rest are counted
MAX_SKIPPED = 10
#: Under every `inventory` answer (Slack: a button).
ACTIONS = (Action(text.refresh_button(), "inventory refresh"),)


def _read(epoch: float, now: float) -> str:
    return f"{when(epoch)} ({seconds_text(max(0.0, now - epoch))} ago)"


def listing(state: InventoryState, sources: str, now: float) -> str:
    """Groups by name with their host counts; names that are not targets; a failed refresh."""
    inventory = state.inventory
    groups = sorted(inventory.groups.items())
    shown = [(name, len(hosts)) for name, hosts in groups[:MAX_GROUPS]]
    parts = [
        text.listing(
            sources,
            _read(state.resolved_at, now),
            len(inventory.hosts),
            shown,
            max(0, len(groups) - MAX_GROUPS),
        )
    ]
    if inventory.skipped:
        lines = [s.describe() for s in inventory.skipped[:MAX_SKIPPED]]
        if len(inventory.skipped) > MAX_SKIPPED:
            lines.append(f"… {len(inventory.skipped) - MAX_SKIPPED} more")
        parts.append(text.skipped_names(lines))
    if state.error is not None:
        parts.append(failure(state, now))
    else:
        parts.append(text.refresh_how())
    return "\n".join(parts)


def failure(state: InventoryState, now: float) -> str:
    """The last refresh failed: Ansible's message, and which inventory stays in use."""
    error = state.error or ""
    if len(error) > text.ANSIBLE_MESSAGE_LIMIT:
        error = error[: text.ANSIBLE_MESSAGE_LIMIT] + "…"
    return text.kept_last_good(_read(state.resolved_at, now), error)


def still_reading(timeout: int) -> str:
    return text.still_reading(timeout)


def bad_word(word: str) -> str:
    return text.bad_inventory_word(word)


def refreshed(state: InventoryState) -> str:
    return text.refreshed(len(state.inventory.hosts), len(state.inventory.groups))
