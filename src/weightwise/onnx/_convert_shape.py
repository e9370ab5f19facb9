"""ONNX converters for shape and indexing ops: views, joins, slices, gathers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._builder import INT64_MAX, INT64_MIN
from ._registry import (
    Dyn,
    NodeContext,
    _reduced_dyn,
    generic_dyn,
    register,
    reshape_target,
    unsupported,
)

# ---------------------------------------------------------------------------------------------
# Shapes


@register("ViewBackward0", "UnsafeViewBackward0")
def _view(ctx: NodeContext) -> str:
    in_shape, out_shape = ctx.in_shape(), ctx.out_shape
    if in_shape == out_shape:
        ctx.out_dyn = dict(ctx.in_dyn[0])
        return ctx.b.op("Identity", [ctx.ins[0]])
    target, ctx.out_dyn = reshape_target(ctx, in_shape, ctx.in_dyn[0], out_shape)
    return ctx.b.reshape(ctx.ins[0], target)


@register("PermuteBackward0")
def _permute(ctx: NodeContext) -> str:
    perm = [int(p) for p in np.argsort(ctx.attr("inv"))]
    dyn = ctx.in_dyn[0]
    ctx.out_dyn = {i: dyn[p] for i, p in enumerate(perm) if p in dyn}
    return ctx.b.op("Transpose", [ctx.ins[0]], perm=perm)


@register("TransposeBackward0", "TBackward0")
def _transpose(ctx: NodeContext) -> str:
    d0, d1 = ctx.attr("d")
    perm = list(range(len(ctx.in_shape())))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    dyn = ctx.in_dyn[0]
    ctx.out_dyn = {i: dyn[p] for i, p in enumerate(perm) if p in dyn}
    return ctx.b.op("Transpose", [ctx.ins[0]], perm=perm)


@register("SqueezeBackward0", "SqueezeBackward1")
def _squeeze(ctx: NodeContext) -> str:
    in_shape, out_shape = ctx.in_shape(), ctx.out_shape
    axes = getattr(ctx.fn, "axes", None)
    if axes is None:
        # Match the output's axes to the input's from the left; the unmatched size-1 axes go.
        keep, j = [], 0
        for i, s in enumerate(in_shape):
            if j < len(out_shape) and out_shape[j] == s and not (s == 1 and len(in_shape) - i > len(out_shape) - j):
                keep.append(i)
                j += 1
        axes = [i for i in range(len(in_shape)) if i not in keep]
    axes = [int(a) for a in ([axes] if isinstance(axes, (int, np.integer)) else axes)]
    if not axes:
        ctx.out_dyn = dict(ctx.in_dyn[0])
        return ctx.b.op("Identity", [ctx.ins[0]])
    ctx.out_dyn = _reduced_dyn(ctx.in_dyn[0], len(in_shape), axes, False)
    return ctx.b.squeeze(ctx.ins[0], axes)


@register("UnsqueezeBackward0")
def _unsqueeze(ctx: NodeContext) -> str:
    if not hasattr(ctx.fn, "dim"):
        return _slice(ctx)  # x[None] is recorded as a slice node named UnsqueezeBackward0
    dim = int(ctx.attr("dim"))
    ctx.out_dyn = {(a if a < dim else a + 1): s for a, s in ctx.in_dyn[0].items()}
    return ctx.b.unsqueeze(ctx.ins[0], [dim])


@register("ExpandBackward0")
def _expand(ctx: NodeContext) -> str:
    in_shape, out_shape = ctx.in_shape(), ctx.out_shape
    lead = len(out_shape) - len(in_shape)
    target = list(out_shape)
    dyn: Dyn = {}
    for ax, sym in ctx.in_dyn[0].items():
        target[ax + lead] = 1  # broadcasting keeps the input's run-time size
        dyn[ax + lead] = sym
    ctx.out_dyn = dyn
    return ctx.b.op("Expand", [ctx.ins[0], ctx.b.i64(target)])


@register("RepeatBackward0")
def _repeat(ctx: NodeContext) -> str:
    reps = [int(r) for r in ctx.attr("reps")]
    x, shape = ctx.ins[0], ctx.in_shape()
    if len(reps) > len(shape):
        x = ctx.b.unsqueeze(x, list(range(len(reps) - len(shape))))
    lead = len(reps) - len(shape)
    ctx.out_dyn = {a + lead: s for a, s in ctx.in_dyn[0].items() if reps[a + lead] == 1}
    return ctx.b.op("Tile", [x, ctx.b.i64(reps)])


@register("CatBackward0")
def _cat(ctx: NodeContext) -> str:
    dim = int(ctx.attr("dim"))
    keep = [(n, t) for n, t in zip(ctx.ins, ctx.fn.inputs) if not (t._a.ndim == 1 and t._a.shape[0] == 0)]
    names = [n for n, _ in keep] or ctx.ins
    dyn = generic_dyn(ctx.in_dyn, [t._a.shape for t in ctx.fn.inputs], ctx.out_shape)
    dyn.pop(dim, None)
    ctx.out_dyn = dyn
    return ctx.b.op("Concat", names, axis=dim)


@register("StackBackward0")
def _stack(ctx: NodeContext) -> str:
    dim = int(ctx.attr("dim"))
    parts = [ctx.b.unsqueeze(n, [dim]) for n in ctx.ins]
    ctx.out_dyn = {(a if a < dim else a + 1): s for a, s in ctx.in_dyn[0].items()}
    return ctx.b.op("Concat", parts, axis=dim)


@register("SplitBackward0")
def _split(ctx: NodeContext) -> str:
    dim, start, stop = int(ctx.attr("dim")), int(ctx.attr("start")), int(ctx.attr("stop"))
    size = ctx.in_shape()[dim]
    dyn = dict(ctx.in_dyn[0])
    end = INT64_MAX if (stop >= size and dim in dyn) else stop
    if dim in dyn and (start, stop) != (0, size):
        dyn.pop(dim)
    ctx.out_dyn = dyn
    b = ctx.b
    return b.op("Slice", [ctx.ins[0], b.i64([start]), b.i64([end]), b.i64([dim])])


@register("FlipBackward0")
def _flip(ctx: NodeContext) -> str:
    dims = [int(d) for d in ctx.attr("dims")]
    b = ctx.b
    ctx.out_dyn = dict(ctx.in_dyn[0])
    if not dims:
        return b.op("Identity", [ctx.ins[0]])
    n = len(dims)
    return b.op("Slice", [ctx.ins[0], b.i64([-1] * n), b.i64([INT64_MIN] * n), b.i64(dims), b.i64([-1] * n)])


@register("SliceBackward0", "SelectBackward0")
def _slice(ctx: NodeContext) -> str:
    """Basic indexing: ints, slices, None and Ellipsis, as Slice + Squeeze + Unsqueeze."""
    key = ctx.attr("key")
    if not isinstance(key, tuple):
        key = (key,)
    shape = ctx.in_shape()
    nreal = sum(1 for k in key if k is not None and k is not Ellipsis)
    expanded: list[Any] = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (len(shape) - nreal))
        else:
            expanded.append(k)
    n_axes = sum(1 for k in expanded if k is not None)
    expanded.extend([slice(None)] * (len(shape) - n_axes))
    starts, ends, axes, steps, drop = [], [], [], [], []
    in_dyn = ctx.in_dyn[0]
    dyn_mid: Dyn = {}
    ax = 0
    for k in expanded:
        if k is None:
            continue
        size = shape[ax]
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            i = int(k)
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(ax)
            steps.append(1)
            drop.append(ax)
        elif isinstance(k, slice):
            s, e, st = k.indices(size)
            if st < 0:
                raise unsupported(ctx, "negative slice steps")
            if (s, e, st) != (0, size, 1):
                starts.append(s)
                ends.append(INT64_MAX if (e >= size and ax in in_dyn) else e)
                axes.append(ax)
                steps.append(st)
            elif ax in in_dyn:
                dyn_mid[ax] = in_dyn[ax]
        else:
            raise unsupported(ctx, f"index element {type(k).__name__}")
        ax += 1
    b = ctx.b
    x = ctx.ins[0]
    if axes:
        x = b.op("Slice", [x, b.i64(starts), b.i64(ends), b.i64(axes), b.i64(steps)])
    if drop:
        x = b.squeeze(x, drop)
        dyn_mid = _reduced_dyn(dyn_mid, len(shape), drop, False)
    # Insert the None axes at their output positions.
    new_axes, pos = [], 0
    for k in expanded:
        if k is None:
            new_axes.append(pos)
            pos += 1
        elif not (isinstance(k, (int, np.integer)) and not isinstance(k, bool)):
            pos += 1
    if new_axes:
        x = b.unsqueeze(x, new_axes)
        for a in new_axes:
            dyn_mid = {(d if d < a else d + 1): s for d, s in dyn_mid.items()}
    ctx.out_dyn = dyn_mid
    if x == ctx.ins[0]:
        return b.op("Identity", [x])
    return x


@register("IndexBackward0")
def _index(ctx: NodeContext) -> str:
    """Advanced indexing with one integer (or 1-D boolean) array after full slices: Gather."""
    key = ctx.attr("key")
    if not isinstance(key, tuple):
        key = (key,)
    axis = 0
    for k in key:
        if isinstance(k, slice) and k == slice(None):
            axis += 1
            continue
        break
    rest = key[axis:]
    if len(rest) != 1 or not isinstance(rest[0], np.ndarray):
        raise unsupported(ctx, f"advanced indexing with key {key!r} (only one index array after full slices is supported)")
    idx = rest[0]
    if idx.dtype == np.bool_:
        if idx.ndim != 1:
            raise unsupported(ctx, "boolean masks of more than one dimension")
        name = ctx.b.const(np.nonzero(idx)[0].astype(np.int64))
    else:
        name = ctx.resolve_array(idx, "index")
    nidx = 1 if idx.dtype == np.bool_ else idx.ndim
    dyn = {a: s for a, s in ctx.in_dyn[0].items() if a < axis}
    for a, s in ctx.index_dyn(name).items():
        dyn[axis + a] = s
    for a, s in ctx.in_dyn[0].items():
        if a > axis:
            dyn[a - 1 + nidx] = s
    ctx.out_dyn = dyn
    return ctx.b.op("Gather", [ctx.ins[0], name], axis=axis)


@register("GatherBackward0")
def _gather(ctx: NodeContext) -> str:
    idx = ctx.resolve_array(np.asarray(ctx.attr("index")), "index")
    ctx.out_dyn = {}
    return ctx.b.op("GatherElements", [ctx.ins[0], idx], axis=int(ctx.attr("dim")))
