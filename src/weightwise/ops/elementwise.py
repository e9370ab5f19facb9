"""Elementwise ops: arithmetic and unary math. Forward and backward side by side.

Clamping, selection, comparisons and logic live in `compare.py` and are re-exported here.

Class names are PyTorch's `grad_fn` names, so `type(y.grad_fn).__name__` reads the same in both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import binary_operands, unbroadcast
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

# ---------------------------------------------------------------------------------------------
# Binary arithmetic


class AddBackward0(Function):
    def forward(self, a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
        self.shapes, self.alpha = (a.shape, b.shape), alpha
        return a + b if alpha == 1 else a + alpha * b

    def backward(self, g: np.ndarray) -> tuple:
        sa, sb = self.shapes
        gb = g if self.alpha == 1 else g * self.alpha
        return unbroadcast(g, sa), unbroadcast(gb, sb)


class SubBackward0(Function):
    def forward(self, a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
        self.shapes, self.alpha = (a.shape, b.shape), alpha
        return a - b if alpha == 1 else a - alpha * b

    def backward(self, g: np.ndarray) -> tuple:
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(-g if self.alpha == 1 else -self.alpha * g, sb)


class RsubBackward1(Function):
    """`scalar - tensor`."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return b - a

    def backward(self, g: np.ndarray) -> tuple:
        return -g, None


class MulBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a * b

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.a, self.b
        ga = unbroadcast(g * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class DivBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        with np.errstate(all="ignore"):  # x / 0 is inf or nan, silently, as in PyTorch
            return a / b

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.a, self.b
        with np.errstate(all="ignore"):
            ga = unbroadcast(g / b, a.shape) if self.needs_input_grad[0] else None
            gb = unbroadcast(-g * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class PowBackward0(Function):
    """`tensor ** number`."""

    saved_inputs = (0,)

    def forward(self, a: np.ndarray, exponent: float) -> np.ndarray:
        self.a, self.e = a, exponent
        if exponent == 2:
            return a * a
        with np.errstate(all="ignore"):
            return np.power(a, a.dtype.type(exponent))

    def backward(self, g: np.ndarray) -> np.ndarray:
        e = self.e
        if e == 0:
            return np.zeros_like(g)
        # NOTE: PyTorch uses e * a**(e-1), which is 0 at a=0 for e>1 (and inf/nan for e<1).
        if e == 2:
            return g * (self.a * 2)
        with np.errstate(all="ignore"):
            return g * (e * np.power(self.a, self.a.dtype.type(e - 1)))


class PowBackward1(Function):
    """`tensor ** tensor`."""

    saved_inputs = (0, 1)
    saves_output = True

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        with np.errstate(all="ignore"):
            self.out = np.power(a, b)
        return self.out

    def backward(self, g: np.ndarray) -> tuple:
        a, b, out = self.a, self.b, self.out
        ga = gb = None
        if self.needs_input_grad[0]:
            with np.errstate(all="ignore"):
                ga = unbroadcast(np.where(b == 0, 0, g * b * np.power(a, b - 1)).astype(g.dtype, copy=False), a.shape)
        if self.needs_input_grad[1]:
            # NOTE: PyTorch masks the log at a == 0 where b >= 0, so 0 ** b has gradient 0 in b.
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where((a == 0) & (b >= 0), 0, g * out * np.log(a))
            gb = unbroadcast(lg.astype(g.dtype, copy=False), b.shape)
        return ga, gb


class PowBackward2(Function):
    """`number ** tensor`."""

    saves_output = True

    def forward(self, b: np.ndarray, base: float) -> np.ndarray:
        self.base = base
        with np.errstate(all="ignore"):
            self.out = np.power(b.dtype.type(base), b)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        if self.base <= 0:
            with np.errstate(all="ignore"):
                return np.where(self.out == 0, 0, g * self.out * np.log(g.dtype.type(self.base))).astype(g.dtype, copy=False)
        if self.base == 0:
            return np.where(self.out == 0, 0, g * self.out * np.log(g.dtype.type(self.base)))
        return g * self.out * np.log(g.dtype.type(self.base))


class RemainderBackward1(Function):
    """`tensor % tensor`."""

    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.remainder(a, b)

    def backward(self, g: np.ndarray) -> tuple:
        gb = None
        if self.needs_input_grad[1]:
            gb = unbroadcast(-g * np.floor_divide(self.a, self.b), self.b.shape)
        return unbroadcast(g, self.a.shape), gb


class _AddScalar(Function):
    """`tensor + number` (PyTorch records it as AddBackward0 too)."""

    @classmethod
    def name(cls) -> str:
        return "AddBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        return a + s

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


class _SubScalar(_AddScalar):
    """`tensor - number`, recorded as SubBackward0."""

    @classmethod
    def name(cls) -> str:
        return "SubBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        return a - s


class _MulScalar(Function):
    """`tensor * number`, recorded as MulBackward0."""

    @classmethod
    def name(cls) -> str:
        return "MulBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        return a * s

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g * self.s


class _DivScalar(_MulScalar):
    """`tensor / number`, recorded as DivBackward0."""

    @classmethod
    def name(cls) -> str:
        return "DivBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        if s == 0:
            with np.errstate(all="ignore"):
                return a / s
        return a / s

    def backward(self, g: np.ndarray) -> np.ndarray:
        if self.s == 0:
            with np.errstate(all="ignore"):
                return g / self.s
        return g / self.s


def _float_and_number(input: Tensor, other: Any) -> bool:
    """The fast path: a floating tensor with a Python int/float (no promotion can happen)."""
    t = type(other)
    return (t is float or t is int) and input._a.dtype.kind == "f"


def add(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """`input + alpha * other` with broadcasting."""
    if _float_and_number(input, other) and type(alpha) is int:
        return _AddScalar.apply(input, s=other * alpha)
    a, b = binary_operands(input, other)
    return AddBackward0.apply(a, b, alpha=alpha)


def sub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """`input - alpha * other` with broadcasting."""
    if input.dtype.name == "bool" and isinstance(other, Tensor) and other.dtype.name == "bool":
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    if _float_and_number(input, other) and type(alpha) is int:
        return _SubScalar.apply(input, s=other * alpha)
    a, b = binary_operands(input, other)
    return SubBackward0.apply(a, b, alpha=alpha)


def rsub(input: Tensor, other: Any) -> Tensor:
    """`other - input` for a Python number `other`."""
    if isinstance(other, Tensor):
        return sub(other, input)
    a, b = binary_operands(input, other)
    return RsubBackward1.apply(a, b)


def mul(input: Tensor, other: Any) -> Tensor:
    if _float_and_number(input, other):
        return _MulScalar.apply(input, s=other)
    a, b = binary_operands(input, other)
    return MulBackward0.apply(a, b)


def div(input: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers become floats), or `rounding_mode='floor'|'trunc'`."""
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(
                f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
            )
        a, b = binary_operands(input, other)
        with np.errstate(divide="ignore", invalid="ignore"):
            if rounding_mode == "floor":
                r = np.floor_divide(a._a, b._a) if a._a.dtype.kind not in "fV" else np.floor(a._a / b._a)
            else:
                r = np.trunc(a._a / b._a).astype(a._a.dtype) if a._a.dtype.kind not in "fV" else np.trunc(a._a / b._a)
        return Tensor._make(np.asarray(r, dtype=a._a.dtype))
    if _float_and_number(input, other):
        return _DivScalar.apply(input, s=other)
    a, b = binary_operands(input, other)
    if a._a.dtype.kind not in "fV":
        a, b = a.float(), b.float()
    return DivBackward0.apply(a, b)


def rdiv(input: Tensor, other: Any) -> Tensor:
    """`other / input`: PyTorch computes it as `reciprocal(input) * other`."""
    return mul(reciprocal(input), other)


def floor_divide(input: Tensor, other: Any) -> Tensor:
    a, b = binary_operands(input, other)
    if a._a.dtype.kind not in "fV" and not np.all(b._a):
        raise RuntimeError("ZeroDivisionError")
    return Tensor._make(np.asarray(np.floor_divide(a._a, b._a), dtype=a._a.dtype))


def remainder(input: Tensor, other: Any) -> Tensor:
    a, b = binary_operands(input, other)
    if a._a.dtype.kind not in "fV" and not np.all(b._a):
        raise RuntimeError("ZeroDivisionError")
    if _float_and_number(input, other):
        return RemainderBackward0.apply(input, s=other)
    return RemainderBackward1.apply(a, b)


class RemainderBackward0(Function):
    """`tensor % number`: the gradient passes through unchanged."""

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        return np.remainder(a, s)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


def pow(input: Any, exponent: Any) -> Tensor:
    """`input ** exponent` for tensor/number combinations."""
    if not isinstance(input, Tensor):
        t = exponent if exponent._a.dtype.kind in "fV" else exponent.float()
        return PowBackward2.apply(t, base=float(input))
    if isinstance(exponent, Tensor):
        a, b = binary_operands(input, exponent)
        return PowBackward1.apply(a, b)
    if input._a.dtype.kind in "iub" and isinstance(exponent, float):
        input = input.float()
    if input._a.dtype.kind in "iu" and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return PowBackward0.apply(input, exponent=exponent)


def rpow(input: Tensor, other: Any) -> Tensor:
    return pow(other, input)


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
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / np.sqrt(a)


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
    # Narrow floats: stable on both tails (exp never sees a large positive argument).
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
# NOTE: like PyTorch, abs has gradient sign(x), which is 0 at x = 0.
AbsBackward0 = _unary("AbsBackward0", np.abs, lambda g, x, o: g * np.sign(x))
ExpBackward0 = _unary("ExpBackward0", np.exp, lambda g, x, o: g * o, save="output", quiet=True)
LogBackward0 = _unary("LogBackward0", np.log, lambda g, x, o: g / x, quiet=True)
Log1PBackward0 = _unary("Log1PBackward0", np.log1p, lambda g, x, o: g / (1 + x), quiet=True)
SqrtBackward0 = _unary("SqrtBackward0", np.sqrt, lambda g, x, o: g / (2 * o), save="output", quiet=True)
RsqrtBackward0 = _unary("RsqrtBackward0", _rsqrt, lambda g, x, o: -0.5 * g * o * o * o, save="output", quiet=True)
SinBackward0 = _unary("SinBackward0", np.sin, lambda g, x, o: g * np.cos(x))
CosBackward0 = _unary("CosBackward0", np.cos, lambda g, x, o: -g * np.sin(x))
TanhBackward0 = _unary("TanhBackward0", np.tanh, lambda g, x, o: g * (1 - o * o), save="output")
SigmoidBackward0 = _unary("SigmoidBackward0", _sigmoid, _sigmoid_backward, save="output")
ReciprocalBackward0 = _unary("ReciprocalBackward0", np.reciprocal, lambda g, x, o: -g * o * o, save="output", quiet=True)
Log2Backward0 = _unary("Log2Backward0", np.log2, lambda g, x, o: g / (x * np.log(2.0)).astype(x.dtype), quiet=True)
SignBackward0 = _unary("SignBackward0", np.sign, lambda g, x, o: np.zeros_like(g))
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


def _same_dtype_unary(fn: type[Function], np_fn: Any) -> Any:
    """Unary ops that keep integer dtypes (neg, abs, sign, rounding)."""

    def op(input: Tensor) -> Tensor:
        if input._a.dtype.kind not in "fV":
            if input._a.dtype.kind == "b" and np_fn is np.negative:
                raise RuntimeError(
                    "Negation, the `-` operator, on a bool tensor is not supported. "
                    "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
                )
            return Tensor._make(np.asarray(np_fn(input._a)))
        return fn.apply(input)

    return op


neg = _same_dtype_unary(NegBackward0, np.negative)
abs = _same_dtype_unary(AbsBackward0, np.abs)
sign = _same_dtype_unary(SignBackward0, np.sign)
floor = _same_dtype_unary(FloorBackward0, np.floor)
ceil = _same_dtype_unary(CeilBackward0, np.ceil)
round = _same_dtype_unary(RoundBackward0, np.round)
trunc = _same_dtype_unary(TruncBackward0, np.trunc)


def square(input: Tensor) -> Tensor:
    return pow(input, 2)
