"""Comparison-driven ops: clamp, maximum/minimum and where (differentiable), then comparisons,
logic and bitwise ops (no gradient, bool or integer results).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..autograd import Function, _shape_error
from ..tensor import Tensor
from ._fp import FP_ERRORS, quiet
from ._util import as_tensor_operand, binary_operands, unbroadcast
from .indexing import nonzero

# ---------------------------------------------------------------------------------------------
# Clamping and selection


def _bound(dt: np.dtype, v: Any) -> Any:
    """A clamp bound as a scalar of the input's dtype, cast as PyTorch casts it: out-of-range
    integers wrap (-1 into uint8 is 255); a float too large for float16 is inf (PyTorch refuses
    it; here it clamps nothing)."""
    if dt.kind in "iu":
        return np.asarray(v).astype(dt)[()]
    return dt.type(v)


class ClampBackward1(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
        self.a, self.lo, self.hi = a, lo, hi
        try:
            if a.dtype.kind in "iu":
                out = self._clamp(a, lo, hi)
            else:
                t = a.dtype.type  # the bounds in a's dtype: Python floats make bfloat16 float32
                out = a if lo is None else np.maximum(a, t(lo))
                if hi is not None:
                    out = np.minimum(out, t(hi))
        except FP_ERRORS:  # bfloat16 warns about NaN in comparisons; 1e30 into float16 overflows
            out = quiet(self._clamp, a, lo, hi)
        return out if out is not a else a.copy()

    @staticmethod
    def _clamp(a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
        out = a
        if lo is not None:
            out = np.maximum(out, _bound(a.dtype, lo))
        if hi is not None:
            out = np.minimum(out, _bound(a.dtype, hi))
        return out

    def _mask(self) -> Any:
        a, mask = self.a, None
        if self.lo is not None:
            mask = a >= self.lo
        if self.hi is not None:
            m2 = a <= self.hi
            mask = m2 if mask is None else mask & m2
        return mask

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: PyTorch passes the gradient where lo <= x <= hi, boundaries included (not at NaN).
        try:
            mask = self._mask()
        except FP_ERRORS:
            mask = quiet(self._mask)
        return g if mask is None else g * mask


class ClampBackward0(Function):
    """clamp with tensor bounds; a bound not given is a constant +-inf (or the integer limit),
    `has_lo`/`has_hi` say which are real."""

    saved_inputs = (0, 1, 2)

    def forward(self, a: np.ndarray, lo: np.ndarray, hi: np.ndarray, has_lo: bool = True,
                has_hi: bool = True) -> np.ndarray:
        self.a, self.lo, self.hi, self.has = a, lo, hi, (has_lo, has_hi)
        with np.errstate(invalid="ignore"):  # bfloat16 warns about NaN in comparisons
            return np.minimum(np.maximum(a, lo), hi)

    def backward(self, g: np.ndarray) -> tuple:
        # NOTE: PyTorch's rule: x gets the gradient where lo <= x <= hi; lo where x < lo (and
        # lo < hi); hi where x > hi (or hi < lo, where the result is hi).
        a, lo, hi = self.a, self.lo, self.hi
        has_lo, has_hi = self.has
        zero = g.dtype.type(0)
        with np.errstate(invalid="ignore"):
            inside = (a >= lo) & (a <= hi)
            below = (a < lo) & (lo < hi) if has_hi else a < lo
            above = (a > hi) | (hi < lo) if has_lo else a > hi
        ga = np.where(inside, g, zero)
        glo = np.where(below, g, zero) if self.needs_input_grad[1] else None
        ghi = np.where(above, g, zero) if self.needs_input_grad[2] else None
        return (unbroadcast(ga, a.shape), None if glo is None else unbroadcast(glo, lo.shape),
                None if ghi is None else unbroadcast(ghi, hi.shape))


def _no_bound(dt: np.dtype, high: bool) -> Tensor:
    """The missing side of a tensor clamp: a bound that never binds."""
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return Tensor._make(np.asarray(info.max if high else info.min, dtype=dt))
    if dt.kind == "b":
        return Tensor._make(np.asarray(high))
    return Tensor._make(np.asarray(np.inf if high else -np.inf, dtype=dt))


def _clamp_tensors(input: Tensor, min: Any, max: Any) -> Tensor:
    """clamp with a tensor bound: the three operands promote together, as PyTorch."""
    x = input
    if min is not None:
        x, min = binary_operands(x, min)
    if max is not None:
        x, max = binary_operands(x, max)
        if min is not None and min.dtype is not x.dtype:
            min = min.to(x.dtype)
    dt = x._a.dtype
    if dt.kind == "b" and min is not None and max is not None:
        raise NotImplementedError("clamp(): not implemented for 'Bool' tensors with both bounds (clamp_min or clamp_max alone is)")
    lo = min if min is not None else _no_bound(dt, False)
    hi = max if max is not None else _no_bound(dt, True)
    return ClampBackward0.apply(x, lo, hi, has_lo=min is not None, has_hi=max is not None)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max]; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensors(input, min, max)
    kind = input._a.dtype.kind
    if kind not in "fV":
        if isinstance(min, float) or isinstance(max, float):
            input = input.float()
        elif kind == "b":  # bool with integer bounds gives int64, as PyTorch promotes
            if isinstance(min, (bool, type(None))) and isinstance(max, (bool, type(None))):
                raise NotImplementedError("clamp(): not implemented for 'Bool' tensors with bool bounds")
            input = input.long()
    return ClampBackward1.apply(input, lo=min, hi=max)


class _MinMaxBinary(Function):
    saved_inputs = (0, 1)
    _np: Any = None

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        try:
            return type(self)._np(a, b)
        except FP_ERRORS:  # bfloat16 warns about NaN
            return quiet(type(self)._np, a, b)

    def backward(self, g: np.ndarray) -> tuple:
        # NOTE: PyTorch's rule: the gradient is split equally at ties, and an input gets it
        # unless it loses, so at NaN both inputs get the whole gradient.
        a, b = self.a, self.b
        zero = g.dtype.type(0)
        is_max = type(self)._np is np.maximum
        with np.errstate(invalid="ignore"):
            shared = np.where(a == b, g * g.dtype.type(0.5), g)
            ga = gb = None
            if self.needs_input_grad[0]:
                ga = unbroadcast(np.where(a < b if is_max else a > b, zero, shared), a.shape)
            if self.needs_input_grad[1]:
                gb = unbroadcast(np.where(a > b if is_max else a < b, zero, shared), b.shape)
        return ga, gb


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
    cond = condition._a
    if cond.dtype != np.bool_:
        if cond.dtype != np.uint8:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype}")
        warnings.warn(  # PyTorch still takes a uint8 mask, with this warning
            "where received a uint8 condition tensor. This behavior is deprecated and will be removed in a future "
            "version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=2,
        )
        cond = cond.astype(np.bool_)
    if not isinstance(input, Tensor):
        input = as_tensor_operand(input, other if isinstance(other, Tensor) else condition)
    a, b = binary_operands(input, other)
    return WhereBackward0.apply(a, b, cond=cond)


# ---------------------------------------------------------------------------------------------
# Comparisons and logic: no gradient, bool results


_RETRY = (ValueError, *FP_ERRORS)


def _elementwise(api: str, np_fn: Any, a: np.ndarray, b: Any) -> np.ndarray:
    """`np_fn(a, b)` with PyTorch's broadcasting error, and without bfloat16's NaN warnings."""
    try:
        return np_fn(a, b)
    except FP_ERRORS:
        return quiet(np_fn, a, b)
    except ValueError as e:
        raise _shape_error(api, [a.shape, np.shape(b)], e) from None


def _compare(np_fn: Any, api: str) -> Any:
    def op(input: Tensor, other: Any) -> Tensor:
        # A Python number goes in as it is: NumPy then compares in the tensor's dtype, as
        # PyTorch does (float32 x == 1e30 rounds 1e30 to float32).
        a = input._a
        b = other._a if isinstance(other, Tensor) else other
        if type(b) is float and a.dtype.kind == "V":
            b = a.dtype.type(b)  # bfloat16 with a Python float would compare in float32
        try:  # inline rather than through _elementwise: comparisons are hot
            r = np_fn(a, b)
        except _RETRY:
            r = _elementwise(api, np_fn, a, b)
        return Tensor._make(np.asarray(r))

    op.__name__ = api
    return op


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
logical_and = _compare(np.logical_and, "logical_and")
logical_or = _compare(np.logical_or, "logical_or")
logical_xor = _compare(np.logical_xor, "logical_xor")


def logical_not(input: Tensor) -> Tensor:
    return Tensor._make(np.logical_not(input._a))


def _bitwise(np_fn: Any, sym: str) -> Any:
    def op(input: Tensor, other: Any) -> Tensor:
        b = other._a if isinstance(other, Tensor) else other
        if input._a.dtype.kind in "fV" or isinstance(b, float) or (isinstance(b, np.ndarray) and b.dtype.kind in "fV"):
            raise RuntimeError(f"\"{np_fn.__name__}_cpu\" not implemented for 'Float' (operator {sym})")
        # A Python int goes in as it is, so that the tensor's dtype is kept (int8 & 3 is int8).
        return Tensor._make(np.asarray(_elementwise(np_fn.__name__, np_fn, input._a, b)))

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


def _same_dtype(api: str, input: Tensor, other: Tensor) -> None:
    if input._a.dtype != other._a.dtype:
        raise RuntimeError(f"{api}(): {input.dtype} did not match {other.dtype} (both tensors must have one dtype)")


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    _same_dtype("allclose", input, other)
    return bool(isclose(input, other, rtol, atol, equal_nan)._a.all())


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    _same_dtype("isclose", input, other)
    fn = lambda a, b: np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)  # noqa: E731
    return Tensor._make(np.asarray(_elementwise("isclose", fn, input._a, other._a)))


def equal(input: Tensor, other: Tensor) -> bool:
    return input._a.shape == other._a.shape and bool(np.array_equal(input._a, other._a))
