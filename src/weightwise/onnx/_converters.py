"""One converter per autograd node class: the recorded `Function` -> ONNX nodes.

A converter receives a `NodeContext` (the node, the ONNX names of its inputs, the example
arrays of its inputs and output, which axes are dynamic) and returns the ONNX name of the
node's output. Converters are looked up by the node's class name first, then by its PyTorch
grad_fn name (`fn.name()`), so fused nodes that share a public name (`_LinearAddmm`, named
`AddmmBackward0`) get their own converter.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from ._builder import INT64_MAX, INT64_MIN, GraphBuilder

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
