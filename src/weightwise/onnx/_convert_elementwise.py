"""ONNX converters for elementwise ops: arithmetic, unary math, clamping, activations."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._registry import (
    NodeContext,
    register,
)

# ---------------------------------------------------------------------------------------------
# Arithmetic


def _alpha_scaled(ctx: NodeContext, name: str, alpha: Any, i: int) -> str:
    if alpha == 1:
        return name
    return ctx.b.op("Mul", [name, ctx.b.scalar(alpha, ctx.in_dtype(i))])


@register("AddBackward0")
def _add(ctx: NodeContext) -> str:
    a, b = ctx.ins
    return ctx.b.op("Add", [a, _alpha_scaled(ctx, b, getattr(ctx.fn, "alpha", 1), 1)])


@register("SubBackward0")
def _sub(ctx: NodeContext) -> str:
    a, b = ctx.ins
    return ctx.b.op("Sub", [a, _alpha_scaled(ctx, b, getattr(ctx.fn, "alpha", 1), 1)])


@register("RsubBackward1")
def _rsub(ctx: NodeContext) -> str:
    return ctx.b.op("Sub", [ctx.ins[1], ctx.ins[0]])


@register("MulBackward0")
def _mul(ctx: NodeContext) -> str:
    return ctx.b.op("Mul", ctx.ins)


@register("DivBackward0")
def _div(ctx: NodeContext) -> str:
    return ctx.b.op("Div", ctx.ins)


@register("PowBackward0")
def _pow_scalar(ctx: NodeContext) -> str:
    e = ctx.attr("e")
    x = ctx.ins[0]
    if e == 1:
        return ctx.b.op("Identity", [x])
    if e == 2:
        return ctx.b.op("Mul", [x, x])
    if e == 0.5:
        return ctx.b.op("Sqrt", [x])
    return ctx.b.op("Pow", [x, ctx.b.scalar(e, ctx.in_dtype())])


@register("PowBackward1")
def _pow_tensor(ctx: NodeContext) -> str:
    return ctx.b.op("Pow", ctx.ins)


@register("PowBackward2")
def _pow_base(ctx: NodeContext) -> str:
    return ctx.b.op("Pow", [ctx.b.scalar(ctx.attr("base"), ctx.in_dtype()), ctx.ins[0]])


def _simple_unary(onnx_op: str) -> Callable[[NodeContext], str]:
    def conv(ctx: NodeContext) -> str:
        return ctx.b.op(onnx_op, [ctx.ins[0]])

    return conv


for _name, _op in {
    "NegBackward0": "Neg", "AbsBackward0": "Abs", "ExpBackward0": "Exp", "LogBackward0": "Log",
    "SqrtBackward0": "Sqrt", "SinBackward0": "Sin", "CosBackward0": "Cos", "TanhBackward0": "Tanh",
    "SigmoidBackward0": "Sigmoid", "ReciprocalBackward0": "Reciprocal", "SignBackward0": "Sign",
    "FloorBackward0": "Floor", "CeilBackward0": "Ceil", "RoundBackward0": "Round",
    "ReluBackward0": "Relu", "CloneBackward0": "Identity", "AliasBackward0": "Identity",
}.items():
    register(_name)(_simple_unary(_op))


@register("Log1PBackward0")
def _log1p(ctx: NodeContext) -> str:
    b = ctx.b
    return b.op("Log", [b.op("Add", [ctx.ins[0], b.scalar(1, ctx.in_dtype())])])


@register("Log2Backward0")
def _log2(ctx: NodeContext) -> str:
    b = ctx.b
    return b.op("Div", [b.op("Log", [ctx.ins[0]]), b.scalar(math.log(2.0), ctx.in_dtype())])


@register("RsqrtBackward0")
def _rsqrt(ctx: NodeContext) -> str:
    return ctx.b.op("Reciprocal", [ctx.b.op("Sqrt", [ctx.ins[0]])])


@register("TruncBackward0")
def _trunc(ctx: NodeContext) -> str:
    b, x = ctx.b, ctx.ins[0]
    return b.op("Mul", [b.op("Sign", [x]), b.op("Floor", [b.op("Abs", [x])])])


@register("ToCopyBackward0")
def _cast(ctx: NodeContext) -> str:
    to = ctx.b.helper.np_dtype_to_tensor_dtype(ctx.out_dtype)
    return ctx.b.op("Cast", [ctx.ins[0]], to=to)


# ---------------------------------------------------------------------------------------------
# Clamping, selection


@register("ClampBackward1")
def _clamp(ctx: NodeContext) -> str:
    lo, hi = ctx.attr("lo"), ctx.attr("hi")
    dt = ctx.in_dtype()
    ins = [ctx.ins[0], ctx.b.scalar(lo, dt) if lo is not None else "", ctx.b.scalar(hi, dt) if hi is not None else ""]
    while ins[-1] == "":
        ins.pop()
    return ctx.b.op("Clip", ins)


@register("HardtanhBackward0")
def _hardtanh(ctx: NodeContext) -> str:
    dt = ctx.in_dtype()
    return ctx.b.op("Clip", [ctx.ins[0], ctx.b.scalar(ctx.attr("lo"), dt), ctx.b.scalar(ctx.attr("hi"), dt)])


@register("ClampBackward0")
def _clamp_tensor(ctx: NodeContext) -> str:
    x, lo, hi = ctx.ins
    return ctx.b.op("Min", [ctx.b.op("Max", [x, lo]), hi])


@register("MaximumBackward0")
def _maximum(ctx: NodeContext) -> str:
    return ctx.b.op("Max", ctx.ins)


@register("MinimumBackward0")
def _minimum(ctx: NodeContext) -> str:
    return ctx.b.op("Min", ctx.ins)


@register("WhereBackward0")
def _where(ctx: NodeContext) -> str:
    cond = ctx.resolve_array(np.asarray(ctx.attr("cond")), "condition")
    return ctx.b.op("Where", [cond, ctx.ins[0], ctx.ins[1]])


# ---------------------------------------------------------------------------------------------
# Activations


@register("LeakyReluBackward0")
def _leaky_relu(ctx: NodeContext) -> str:
    return ctx.b.op("LeakyRelu", [ctx.ins[0]], alpha=float(ctx.attr("slope")))


@register("EluBackward0")
def _elu(ctx: NodeContext) -> str:
    return ctx.b.op("Elu", [ctx.ins[0]], alpha=float(ctx.attr("alpha")))


@register("GeluBackward0")
def _gelu(ctx: NodeContext) -> str:
    approx = getattr(ctx.fn, "approx", "none")
    b, x, dt = ctx.b, ctx.ins[0], ctx.in_dtype()
    if b.opset >= 20:
        return b.op("Gelu", [x], approximate=approx)
    half = b.scalar(0.5, dt)
    one = b.scalar(1.0, dt)
    if approx == "tanh":
        cube = b.op("Mul", [b.op("Mul", [x, x]), x])
        inner = b.op("Add", [x, b.op("Mul", [cube, b.scalar(0.044715, dt)])])
        t = b.op("Tanh", [b.op("Mul", [inner, b.scalar(math.sqrt(2 / math.pi), dt)])])
    else:
        t = b.op("Erf", [b.op("Div", [x, b.scalar(math.sqrt(2.0), dt)])])
    return b.op("Mul", [b.op("Mul", [x, half]), b.op("Add", [t, one])])


@register("SiluBackward0")
def _silu(ctx: NodeContext) -> str:
    x = ctx.ins[0]
    return ctx.b.op("Mul", [x, ctx.b.op("Sigmoid", [x])])


@register("SoftplusBackward0")
def _softplus(ctx: NodeContext) -> str:
    b, x, dt = ctx.b, ctx.ins[0], ctx.in_dtype()
    beta, threshold = float(ctx.attr("beta")), float(ctx.attr("threshold"))
    z = x if beta == 1 else b.op("Mul", [x, b.scalar(beta, dt)])
    soft = b.op("Softplus", [z])
    if beta != 1:
        soft = b.op("Div", [soft, b.scalar(beta, dt)])
    return b.op("Where", [b.op("Greater", [z, b.scalar(threshold, dt)]), x, soft])


@register("SoftmaxBackward0")
def _softmax(ctx: NodeContext) -> str:
    return ctx.b.op("Softmax", [ctx.ins[0]], axis=int(ctx.attr("dim")))


@register("LogSoftmaxBackward0")
def _log_softmax(ctx: NodeContext) -> str:
    return ctx.b.op("LogSoftmax", [ctx.ins[0]], axis=int(ctx.attr("dim")))


# ---------------------------------------------------------------------------------------------
# Tensor-scalar arithmetic (one-input nodes with the number as an argument)


@register("_AddScalar")
def _add_scalar(ctx: NodeContext) -> str:
    # NOTE: the core's _AddScalar/_SubScalar do not keep their number on the node; it is read
    # from the keyword arguments kept during the trace (`ctx.attr` falls back to them).
    return ctx.b.op("Add", [ctx.ins[0], ctx.b.scalar(ctx.attr("s"), ctx.out_dtype)])


@register("_SubScalar")
def _sub_scalar(ctx: NodeContext) -> str:
    return ctx.b.op("Sub", [ctx.ins[0], ctx.b.scalar(ctx.attr("s"), ctx.out_dtype)])


def _remainder(ctx: NodeContext, a: str, b_: str) -> str:
    """Python's modulo (the result has the divisor's sign)."""
    b = ctx.b
    if ctx.out_dtype.kind in "iu":
        return b.op("Mod", [a, b_], fmod=0)
    return b.op("Sub", [a, b.op("Mul", [b.op("Floor", [b.op("Div", [a, b_])]), b_])])


@register("RemainderBackward1")
def _remainder_tensor(ctx: NodeContext) -> str:
    return _remainder(ctx, ctx.ins[0], ctx.ins[1])


@register("RemainderBackward0")
def _remainder_scalar(ctx: NodeContext) -> str:
    if len(ctx.ins) > 1:
        return _remainder(ctx, ctx.ins[0], ctx.ins[1])
    return _remainder(ctx, ctx.ins[0], ctx.b.scalar(ctx.attr("s"), ctx.out_dtype))


@register("_MulScalar")
def _mul_scalar(ctx: NodeContext) -> str:
    return ctx.b.op("Mul", [ctx.ins[0], ctx.b.scalar(ctx.attr("s"), ctx.out_dtype)])


@register("_DivScalar")
def _div_scalar(ctx: NodeContext) -> str:
    return ctx.b.op("Div", [ctx.ins[0], ctx.b.scalar(ctx.attr("s"), ctx.out_dtype)])


@register("DivBackward2")
def _div_rounding(ctx: NodeContext) -> str:
    """`div(a, b, rounding_mode=...)` on floats (integer tensors never enter the recorded graph)."""
    b = ctx.b
    q = b.op("Div", list(ctx.ins))
    if str(ctx.attr("rounding_mode")) == "floor":
        return b.op("Floor", [q])
    return b.op("Mul", [b.op("Sign", [q]), b.op("Floor", [b.op("Abs", [q])])])
