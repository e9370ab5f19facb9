"""Comparison-driven ops: clamp, maximum/minimum and where (differentiable), then comparisons,
logic and bitwise ops (no gradient, bool or integer results).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import as_tensor_operand, binary_operands, unbroadcast
from .indexing import nonzero

# ---------------------------------------------------------------------------------------------
# Clamping and selection


class ClampBackward1(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
        self.a, self.lo, self.hi = a, lo, hi
        out = a
        if lo is not None:
            out = np.maximum(out, a.dtype.type(lo))
        if hi is not None:
            out = np.minimum(out, a.dtype.type(hi))
        return out if out is not a else a.copy()

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: PyTorch passes the gradient where lo <= x <= hi, boundaries included.
        a, mask = self.a, None
        if self.lo is not None:
            mask = a >= self.lo
        if self.hi is not None:
            m2 = a <= self.hi
            mask = m2 if mask is None else mask & m2
        return g if mask is None else g * mask


class ClampBackward0(Function):
    """clamp with tensor bounds."""

    saved_inputs = (0, 1, 2)

    def forward(self, a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        self.a, self.lo, self.hi = a, lo, hi
        return np.minimum(np.maximum(a, lo), hi)

    def backward(self, g: np.ndarray) -> tuple:
        a, lo, hi = self.a, self.lo, self.hi
        ga = g * ((a >= lo) & (a <= hi))
        glo = unbroadcast(g * (a < lo), lo.shape)
        ghi = unbroadcast(g * (a > hi), hi.shape)
        return unbroadcast(ga, a.shape), glo, ghi


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max]; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        lo = as_tensor_operand(min if min is not None else -np.inf, input)
        hi = as_tensor_operand(max if max is not None else np.inf, input)
        return ClampBackward0.apply(input, lo.to(input.dtype), hi.to(input.dtype))
    if input._a.dtype.kind not in "fV" and (isinstance(min, float) or isinstance(max, float)):
        input = input.float()
    return ClampBackward1.apply(input, lo=min, hi=max)


class _MinMaxBinary(Function):
    saved_inputs = (0, 1)
    _np: Any = None

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return type(self)._np(a, b)

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.a, self.b
        wins = (a > b) if type(self)._np is np.maximum else (a < b)
        # NOTE: PyTorch splits the gradient equally between the two inputs at ties.
        half = (a == b) * 0.5
        ga = g * (wins + half)
        gb = g * ((~wins) & (a != b)) + g * half
        return unbroadcast(ga.astype(g.dtype, copy=False), a.shape), unbroadcast(gb.astype(g.dtype, copy=False), b.shape)


class MaximumBackward0(_MinMaxBinary):
    _np = np.maximum


class MinimumBackward0(_MinMaxBinary):
    _np = np.minimum


def maximum(input: Tensor, other: Tensor) -> Tensor:
    a, b = binary_operands(input, other)
    return MaximumBackward0.apply(a, b)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    a, b = binary_operands(input, other)
    return MinimumBackward0.apply(a, b)


class WhereBackward0(Function):
    def forward(self, a: np.ndarray, b: np.ndarray, cond: np.ndarray) -> np.ndarray:
        self.cond, self.shapes = cond, (a.shape, b.shape)
        return np.where(cond, a, b)

    def backward(self, g: np.ndarray) -> tuple:
        zero = g.dtype.type(0)
        return (
            unbroadcast(np.where(self.cond, g, zero), self.shapes[0]),
            unbroadcast(np.where(self.cond, zero, g), self.shapes[1]),
        )


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """Pick from `input` where `condition` holds, else from `other` (broadcasting all three)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition._a.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype}")
    if not isinstance(input, Tensor):
        input = as_tensor_operand(input, other if isinstance(other, Tensor) else condition)
    a, b = binary_operands(input, other)
    return WhereBackward0.apply(a, b, cond=condition._a)


# ---------------------------------------------------------------------------------------------
# Comparisons and logic: no gradient, bool results


def _compare(np_fn: Any) -> Any:
    def op(input: Tensor, other: Any) -> Tensor:
        b = other._a if isinstance(other, Tensor) else np.asarray(other)
        return Tensor._make(np.asarray(np_fn(input._a, b)))

    op.__name__ = np_fn.__name__
    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)
logical_and = _compare(np.logical_and)
logical_or = _compare(np.logical_or)
logical_xor = _compare(np.logical_xor)


def logical_not(input: Tensor) -> Tensor:
    return Tensor._make(np.logical_not(input._a))


def _bitwise(np_fn: Any, sym: str) -> Any:
    def op(input: Tensor, other: Any) -> Tensor:
        b = other._a if isinstance(other, Tensor) else np.asarray(other)
        if input._a.dtype.kind in "fV" or b.dtype.kind in "fV":
            raise RuntimeError(f"\"{np_fn.__name__}_cpu\" not implemented for 'Float' (operator {sym})")
        return Tensor._make(np.asarray(np_fn(input._a, b)))

    return op


bitwise_and = _bitwise(np.bitwise_and, "&")
bitwise_or = _bitwise(np.bitwise_or, "|")
bitwise_xor = _bitwise(np.bitwise_xor, "^")


def bitwise_not(input: Tensor) -> Tensor:
    if input._a.dtype.kind in "fV":
        raise RuntimeError("\"bitwise_not_cpu\" not implemented for 'Float'")
    return Tensor._make(np.invert(input._a))


def isnan(input: Tensor) -> Tensor:
    return Tensor._make(np.isnan(input._a))


def isinf(input: Tensor) -> Tensor:
    return Tensor._make(np.isinf(input._a))


def isfinite(input: Tensor) -> Tensor:
    return Tensor._make(np.isfinite(input._a))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return bool(np.allclose(input._a, other._a, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    return Tensor._make(np.isclose(input._a, other._a, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    return input._a.shape == other._a.shape and bool(np.array_equal(input._a, other._a))
