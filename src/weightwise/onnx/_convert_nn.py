"""ONNX converters for matrix products, backward-hook packing and layer ops (norms, embedding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._registry import (
    Dyn,
    NodeContext,
    _prod,
    register,
    unsupported,
)

# ---------------------------------------------------------------------------------------------
# Matrix products


def _matmul_dyn(ctx: NodeContext) -> Dyn:
    (sa, sb), (da, db) = (ctx.in_shape(0), ctx.in_shape(1)), ctx.in_dyn[:2]
    out = ctx.out_shape
    res: Dyn = {}
    nb = len(out) - (1 if len(sa) >= 2 else 0) - (1 if len(sb) >= 2 else 0)
    for shape, dyn in ((sa, da), (sb, db)):
        batch = len(shape) - 2
        for ax, sym in dyn.items():
            if ax < batch:
                res.setdefault(nb - batch + ax, sym)
    if len(sa) >= 2 and len(sa) - 2 in da:
        res[len(out) - (2 if len(sb) >= 2 else 1)] = da[len(sa) - 2]
    if len(sb) >= 2 and len(sb) - 1 in db:
        res[len(out) - 1] = db[len(sb) - 1]
    return res


@register("MmBackward0", "BmmBackward0", "MatmulBackward", "DotBackward0", "MvBackward0")
def _matmul(ctx: NodeContext) -> str:
    ctx.out_dyn = _matmul_dyn(ctx)
    return ctx.b.op("MatMul", ctx.ins[:2])


@register("_LinearMm")
def _linear_mm(ctx: NodeContext) -> str:
    x, w = ctx.ins
    ctx.out_dyn = {0: ctx.in_dyn[0][0]} if 0 in ctx.in_dyn[0] else {}
    return ctx.b.op("Gemm", [x, w], transB=1)


@register("_LinearAddmm")
def _linear_addmm(ctx: NodeContext) -> str:
    ctx.out_dyn = {0: ctx.in_dyn[0][0]} if 0 in ctx.in_dyn[0] else {}
    return ctx.b.op("Gemm", ctx.ins[:3], transB=1)


@register("AddmmBackward0")
def _addmm(ctx: NodeContext) -> str:
    bias, a, m = ctx.ins
    alpha, beta = getattr(ctx.fn, "alpha", 1), getattr(ctx.fn, "beta", 1)
    ctx.out_dyn = {0: ctx.in_dyn[1][0]} if 0 in ctx.in_dyn[1] else {}
    return ctx.b.op("Gemm", [a, m, bias], alpha=None if alpha == 1 else float(alpha),
                    beta=None if beta == 1 else float(beta))


# ---------------------------------------------------------------------------------------------
# Full backward hooks: pack (concat of flattened tensors) and unpack (slice + reshape)


@register("_Pack")
def _pack(ctx: NodeContext) -> str:
    ctx.out_dyn = {}
    if not ctx.ins:
        return ctx.b.const(np.zeros(0, dtype=ctx.out_dtype))
    flat = [ctx.b.reshape(n, [-1]) for n in ctx.ins]
    return ctx.b.op("Concat", flat, axis=0)


@register("_Unpack")
def _unpack(ctx: NodeContext) -> str:
    start, shape = int(ctx.attr("start")), tuple(int(s) for s in ctx.attr("shape"))
    b = ctx.b
    part = b.op("Slice", [ctx.ins[0], b.i64([start]), b.i64([start + _prod(shape)]), b.i64([0])])
    ctx.out_dyn = {}
    return b.reshape(part, list(shape))


# ---------------------------------------------------------------------------------------------
# Layer ops recorded as one node (read defensively: tensors may be inputs or kept arguments)


@register("NativeLayerNormBackward0")
def _layer_norm(ctx: NodeContext) -> str:
    """Inputs (x, weight?, bias?); `k` trailing dims and `eps` are arguments of the node."""
    b, dt = ctx.b, ctx.in_dtype()
    shape = ctx.in_shape()
    k = int(ctx.attr("k"))
    has_w, has_b = bool(ctx.attr("has_w")), bool(ctx.attr("has_b"))
    w = ctx.ins[1] if has_w else b.const(np.ones(shape[len(shape) - k:], dtype=dt))
    bias = [ctx.ins[2 if has_w else 1]] if has_b else []
    ctx.out_dyn = dict(ctx.in_dyn[0])
    return b.op("LayerNormalization", [ctx.ins[0], w] + bias, axis=len(shape) - k, epsilon=float(ctx.attr("eps")))


def _bn_stat(module: Any, name: str, want: np.ndarray) -> Any:
    """The module's running statistic `name` if it is the tensor the node used."""
    t = getattr(module, name, None)
    a = getattr(t, "_a", None)
    if a is None or a.shape != want.shape or not np.array_equal(a.astype(want.dtype), want):
        return None
    return t


@register("NativeBatchNormBackward0", "CudnnBatchNormBackward0")
def _batch_norm(ctx: NodeContext) -> str:
    """Inputs (x, weight?, bias?); the statistics (`mean`, `invstd`) are arguments of the node.

    In a BatchNorm module whose running statistics are the ones used, one BatchNormalization
    node on the named buffers; otherwise (x - mean) * invstd * w + b with the statistics folded.
    """
    b, dt = ctx.b, ctx.in_dtype()
    shape = ctx.in_shape()
    if len(shape) < 2:
        raise unsupported(ctx, f"batch norm of a {len(shape)}-D input")
    if bool(ctx.attr("training")):
        raise unsupported(ctx, "batch norm with batch statistics (export runs the model in eval mode)")
    c = shape[1]
    has_w, has_b = bool(ctx.attr("has_w")), bool(ctx.attr("has_b"))
    w = ctx.ins[1] if has_w else None
    bias = ctx.ins[2 if has_w else 1] if has_b else None
    mean, invstd = np.asarray(ctx.attr("mean")).reshape(-1), np.asarray(ctx.attr("invstd")).reshape(-1)
    ctx.out_dyn = dict(ctx.in_dyn[0])
    m = ctx.module
    eps = getattr(m, "eps", None)
    rm = _bn_stat(m, "running_mean", mean)
    rv = getattr(m, "running_var", None)
    if rm is not None and rv is not None and eps is not None and ctx.resolve_tensor is not None:
        want = (1.0 / np.sqrt(rv._a.astype(dt) + dt.type(eps))).astype(dt)
        if want.shape == invstd.shape and np.allclose(want, invstd, rtol=1e-6, atol=0):
            ins = [ctx.ins[0], w or b.const(np.ones(c, dtype=dt)), bias or b.const(np.zeros(c, dtype=dt)),
                   ctx.resolve_tensor(rm, "running_mean"), ctx.resolve_tensor(rv, "running_var")]
            return b.op("BatchNormalization", ins, epsilon=float(eps))
    bshape = [1, c] + [1] * (len(shape) - 2)
    y = b.op("Mul", [b.op("Sub", [ctx.ins[0], b.const(mean.astype(dt).reshape(bshape))]),
                     b.const(invstd.astype(dt).reshape(bshape))])
    if w is not None:
        y = b.op("Mul", [y, b.reshape(w, bshape)])
    if bias is not None:
        y = b.op("Add", [y, b.reshape(bias, bshape)])
    return y


@register("EmbeddingBackward0")
def _embedding(ctx: NodeContext) -> str:
    """Inputs (weight, indices): Gather rows."""
    ctx.out_dyn = dict(ctx.in_dyn[1]) if len(ctx.in_dyn) > 1 else {}
    return ctx.b.op("Gather", [ctx.ins[0], ctx.ins[1]], axis=0)


@register("BilinearBackward")
def _bilinear(ctx: NodeContext) -> str:
    """Inputs (x1, x2, weight, bias?): y[..., o] = x1[..., i] W[o, i, j] x2[..., j] (+ b[o])."""
    b = ctx.b
    y = b.op("Einsum", [ctx.ins[0], ctx.ins[2], ctx.ins[1]], equation="...i,oij,...j->...o")
    if len(ctx.ins) > 3:
        y = b.op("Add", [y, ctx.ins[3]])
    ctx.out_dyn = dict(ctx.in_dyn[0])
    return y


@register("_Dropout", "DropoutBackward0")
def _dropout(ctx: NodeContext) -> str:
    ctx.out_dyn = dict(ctx.in_dyn[0])
    return ctx.b.op("Identity", [ctx.ins[0]])
