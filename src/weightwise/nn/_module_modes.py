"""`Module`'s mode switches and bulk changes: train/eval, requires_grad_, zero_grad, dtype conversion.

These functions are methods of `Module`: `module.py` assigns each one in the class body under
the same name, so they keep PyTorch's names, signatures and docstrings, and `Module` stays one
class with nothing in between. They live here because each one changes every module or every
tensor of a model at once, which is a separate job from routing attributes and calling forward.

Because the functions carry `Module`'s method names, `eval`, `float` and `type` shadow the
builtins in this file; nothing here calls those builtins (use `builtins.type` if it must).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .. import _dtype
from ..autograd import no_grad
from ..tensor import Tensor, check_device
from .parameter import is_lazy

if TYPE_CHECKING:
    from .module import Module


def train(self: Module, mode: bool = True) -> Module:
    if not isinstance(mode, bool):
        raise ValueError("training mode is expected to be boolean")
    self.__dict__["training"] = mode
    for module in self.children():
        module.train(mode)
    return self


def eval(self: Module) -> Module:
    return self.train(False)


def requires_grad_(self: Module, requires_grad: bool = True) -> Module:
    for p in self.parameters():
        p.requires_grad_(requires_grad)
    return self


def zero_grad(self: Module, set_to_none: bool = True) -> None:
    for p in self.parameters():
        if p.grad is not None:
            if set_to_none:
                p.grad = None
            else:
                p.grad.grad_fn = None
                p.grad.requires_grad = False
                p.grad._a[...] = 0
                p.grad._vc[0] += 1


def _apply(self: Module, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
    """Convert every parameter and buffer with `fn`, keeping ties (one result per tensor)."""
    done: dict[int, Tensor] = {}
    mods = [m for _, m in self._walk()] if recurse else [self]
    with no_grad():
        for mod in mods:
            params = mod._parameters
            for key, param in params.items():
                if param is None or is_lazy(param):
                    continue
                new = done.get(id(param))
                if new is None:
                    out = fn(param)
                    if out is param:
                        new = param
                    else:
                        # Keep the Parameter object (and with it every tie): swap its data.
                        param._a = out._a
                        if param.grad is not None:
                            g = fn(param.grad)
                            param.grad._a = g._a
                        new = param
                    done[id(param)] = new
                params[key] = new  # type: ignore[assignment]
            bufs = mod._buffers
            for buf in bufs.values():
                if buf is None or is_lazy(buf):
                    continue
                if id(buf) not in done:
                    out = fn(buf)
                    if out is not buf:
                        buf._a = out._a
                    done[id(buf)] = buf
    return self


def to(self: Module, *args: Any, **kwargs: Any) -> Module:
    """`to(dtype)`, `to(device)`, `to(tensor)`: converts floating-point parameters and buffers in place."""
    dt = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() received an invalid combination of arguments - got unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, Tensor):
            dt = a.dtype
        elif isinstance(a, _dtype.dtype):
            dt = a
        elif a is not None:
            dev = a
    check_device(dev, "to")
    if dt is None:
        return self
    d = _dtype.as_dtype(dt)
    if not d.is_floating_point:
        raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired dtype={d}")
    return self._apply(lambda t: t.to(d) if t.is_floating_point() else t)


def float(self: Module) -> Module:
    return self._apply(lambda t: t.float() if t.is_floating_point() else t)


def double(self: Module) -> Module:
    return self._apply(lambda t: t.double() if t.is_floating_point() else t)


def half(self: Module) -> Module:
    return self._apply(lambda t: t.half() if t.is_floating_point() else t)


def bfloat16(self: Module) -> Module:
    return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)


def type(self: Module, dst_type: Any) -> Module:
    d = _dtype.as_dtype(dst_type)
    return self._apply(lambda t: t.to(d))


def cpu(self: Module) -> Module:
    return self


def cuda(self: Module, device: Any = None) -> Module:
    check_device("cuda")
    return self


def share_memory(self: Module) -> Module:
    return self
