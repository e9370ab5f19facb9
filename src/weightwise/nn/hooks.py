"""Hook handles and the full-backward-hook machinery of `Module.__call__`.

Full backward hooks follow PyTorch's `BackwardHook`: the module's tensor inputs and outputs are
routed through identity nodes named `BackwardHookFunctionBackward`. The output node sees the
gradients of the outputs (and runs the backward pre-hooks, which may replace them); the input
node sees the gradients of the inputs and calls `hook(module, grad_input, grad_output)`, which
may replace `grad_input`. Several tensors are packed into one node so that the hook runs once
with all of them.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from . import _state

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """A handle that removes the hook it was returned for (`handle.remove()`; a context manager)."""

    next_id = itertools.count()

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = _ref(hooks_dict)
        self.id = next(RemovableHandle.next_id)
        extra: tuple[Any, ...]
        if extra_dict is None:
            extra = ()
        elif isinstance(extra_dict, (list, tuple)):
            extra = tuple(extra_dict)
        else:
            extra = (extra_dict,)
        self.extra_dict_ref = tuple(_ref(d) for d in extra)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *args: Any) -> None:
        self.remove()


def _ref(d: Any) -> Callable[[], Any]:
    """A weak reference to a hooks mapping; a plain `dict` cannot be weakly referenced, so it is
    held strongly (a handle then keeps it alive, which is harmless)."""
    try:
        return weakref.ref(d)
    except TypeError:
        return lambda: d


def add_hook(hooks: OrderedDict, hook: Callable, prepend: bool, extra: Any = None) -> RemovableHandle:
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


# ---------------------------------------------------------------------------------------------
# Full backward hooks


class _Pack(Function):
    """Concatenate several tensors (flattened) into one array; its backward is the hook point."""

    def forward(self, *arrays: np.ndarray, state: Any) -> np.ndarray:  # type: ignore[override]
        self.state = state
        self.shapes = [a.shape for a in arrays]
        return np.concatenate([a.reshape(-1) for a in arrays]) if arrays else np.zeros(0)

    def backward(self, g: np.ndarray) -> tuple:
        parts, start = [], 0
        for shape in self.shapes:
            n = int(np.prod(shape, dtype=np.int64))
            parts.append(g[start:start + n].reshape(shape))
            start += n
        return tuple(self.state.on_backward(parts))


class _Unpack(Function):
    """One tensor out of a `_Pack`, named like PyTorch's hook node."""

    is_view = False

    @classmethod
    def name(cls) -> str:
        return "BackwardHookFunctionBackward"

    def forward(self, packed: np.ndarray, start: int, shape: tuple, index: int, state: Any) -> np.ndarray:
        self.start, self.shape, self.index, self.state, self.total = start, shape, index, state, packed.shape
        n = int(np.prod(shape, dtype=np.int64))
        return packed[start:start + n].reshape(shape).copy()

    def backward(self, g: np.ndarray) -> np.ndarray:
        self.state.fired.add(self.index)
        out = np.zeros(self.total, dtype=g.dtype)
        out[self.start:self.start + g.size] = g.reshape(-1)
        return out


class _Side:
    """One side (inputs or outputs) of a module call wrapped for backward hooks."""

    def __init__(self, hook: BackwardHook, is_output: bool) -> None:
        self.hook, self.is_output = hook, is_output
        self.fired: set[int] = set()
        self.n = 0
        self.positions: list[int] = []

    def on_backward(self, parts: list[np.ndarray]) -> list[np.ndarray | None]:
        grads: list[Any] = [None] * self.n
        for k, (pos, g) in enumerate(zip(self.positions, parts)):
            if k in self.fired:
                grads[pos] = Tensor._make(g)
        if self.is_output:
            new = self.hook.on_grad_output(tuple(grads))
        else:
            new = self.hook.on_grad_input(tuple(grads))
        out: list[np.ndarray | None] = []
        for pos, g in zip(self.positions, parts):
            r = new[pos]
            out.append(None if r is None else np.broadcast_to(r._a, g.shape).astype(g.dtype))
        return out


class BackwardHook:
    """Wraps the inputs and outputs of one module call so that the full backward hooks run."""

    def __init__(self, module: Any, user_hooks: list[Callable], user_pre_hooks: list[Callable]) -> None:
        self.module = module
        self.user_hooks, self.user_pre_hooks = user_hooks, user_pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs = 0
        self.input_wrapped = False

    def _wrap(self, values: tuple, is_output: bool) -> tuple:
        side = _Side(self, is_output)
        side.n = len(values)
        idx = [i for i, v in enumerate(values)
               if isinstance(v, Tensor) and v.requires_grad and v._a.dtype.kind == "f"]
        if not idx or not is_grad_enabled():
            return values
        dts = {values[i]._a.dtype for i in idx}
        if len(dts) > 1:
            return values  # mixed dtypes are not packed; the hook is not called for them
        side.positions = idx
        packed = _Pack.apply(*[values[i] for i in idx], state=side)
        out = list(values)
        start = 0
        for k, i in enumerate(idx):
            shape = values[i]._a.shape
            out[i] = _Unpack.apply(packed, start=start, shape=shape, index=k, state=side)
            start += int(np.prod(shape, dtype=np.int64))
        if not is_output:
            self.input_wrapped = True
        return tuple(out)

    def setup_input_hook(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        return self._wrap(args, False)

    def setup_output_hook(self, result: Any) -> Any:
        single = isinstance(result, Tensor)
        values = (result,) if single else result
        if not isinstance(values, tuple):
            return result
        wrapped = self._wrap(values, True)
        return wrapped[0] if single else wrapped

    def on_grad_output(self, grads: tuple) -> tuple:
        for hook in self.user_pre_hooks:
            r = hook(self.module, grads)
            if r is not None:
                grads = tuple(r) if isinstance(r, (tuple, list)) else (r,)
        self.grad_outputs = grads
        if not self.input_wrapped:
            # No input needs a gradient: PyTorch calls the hooks with all-None grad_input now.
            for hook in self.user_hooks:
                hook(self.module, (None,) * self.n_inputs, grads)
        return grads

    def on_grad_input(self, grads: tuple) -> tuple:
        for hook in self.user_hooks:
            r = hook(self.module, grads, self.grad_outputs)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grads):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got {len(r)}, "
                        f"but expected {len(grads)}"
                    )
                grads = r
        return grads


def call_module_with_hooks(module: Any, args: tuple, kwargs: dict) -> Any:
    """`Module.__call__` when hooks are registered: pre-hooks, forward, forward hooks, backward hooks."""
    for hook_id, hook in (*_state.GLOBAL_FORWARD_PRE_HOOKS.items(), *module._forward_pre_hooks.items()):
        if hook_id in module._forward_pre_hooks_with_kwargs:
            r = hook(module, args, kwargs)
            if r is not None:
                if not (isinstance(r, tuple) and len(r) == 2):
                    raise RuntimeError(
                        f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {r}."
                    )
                args, kwargs = r
        else:
            r = hook(module, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
    bw_hook = None
    if module._backward_hooks or module._backward_pre_hooks:
        bw_hook = BackwardHook(module, list(module._backward_hooks.values()), list(module._backward_pre_hooks.values()))
        args = bw_hook.setup_input_hook(args)
    try:
        result = module.forward(*args, **kwargs)
    except Exception:
        for hook_id, hook in module._forward_hooks.items():
            if module._forward_hooks_always_called.get(hook_id):
                try:
                    if hook_id in module._forward_hooks_with_kwargs:
                        hook(module, args, kwargs, None)
                    else:
                        hook(module, args, None)
                except Exception:
                    pass
        raise
    for hook_id, hook in (*_state.GLOBAL_FORWARD_HOOKS.items(), *module._forward_hooks.items()):
        if hook_id in module._forward_hooks_with_kwargs:
            r = hook(module, args, kwargs, result)
        else:
            r = hook(module, args, result)
        if r is not None:
            result = r
    if bw_hook is not None:
        result = bw_hook.setup_output_hook(result)
    return result
