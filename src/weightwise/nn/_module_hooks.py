"""`Module`'s hook registration: forward, backward, state_dict and load_state_dict hooks.

These functions are methods of `Module`: `module.py` assigns each one in the class body under
the same name, so they keep PyTorch's names, signatures and docstrings, and `Module` stays one
class with nothing in between. Registering a hook only adds it to one of the module's ordered
hook tables; `hooks.py` holds the handles and runs forward and backward hooks, and `state.py`
runs the state_dict ones.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

from .hooks import RemovableHandle, add_hook

if TYPE_CHECKING:
    from .module import Module


def register_forward_pre_hook(self: Module, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False) -> RemovableHandle:
    """`hook(module, args)` (or `hook(module, args, kwargs)`) before `forward`; may return new args."""
    handle = add_hook(self._forward_pre_hooks, hook, prepend, self._forward_pre_hooks_with_kwargs)
    if with_kwargs:
        self._forward_pre_hooks_with_kwargs[handle.id] = True
    return handle


def register_forward_hook(self: Module, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                          always_call: bool = False) -> RemovableHandle:
    """`hook(module, args, output)` after `forward`; may return a new output."""
    handle = add_hook(self._forward_hooks, hook, prepend,
                      [self._forward_hooks_with_kwargs, self._forward_hooks_always_called])
    if with_kwargs:
        self._forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        self._forward_hooks_always_called[handle.id] = True
    return handle


def register_full_backward_pre_hook(self: Module, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """`hook(module, grad_output)` when the outputs' gradients are known; may replace them."""
    return add_hook(self._backward_pre_hooks, hook, prepend)


def register_full_backward_hook(self: Module, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """`hook(module, grad_input, grad_output)` when the inputs' gradients are known; may replace grad_input."""
    if self._is_full_backward_hook is False:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. Please use only one of them.")
    self.__dict__["_is_full_backward_hook"] = True
    return add_hook(self._backward_hooks, hook, prepend)


def register_backward_hook(self: Module, hook: Callable) -> RemovableHandle:
    """Deprecated in PyTorch; here it is the same as `register_full_backward_hook`."""
    return self.register_full_backward_hook(hook)


def register_state_dict_pre_hook(self: Module, hook: Callable) -> RemovableHandle:
    """`hook(module, prefix, keep_vars)` before this module saves its state."""
    return add_hook(self._state_dict_pre_hooks, hook, False)


def register_state_dict_post_hook(self: Module, hook: Callable) -> RemovableHandle:
    """`hook(module, state_dict, prefix, local_metadata)` after this module saved its state."""
    return add_hook(self._state_dict_hooks, hook, False)


def _with_module(hook: Callable, module: Module, *args: Any, **kwargs: Any) -> Any:
    return hook(module, *args, **kwargs)


def register_load_state_dict_pre_hook(self: Module, hook: Callable) -> RemovableHandle:
    """`hook(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors)`."""
    return add_hook(self._load_state_dict_pre_hooks, functools.partial(_with_module, hook, self), False)


def _register_load_state_dict_pre_hook(self: Module, hook: Callable, with_module: bool = False) -> RemovableHandle:
    fn = functools.partial(_with_module, hook, self) if with_module else hook
    return add_hook(self._load_state_dict_pre_hooks, fn, False)


def register_load_state_dict_post_hook(self: Module, hook: Callable) -> RemovableHandle:
    """`hook(module, incompatible_keys)` after `load_state_dict`."""
    return add_hook(self._load_state_dict_post_hooks, hook, False)
