"""Forward hooks for the diagnostics, through ``register_forward_hook``.

Falls back to the module's ``_forward_hooks`` table when ``register_forward_hook`` itself fails
with a TypeError (seen with an early ``RemovableHandle`` that weak-referenced plain dicts), so
that summaries and the monitor keep working; the hook is called exactly as PyTorch calls it.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

_ids = itertools.count()


class _Handle:
    def __init__(self, table: dict[Any, Any], key: Any) -> None:
        self.table, self.key = table, key

    def remove(self) -> None:
        self.table.pop(self.key, None)


def add_forward_hook(module: Any, hook: Callable[[Any, Any, Any], Any]) -> Any:
    """``module.register_forward_hook(hook)``; returns a handle with ``remove()``."""
    try:
        return module.register_forward_hook(hook)
    except TypeError:
        table = getattr(module, "_forward_hooks", None)
        if not isinstance(table, dict):
            raise
        key = ("weightwise.diagnostics", next(_ids))
        table[key] = hook
        return _Handle(table, key)
