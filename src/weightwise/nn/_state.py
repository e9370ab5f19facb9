"""Process-wide module hooks (`register_module_forward_hook` and friends)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

GLOBAL_FORWARD_PRE_HOOKS: OrderedDict = OrderedDict()
GLOBAL_FORWARD_HOOKS: OrderedDict = OrderedDict()
GLOBAL_HOOKS_ACTIVE = [False]


def _refresh() -> None:
    GLOBAL_HOOKS_ACTIVE[0] = bool(GLOBAL_FORWARD_PRE_HOOKS or GLOBAL_FORWARD_HOOKS)


class _GlobalHandle:
    def __init__(self, hooks: OrderedDict, key: int) -> None:
        self.hooks, self.id = hooks, key

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        _refresh()

    def __enter__(self) -> _GlobalHandle:
        return self

    def __exit__(self, *args: object) -> None:
        self.remove()


def _register(hooks: OrderedDict, hook: Callable) -> _GlobalHandle:
    from .hooks import RemovableHandle

    key = next(RemovableHandle.next_id)
    hooks[key] = hook
    _refresh()
    return _GlobalHandle(hooks, key)


def register_module_forward_pre_hook(hook: Callable) -> _GlobalHandle:
    """`hook(module, args)` before every module's forward, in this process."""
    return _register(GLOBAL_FORWARD_PRE_HOOKS, hook)


def register_module_forward_hook(hook: Callable) -> _GlobalHandle:
    """`hook(module, args, output)` after every module's forward, in this process."""
    return _register(GLOBAL_FORWARD_HOOKS, hook)
