"""Converters for the extra activations (`weightwise.ops.activation_extra`) and group norm.

SELU's node shares PyTorch's name EluBackward0 with ELU, so it is registered by its class (the
registry looks classes up first); the others go by their grad_fn names. Composites (relu6,
softsign, tanhshrink, softmin) need nothing here: their nodes are ordinary ops.
"""

from __future__ import annotations

from ._registry import NodeContext, register


@register("_Selu")
def _selu(ctx: NodeContext) -> str:
    alpha, scale, _ = ctx.fn.k
    return ctx.b.op("Selu", [ctx.ins[0]], alpha=float(alpha), gamma=float(scale))


@register("CeluBackward0")
def _celu(ctx: NodeContext) -> str:
    return ctx.b.op("Celu", [ctx.ins[0]], alpha=float(ctx.fn.k[0]))


@register("MishBackward0")
def _mish(ctx: NodeContext) -> str:
    b, x = ctx.b, ctx.ins[0]
    if b.opset >= 18:
        return b.op("Mish", [x])
    return b.op("Mul", [x, b.op("Tanh", [b.op("Softplus", [x])])])


@register("HardswishBackward0")
def _hardswish(ctx: NodeContext) -> str:
    return ctx.b.op("HardSwish", [ctx.ins[0]])


@register("HardsigmoidBackward0")
def _hardsigmoid(ctx: NodeContext) -> str:
    return ctx.b.op("HardSigmoid", [ctx.ins[0]], alpha=1.0 / 6, beta=0.5)


@register("LogSigmoidBackward0")
def _logsigmoid(ctx: NodeContext) -> str:
    b = ctx.b
    return b.op("Neg", [b.op("Softplus", [b.op("Neg", [ctx.ins[0]])])])


@register("ThresholdBackward0")
def _threshold(ctx: NodeContext) -> str:
    b, x, dt = ctx.b, ctx.ins[0], ctx.in_dtype()
    above = b.op("Greater", [x, b.scalar(ctx.attr("threshold"), dt)])
    return b.op("Where", [above, x, b.scalar(ctx.attr("value"), dt)])


@register("SoftshrinkBackward0")
def _softshrink(ctx: NodeContext) -> str:
    lambd = float(ctx.attr("lambd"))
    return ctx.b.op("Shrink", [ctx.ins[0]], lambd=lambd, bias=lambd)


@register("HardshrinkBackward0")
def _hardshrink(ctx: NodeContext) -> str:
    return ctx.b.op("Shrink", [ctx.ins[0]], lambd=float(ctx.attr("lambd")), bias=0.0)


@register("PreluKernelBackward0")
def _prelu(ctx: NodeContext) -> str:
    b, (x, w) = ctx.b, ctx.ins
    ndim = ctx.fn.a.ndim
    if ctx.fn.w.ndim and ndim >= 2:  # one slope per channel: (C, 1, ..., 1) broadcasts from the right
        w = b.reshape(w, [-1] + [1] * (ndim - 2))
    return b.op("PRelu", [x, w])


@register("GluBackward0")
def _glu(ctx: NodeContext) -> str:
    b = ctx.b
    first, second = b.op("Split", [ctx.ins[0]], n_out=2, axis=int(ctx.attr("dim")), num_outputs=2) \
        if b.opset >= 18 else b.op("Split", [ctx.ins[0]], n_out=2, axis=int(ctx.attr("dim")))
    return b.op("Mul", [first, b.op("Sigmoid", [second])])


@register("NativeGroupNormBackward0")
def _group_norm(ctx: NodeContext) -> str:
    """Inputs (x, weight?, bias?): statistics over (N, groups, rest), from plain ops so that any
    opset from 17 runs it; weight and bias broadcast per channel."""
    b, x, dt = ctx.b, ctx.ins[0], ctx.in_dtype()
    ndim, groups = len(ctx.in_shape()), int(ctx.attr("groups"))
    has_w, has_b = bool(ctx.attr("has_w")), bool(ctx.attr("has_b"))
    xg = b.reshape(x, [0, groups, -1])  # 0: keep the (possibly dynamic) batch size
    centred = b.op("Sub", [xg, b.reduce("ReduceMean", xg, [2], True)])
    var = b.reduce("ReduceMean", b.op("Mul", [centred, centred]), [2], True)
    std = b.op("Sqrt", [b.op("Add", [var, b.scalar(float(ctx.attr("eps")), dt)])])
    out = b.op("Reshape", [b.op("Div", [centred, std]), b.op("Shape", [x])])
    per_channel = [-1] + [1] * (ndim - 2)
    if has_w:
        out = b.op("Mul", [out, b.reshape(ctx.ins[1], per_channel)])
    if has_b:
        out = b.op("Add", [out, b.reshape(ctx.ins[2 if has_w else 1], per_channel)])
    ctx.out_dyn = dict(ctx.in_dyn[0])
    return out
