"""ONNX converters for reductions: sum/mean/max/min, var/std, norms, cumsum."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._registry import (
    NodeContext,
    _prod,
    _reduced_dyn,
    register,
    unsupported,
)

# ---------------------------------------------------------------------------------------------
# Reductions


def _reduction(onnx_op: str, axes_attr: str = "axes") -> Callable[[NodeContext], str]:
    def conv(ctx: NodeContext) -> str:
        axes = getattr(ctx.fn, axes_attr, None)
        if isinstance(axes, (int, np.integer)):
            axes = (int(axes),)
        keep = bool(getattr(ctx.fn, "keepdim", False))
        nd = len(ctx.in_shape())
        if nd == 0:
            ctx.out_dyn = {}
            return ctx.b.op("Identity", [ctx.ins[0]])
        ctx.out_dyn = _reduced_dyn(ctx.in_dyn[0], nd, axes, keep)
        return ctx.b.reduce(onnx_op, ctx.ins[0], axes, keep)

    return conv


register("SumBackward0", "SumBackward1")(_reduction("ReduceSum"))
register("MeanBackward0", "MeanBackward1")(_reduction("ReduceMean"))
register("AmaxBackward0")(_reduction("ReduceMax"))
register("AminBackward0")(_reduction("ReduceMin"))
register("ProdBackward0", "ProdBackward1")(_reduction("ReduceProd", "axis"))
register("LogsumexpBackward0")(_reduction("ReduceLogSumExp"))


@register("MaxBackward1", "MinBackward1")
def _max_all(ctx: NodeContext) -> str:
    ctx.out_dyn = {}
    op = "ReduceMax" if ctx.op_name.startswith("Max") else "ReduceMin"
    return ctx.b.reduce(op, ctx.ins[0], None, False)


@register("MaxBackward0", "MinBackward0")
def _max_dim(ctx: NodeContext) -> str:
    dim, keep = int(ctx.attr("dim")), bool(ctx.attr("keepdim"))
    op = "ReduceMax" if ctx.op_name.startswith("Max") else "ReduceMin"
    ctx.out_dyn = _reduced_dyn(ctx.in_dyn[0], len(ctx.in_shape()), (dim,), keep)
    return ctx.b.reduce(op, ctx.ins[0], (dim,), keep)


def _var(ctx: NodeContext) -> str:
    b, x, dt = ctx.b, ctx.ins[0], ctx.in_dtype()
    axes, ddof, keep = ctx.attr("axes"), float(ctx.attr("ddof")), bool(ctx.attr("keepdim"))
    shape = ctx.in_shape()
    n = _prod(shape) if axes is None else _prod([shape[a] for a in axes])
    mean = b.reduce("ReduceMean", x, axes, True)
    d = b.op("Sub", [x, mean])
    ss = b.reduce("ReduceSum", b.op("Mul", [d, d]), axes if axes is not None else list(range(len(shape))), keep)
    ctx.out_dyn = _reduced_dyn(ctx.in_dyn[0], len(shape), axes, keep)
    if ctx.in_dyn[0] and any(a in ctx.in_dyn[0] for a in (range(len(shape)) if axes is None else axes)):
        raise unsupported(ctx, "a variance over a dynamic axis")
    return b.op("Div", [ss, b.scalar(n - ddof, dt)])


register("VarBackward0")(_var)


@register("StdBackward0")
def _std(ctx: NodeContext) -> str:
    return ctx.b.op("Sqrt", [_var(ctx)])


@register("LinalgVectorNormBackward0")
def _norm(ctx: NodeContext) -> str:
    ord_, axes, keep = float(ctx.attr("ord")), ctx.attr("axes"), bool(ctx.attr("keepdim"))
    b, x = ctx.b, ctx.ins[0]
    ctx.out_dyn = _reduced_dyn(ctx.in_dyn[0], len(ctx.in_shape()), axes, keep)
    if ord_ == 2:
        return b.reduce("ReduceL2", x, axes, keep)
    if ord_ == 1:
        return b.reduce("ReduceL1", x, axes, keep)
    if ord_ == math.inf:
        return b.reduce("ReduceMax", b.op("Abs", [x]), axes, keep)
    if ord_ == -math.inf:
        return b.reduce("ReduceMin", b.op("Abs", [x]), axes, keep)
    if ord_ > 0:
        dt = ctx.in_dtype()
        s = b.reduce("ReduceSum", b.op("Pow", [b.op("Abs", [x]), b.scalar(ord_, dt)]),
                     axes if axes is not None else list(range(len(ctx.in_shape()))), keep)
        return b.op("Pow", [s, b.scalar(1.0 / ord_, dt)])
    raise unsupported(ctx, f"vector norm of order {ord_}")


@register("CumsumBackward0")
def _cumsum(ctx: NodeContext) -> str:
    if not ctx.in_shape():
        return ctx.b.op("Identity", [ctx.ins[0]])
    return ctx.b.op("CumSum", [ctx.ins[0], ctx.b.const(np.asarray(int(ctx.attr("dim")), dtype=np.int64))])
