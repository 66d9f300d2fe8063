"""Commands written in Python, registered here and nowhere else.

Each module declares its commands with ``@builtin(...)`` (``registry.py``); this
list of modules is the whole registration, in the order `help` shows them. The
names a command spec may not take are derived from it.
"""

from bot.pipeline.builtins import access, approvals, help, inventory, jobs, schedule, toil
from bot.pipeline.builtins.registry import Builtin, Registry

BUILTINS = Registry.collect(help, jobs, approvals, schedule, toil, access, inventory)
RESERVED_NAMES = BUILTINS.names

__all__ = ["BUILTINS", "RESERVED_NAMES", "Builtin", "Registry"]
