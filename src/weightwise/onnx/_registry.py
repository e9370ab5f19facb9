"""The converter registry: one converter per autograd node class, the recorded `Function` -> ONNX nodes.

A converter receives a `NodeContext` (the node, the ONNX names of its inputs, the example
arrays of its inputs and output, which axes are dynamic) and returns the ONNX name of the
node's output. Converters are looked up by the node's class name first, then by its PyTorch
grad_fn name (`fn.name()`), so fused nodes that share a public name (`_LinearAddmm`, named
`AddmmBackward0`) get their own converter.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ._builder import GraphBuilder

Dyn = dict  # axis -> (symbol, factor): the axis has size factor * symbol at run time


class NodeContext:
    """What a converter sees of one recorded op."""

    def __init__(self, b: GraphBuilder, fn: Any, ins: list[str], in_dyn: list[Dyn], out: Any,
                 resolve_array: Callable[[np.ndarray, str], str], path: str,
                 dyn_of_name: dict[str, Dyn] | None = None, module: Any = None,
                 resolve_tensor: Callable[[Any, str], str] | None = None) -> None:
        self._dyn_of_name = dyn_of_name or {}
        self.module = module  # the innermost module whose forward recorded the node (or None)
        self.resolve_tensor = resolve_tensor
        self.b = b
        self.fn = fn
        self.ins = ins
        self.in_dyn = in_dyn
        self.out = out
        self.out_dyn: Dyn | None = None
        self.resolve_array = resolve_array
        self.path = path

    def index_dyn(self, name: str) -> Dyn:
        """Dynamic axes of a graph input used as an index array (by its ONNX name)."""
        return self._dyn_of_name.get(name, {})

    @property
    def op_name(self) -> str:
        return str(self.fn.name())

    def in_shape(self, i: int = 0) -> tuple[int, ...]:
        return tuple(self.fn.inputs[i]._a.shape)

    def in_dtype(self, i: int = 0) -> np.dtype:
        return self.fn.inputs[i]._a.dtype

    @property
    def out_shape(self) -> tuple[int, ...]:
        return tuple(self.out._a.shape)

    @property
    def out_dtype(self) -> np.dtype:
        return self.out._a.dtype

    @property
    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments the node's `apply` got (kept during the trace)."""
        return getattr(self.fn, "_onnx_kw", None) or {}

    def attr(self, name: str) -> Any:
        """An attribute the node keeps, else the keyword argument of its `apply`."""
        try:
            return getattr(self.fn, name)
        except AttributeError:
            pass
        kw = self.kwargs
        if name in kw:
            return kw[name]
        raise unsupported(self, f"the recorded node has no attribute or argument '{name}'")


class OnnxExporterError(RuntimeError):
    """The model cannot be exported to ONNX as it is."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op of the traced graph has no ONNX converter."""


def unsupported(ctx: NodeContext, why: str = "") -> UnsupportedOperatorError:
    where = f" in module '{ctx.path}' ({type(ctx.module).__name__})" if ctx.path else ""
    msg = f"weightwise.onnx.export: unsupported operator '{ctx.op_name}'{where}"
    return UnsupportedOperatorError(msg + (f": {why}" if why else ""))


CONVERTERS: dict[str, Callable[[NodeContext], str]] = {}


def register(*names: str) -> Callable:
    def deco(f: Callable[[NodeContext], str]) -> Callable[[NodeContext], str]:
        for n in names:
            CONVERTERS[n] = f
        return f

    return deco


def lookup(fn: Any) -> Callable[[NodeContext], str] | None:
    """By the node's class (or a base class), then by its grad_fn name.

    Classes come first: several classes share a public name with other meanings (a matmul
    named CloneBackward0 or SqueezeBackward4, a bilinear named AddBackward0).
    """
    for cls in type(fn).__mro__:
        conv = CONVERTERS.get(cls.__name__)
        if conv is not None:
            return conv
    return CONVERTERS.get(str(fn.name()))


def supported_ops() -> list[str]:
    return sorted(n for n in CONVERTERS if not n.startswith("_"))


# ---------------------------------------------------------------------------------------------
# Dynamic-axis bookkeeping


def generic_dyn(in_dyn: Sequence[Dyn], in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> Dyn:
    """Broadcast rule: input axes map right-aligned onto output axes of the same size."""
    out: Dyn = {}
    for dyn, shape in zip(in_dyn, in_shapes):
        lead = len(out_shape) - len(shape)
        for ax, sym in dyn.items():
            o = ax + lead
            if 0 <= o < len(out_shape) and out_shape[o] == shape[ax]:
                out.setdefault(o, sym)
    return out


def _reduced_dyn(dyn: Dyn, ndim: int, axes: Sequence[int] | None, keepdim: bool) -> Dyn:
    red = set(range(ndim)) if axes is None else {a % max(ndim, 1) for a in axes}
    out: Dyn = {}
    for ax, sym in dyn.items():
        if ax in red:
            continue
        out[ax if keepdim else ax - sum(1 for r in red if r < ax)] = sym
    return out


def _prod(xs: Sequence[int]) -> int:
    p = 1
    for x in xs:
        p *= int(x)
    return p


def reshape_target(ctx: NodeContext, in_shape: tuple[int, ...], dyn: Dyn, out_shape: tuple[int, ...]) -> tuple[list[int], Dyn]:
    """The Reshape target for `out_shape` that stays correct when the `dyn` axes change size.

    A dynamic axis kept in place becomes 0 (copy the input's size); one dynamic axis merged with
    or split from its neighbours becomes -1. The symbol is assumed to be the outermost part of
    the axis that holds it (true for a batch axis).
    """
    target = [int(s) for s in out_shape]
    out_dyn: Dyn = {}
    rest = []
    for k, sym in sorted(dyn.items()):
        if k < len(out_shape) and out_shape[k] == in_shape[k] and _prod(out_shape[:k]) == _prod(in_shape[:k]):
            target[k] = 0
            out_dyn[k] = sym
        else:
            rest.append((k, sym))
    if not rest:
        return target, out_dyn
    if len(rest) > 1:
        raise unsupported(ctx, f"a reshape from {list(in_shape)} to {list(out_shape)} merges several dynamic axes")
    k, (name, factor) = rest[0]
    batch = in_shape[k] // factor if factor else 0
    lo = _prod(in_shape[:k])
    acc = 1
    for j, s in enumerate(out_shape):
        if batch and acc <= lo and acc * s >= lo * batch and lo % acc == 0 and s % batch == 0 and target[j] != 0:
            target[j] = -1
            out_dyn[j] = (name, s // batch)
            return target, out_dyn
        acc *= s
    raise unsupported(ctx, f"cannot express the reshape from {list(in_shape)} to {list(out_shape)} with dynamic axis {k}")
