"""Powers: `tensor ** number`, `tensor ** tensor`, `number ** tensor`, and `square`.

Split from `elementwise.py`, which re-exports everything here. The results are PyTorch's kernels':
the exponents 0.5 and -0.5 go through sqrt and 1 / sqrt (so `(-inf) ** 0.5` is nan and
`(-0.0) ** 0.5` is -0.0), and an integer power with a negative integer exponent *tensor* is 1, +-1
or 0 (a negative exponent *number* is refused). Like PyTorch, a power that overflows or leaves the
real domain gives inf or nan silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._fp import FP_ERRORS, quiet
from ._util import binary_operands, unbroadcast


def _pow_number(a: np.ndarray, e: Any) -> np.ndarray:
    """`a ** e` for a float array, with PyTorch's sqrt and rsqrt kernels for e = +-0.5."""
    t = a.dtype.type  # scalars of the array's dtype: bfloat16 with a Python float gives float32
    if e == 0.5:
        return np.sqrt(a)
    if e == -0.5:
        return np.divide(t(1), np.sqrt(a))
    return np.power(a, t(e))


def _int_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer `a ** b` as PyTorch computes it: wrapping on overflow, and for a negative exponent
    1 where a == 1, +-1 where a == -1 (by the exponent's parity), else 0 (NumPy refuses)."""
    neg = b < 0
    if not neg.any():
        return np.power(a, b)
    r = np.power(a, np.where(neg, 0, b))
    one = np.ones_like(r)
    minus_one = np.where(b % 2 == 0, one, -one)
    special = np.where(a == 1, one, np.where(a == -1, minus_one, np.zeros_like(r)))
    return np.where(neg, special, r).astype(r.dtype, copy=False)


class PowBackward0(Function):
    """`tensor ** number`."""

    saved_inputs = (0,)

    def forward(self, a: np.ndarray, exponent: Any) -> np.ndarray:
        self.a, self.e = a, exponent
        if exponent == 2:
            try:
                return a * a
            except FP_ERRORS:  # overflow: inf, silently, as PyTorch
                return quiet(np.multiply, a, a)
        if a.dtype.kind in "iu":
            return np.power(a, a.dtype.type(exponent))
        with np.errstate(all="ignore"):
            return _pow_number(a, exponent)

    def backward(self, g: np.ndarray) -> np.ndarray:
        e, a = self.e, self.a
        if e == 0:
            return np.zeros_like(g)
        # NOTE: PyTorch's g * (e * a ** (e - 1)): 0 at a = 0 for e > 1, inf or nan for e < 1.
        if e == 2:
            try:
                return g * (a * 2)
            except FP_ERRORS:
                return quiet(lambda: g * (a * 2))
        with np.errstate(all="ignore"):
            return g * (_pow_number(a, e - 1) * a.dtype.type(e))


class PowBackward1(Function):
    """`tensor ** tensor`."""

    saved_inputs = (0, 1)
    saves_output = True

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        if a.dtype.kind in "iu":
            self.out = _int_pow(a, b)
        else:
            with np.errstate(all="ignore"):
                self.out = np.power(a, b)
        return self.out

    def backward(self, g: np.ndarray) -> tuple:
        a, b, out = self.a, self.b, self.out
        ga = gb = None
        zero = g.dtype.type(0)
        with np.errstate(all="ignore"):
            if self.needs_input_grad[0]:
                ga = unbroadcast(np.where(b == 0, zero, g * b * np.power(a, b - 1)).astype(g.dtype, copy=False), a.shape)
            if self.needs_input_grad[1]:
                # NOTE: PyTorch masks the log at a == 0 where b >= 0, so 0 ** b has gradient 0 in b.
                lg = np.where((a == 0) & (b >= 0), zero, g * out * np.log(a))
                gb = unbroadcast(lg.astype(g.dtype, copy=False), b.shape)
        return ga, gb


class PowBackward2(Function):
    """`number ** tensor`."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, b: np.ndarray, base: float) -> np.ndarray:
        self.b, self.base = b, base
        with np.errstate(all="ignore"):
            self.out = np.power(b.dtype.type(base), b)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        t = g.dtype.type
        # PyTorch: g * out * log(base) (nan for a negative base), except that 0 ** b has gradient
        # 0 where b >= 0.
        with np.errstate(all="ignore"):
            d = self.out * np.log(t(self.base))
            if self.base == 0:
                d = np.where(self.b >= 0, t(0), d)
            return (g * d).astype(g.dtype, copy=False)


def _rpow(base: Any, exponent: Tensor) -> Tensor:
    """`number ** tensor`: integer results for an integer (or bool) base and exponent."""
    kind = exponent._a.dtype.kind
    if kind in "biu" and not isinstance(base, float):
        if kind == "b" and isinstance(base, bool):
            raise NotImplementedError("pow(): \"pow\" not implemented for 'Bool' (a bool base and a bool exponent)")
        dt = np.dtype(np.int64) if kind == "b" else exponent._a.dtype
        # The base wraps into the exponent's dtype, as PyTorch casts it (-1 into uint8 is 255).
        return Tensor._make(_int_pow(np.asarray(int(base)).astype(dt), exponent._a.astype(dt, copy=False)))
    t = exponent if kind in "fV" else exponent.float()
    return PowBackward2.apply(t, base=float(base))


def pow(input: Any, exponent: Any) -> Tensor:
    """`input ** exponent` for tensor/number combinations."""
    if not isinstance(input, Tensor):
        return _rpow(input, exponent)
    if isinstance(exponent, Tensor):
        a, b = binary_operands(input, exponent)
        if a._a.dtype.kind == "b":
            raise NotImplementedError("pow(): \"pow\" not implemented for 'Bool' (two bool tensors)")
        return PowBackward1.apply(a, b)
    kind = input._a.dtype.kind
    if kind == "b":
        if isinstance(exponent, bool):  # bool ** bool stays bool, as PyTorch
            return Tensor._make(input._a.copy() if exponent else np.ones_like(input._a))
        input = input.float() if isinstance(exponent, float) else input.long()
    elif kind in "iu" and isinstance(exponent, float):
        input = input.float()
    if input._a.dtype.kind in "iu" and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return PowBackward0.apply(input, exponent=exponent)


def rpow(input: Tensor, other: Any) -> Tensor:
    return pow(other, input)


def square(input: Tensor) -> Tensor:
    return pow(input, 2)
