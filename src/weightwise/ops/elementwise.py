"""Elementwise ops: unary math, forward and backward side by side; and the one import point for
every elementwise family.

Binary arithmetic lives in `arithmetic.py`, powers in `power.py`, and clamping, selection,
comparisons and logic in `compare.py`; all are re-exported here, where callers import them.

Class names are PyTorch's `grad_fn` names, so `type(y.grad_fn).__name__` reads the same in both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .arithmetic import (  # noqa: F401  (re-exported)
    AddBackward0,
    DivBackward0,
    DivBackward2,
    MulBackward0,
    RemainderBackward0,
    RemainderBackward1,
    RsubBackward1,
    SubBackward0,
    _AddScalar,
    _DivScalar,
    _MulScalar,
    _SubScalar,
    add,
    div,
    floor_divide,
    mul,
    remainder,
    rfloor_divide,
    rsub,
    sub,
)
from .compare import (  # noqa: F401  (re-exported)
    ClampBackward0,
    ClampBackward1,
    MaximumBackward0,
    MinimumBackward0,
    WhereBackward0,
    allclose,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clamp,
    eq,
    equal,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    minimum,
    ne,
    where,
)
from .power import PowBackward0, PowBackward1, PowBackward2, pow, rpow, square  # noqa: F401  (re-exported)


def rdiv(input: Tensor, other: Any) -> Tensor:
    """`other / input`: PyTorch computes it as `reciprocal(input) * other`."""
    return mul(reciprocal(input), other)


# ---------------------------------------------------------------------------------------------
# Unary math


def _unary(name: str, fwd: Any, bwd: Any, save: str = "input", quiet: bool = False) -> type[Function]:
    """Build a unary Function: `bwd(g, x, out)` gives the input gradient.

    `quiet` ops (outside their domain they give NaN/Inf, as PyTorch does) run without NumPy's
    floating-point warnings.
    """

    def forward(self: Any, a: np.ndarray) -> np.ndarray:
        if a.dtype.kind not in "fV":
            a = a.astype(np.float32)
        if quiet:
            with np.errstate(all="ignore"):
                out = fwd(a)
        else:
            out = fwd(a)
        self.x, self.out = a, out
        return out

    def backward(self: Any, g: np.ndarray) -> np.ndarray:
        if quiet:
            with np.errstate(all="ignore"):
                return bwd(g, self.x, self.out)
        return bwd(g, self.x, self.out)

    attrs: dict[str, Any] = {"forward": forward, "backward": backward}
    if save == "input":
        attrs["saved_inputs"] = (0,)
    else:
        attrs["saves_output"] = True
    return type(name, (Function,), attrs)


def _rsqrt(a: np.ndarray) -> np.ndarray:
    # The 1 in the array's dtype: a Python float would turn bfloat16 into float32.
    return np.divide(a.dtype.type(1), np.sqrt(a))


def _sign(a: np.ndarray) -> np.ndarray:
    """sign(a) as PyTorch: 0 for NaN (NumPy gives NaN) and +0 for -0."""
    zero = a.dtype.type(0)
    s = np.sign(a) + zero  # -0 + 0 is +0
    return np.where(np.isnan(s), zero, s)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.float32 or a.dtype == np.float64:
        # PyTorch's formula 1 / (1 + exp(-x)), in place in one array: exp overflows to inf
        # for very negative x, which gives the right limit 0 (small results keep their
        # relative precision).
        t = np.negative(a, out=np.empty(a.shape, a.dtype))
        with np.errstate(over="ignore"):
            np.exp(t, out=t)
        t += 1
        return np.divide(1, t, out=t)
    # Narrow floats: stable on both tails (exp never sees a large positive argument). NaN
    # stays NaN; bfloat16's comparisons warn about it.
    with np.errstate(invalid="ignore"):
        e = np.exp(-np.abs(a))
        return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def _sigmoid_backward(g: np.ndarray, x: np.ndarray, o: np.ndarray) -> np.ndarray:
    """g * (1 - o) * o (PyTorch's order) with one temporary."""
    if o.dtype != g.dtype or o.ndim == 0:
        return g * (1 - o) * o
    t = np.subtract(1, o)
    np.multiply(g, t, out=t)
    return np.multiply(t, o, out=t)


NegBackward0 = _unary("NegBackward0", np.negative, lambda g, x, o: -g)
# NOTE: like PyTorch, abs has gradient sign(x), which is 0 at x = 0 (and at NaN).
AbsBackward0 = _unary("AbsBackward0", np.abs, lambda g, x, o: g * _sign(x))
ExpBackward0 = _unary("ExpBackward0", np.exp, lambda g, x, o: g * o, save="output", quiet=True)
LogBackward0 = _unary("LogBackward0", np.log, lambda g, x, o: g / x, quiet=True)
Log1PBackward0 = _unary("Log1PBackward0", np.log1p, lambda g, x, o: g / (1 + x), quiet=True)
SqrtBackward0 = _unary("SqrtBackward0", np.sqrt, lambda g, x, o: g / (2 * o), save="output", quiet=True)
RsqrtBackward0 = _unary("RsqrtBackward0", _rsqrt, lambda g, x, o: g.dtype.type(-0.5) * g * o * o * o, save="output", quiet=True)
SinBackward0 = _unary("SinBackward0", np.sin, lambda g, x, o: g * np.cos(x), quiet=True)  # sin(inf) is nan
CosBackward0 = _unary("CosBackward0", np.cos, lambda g, x, o: -g * np.sin(x), quiet=True)
TanhBackward0 = _unary("TanhBackward0", np.tanh, lambda g, x, o: g * (1 - o * o), save="output")
SigmoidBackward0 = _unary("SigmoidBackward0", _sigmoid, _sigmoid_backward, save="output")
# -g * (o * o) in PyTorch's order: inf * (1e-30 ** 2) is inf * 0 = nan, not inf.
ReciprocalBackward0 = _unary("ReciprocalBackward0", np.reciprocal, lambda g, x, o: -g * (o * o), save="output", quiet=True)
Log2Backward0 = _unary("Log2Backward0", np.log2, lambda g, x, o: g / (x * np.log(2.0)).astype(x.dtype), quiet=True)
SignBackward0 = _unary("SignBackward0", _sign, lambda g, x, o: np.zeros_like(g))
FloorBackward0 = _unary("FloorBackward0", np.floor, lambda g, x, o: np.zeros_like(g))
CeilBackward0 = _unary("CeilBackward0", np.ceil, lambda g, x, o: np.zeros_like(g))
RoundBackward0 = _unary("RoundBackward0", np.round, lambda g, x, o: np.zeros_like(g))
TruncBackward0 = _unary("TruncBackward0", np.trunc, lambda g, x, o: np.zeros_like(g))


def _float_unary(fn: type[Function]) -> Any:
    def op(input: Tensor) -> Tensor:
        return fn.apply(input)

    op.__name__ = fn.__name__.replace("Backward0", "").lower()
    return op


exp = _float_unary(ExpBackward0)
log = _float_unary(LogBackward0)
log1p = _float_unary(Log1PBackward0)
log2 = _float_unary(Log2Backward0)
sqrt = _float_unary(SqrtBackward0)
rsqrt = _float_unary(RsqrtBackward0)
sin = _float_unary(SinBackward0)
cos = _float_unary(CosBackward0)
tanh = _float_unary(TanhBackward0)
sigmoid = _float_unary(SigmoidBackward0)
reciprocal = _float_unary(ReciprocalBackward0)


def _refuse_bool(api: str, input: Tensor) -> Tensor:
    if api == "neg":
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    raise NotImplementedError(f"{api}(): not implemented for 'Bool' tensors")


def _bool_sign(api: str, input: Tensor) -> Tensor:
    return Tensor._make(input._a.copy())  # sign of a bool is the bool itself, as PyTorch


def _same_dtype_unary(fn: type[Function], np_fn: Any, api: str, on_bool: Any = _refuse_bool) -> Any:
    """Unary ops that keep integer dtypes (neg, abs, sign, rounding); `on_bool` handles bools."""

    def op(input: Tensor) -> Tensor:
        kind = input._a.dtype.kind
        if kind not in "fV":
            if kind == "b":
                return on_bool(api, input)
            return Tensor._make(np.asarray(np_fn(input._a)))
        return fn.apply(input)

    op.__name__ = api
    return op


neg = _same_dtype_unary(NegBackward0, np.negative, "neg")
abs = _same_dtype_unary(AbsBackward0, np.abs, "abs")
sign = _same_dtype_unary(SignBackward0, np.sign, "sign", _bool_sign)
floor = _same_dtype_unary(FloorBackward0, np.floor, "floor")
ceil = _same_dtype_unary(CeilBackward0, np.ceil, "ceil")
round = _same_dtype_unary(RoundBackward0, np.round, "round")
trunc = _same_dtype_unary(TruncBackward0, np.trunc, "trunc")

