"""The inventory: Ansible resolves the sources, toilbot resolves targets against the result.

``model``: the Inventory (plain names, groups with children expanded, patterns the
policy allows); ``source``: the sources of toilbot.yaml read through
``ansible-inventory --list``; ``cache``: the resolved inventory kept in-process and
in Redis, refreshed after ``inventory.cache_seconds`` or on `inventory refresh`,
the last good one kept when a source fails.
"""

from bot.pipeline.inventory.model import (
    NAME_PATTERN,
    NEVER_RESOLVED,
    PATTERN_CHARACTERS,
    Inventory,
    Skipped,
    from_listing,
    is_pattern,
    pattern_problem,
)
from bot.pipeline.inventory.source import InventorySettings, load_inventory

__all__ = [
    "NAME_PATTERN",
    "NEVER_RESOLVED",
    "PATTERN_CHARACTERS",
    "Inventory",
    "InventorySettings",
    "Skipped",
    "from_listing",
    "is_pattern",
    "load_inventory",
    "pattern_problem",
]
