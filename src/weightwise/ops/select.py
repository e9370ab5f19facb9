"""Selecting by index tensors and masks: gather, masked_fill, nonzero.

Kept apart from `indexing.py` (the `x[key]` machinery) because these take their indices as
tensors and check them as PyTorch does: integer dtypes, bounds (negative indices are errors
here, unlike in `x[key]`), and index shapes; `index_select`, a kind of `x[key]`, uses the same
checks from `indexing.py`. Also holds `scalar_for_dtype`, PyTorch's checked conversion of a
Python number written into a tensor, shared by `masked_fill` and `x[key] = v`.
"""

from __future__ import annotations

import math
from typing import Any

import ml_dtypes
import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import norm_dim, unbroadcast

INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))
# The largest value each float dtype takes from a Python float without an overflow check
# (finfo costs a microsecond a call); float64 takes them all.
_FLOAT_MAX = {np.dtype(d): float(ml_dtypes.finfo(d).max) for d in (np.float32, np.float16, ml_dtypes.bfloat16)}
_FLOAT_MAX[np.dtype(np.float64)] = math.inf


def scalar_for_dtype(value: Any, dt: np.dtype, *, narrow_float_to_inf: bool = False) -> Any:
    """The Python number `value` as a NumPy scalar of `dt`, with PyTorch's overflow checks.

    An integer dtype refuses nan, inf and values outside its range (an unsigned one also takes
    negatives down to -max, which wrap, as in PyTorch). A float dtype refuses finite values
    beyond its largest, except that `narrow_float_to_inf` lets float16/bfloat16 round them to
    +-inf (what `x[key] = 1e6` does in PyTorch). Raises RuntimeError naming the dtype.
    """
    big = _FLOAT_MAX.get(dt)
    if big is not None and type(value) is float and -big <= value <= big:
        return dt.type(value)  # the common case: a float in range (nan fails the test, cast below)
    kind = dt.kind
    if kind == "b":
        return np.bool_(bool(value))
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError(f"value {value} overflows int64 (Overflow when unpacking long long)")
    if kind in "iu":
        if isinstance(value, float) and not math.isfinite(value):
            raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow ({value})")
        v = int(value)  # truncates toward zero, as a C cast
        info = np.iinfo(dt)
        low = info.min if kind == "i" else -int(info.max)
        if not low <= v <= info.max:
            raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow ({value})")
        return dt.type(v % (int(info.max) + 1) if v < 0 and kind == "u" else v)
    f = float(value)
    if big is not None and abs(f) > big and math.isfinite(f):
        if not (narrow_float_to_inf and dt.itemsize == 2):
            raise RuntimeError(f"value cannot be converted to type {dt.name} without overflow ({value})")
        f = math.copysign(math.inf, f)
    return dt.type(f)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    a = input._a
    idx = np.nonzero(a if a.ndim else a.reshape(1))
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in idx)
    if a.ndim == 0:  # (n, 0): one row per nonzero, no coordinates, as PyTorch
        return Tensor._make(np.zeros((len(idx[0]), 0), np.int64))
    return Tensor._make(np.stack(idx, axis=1).astype(np.int64))


def check_index_range(api: str, idx: np.ndarray, dim: int, size: int, error: type[Exception]) -> None:
    """PyTorch's bounds check, no negative indices: the low end here, the high end by NumPy's
    own check (`out_of_range` turns its IndexError into PyTorch's error)."""
    if idx.size:
        lo = int(idx.min())
        if lo < 0:
            raise error(f"{api}(): index {lo} is out of bounds for dimension {dim} with size {size}")


def out_of_range(api: str, idx: np.ndarray, dim: int, size: int, error: type[Exception]) -> Exception:
    hi = int(idx.max())
    return error(f"{api}(): index {hi} is out of bounds for dimension {dim} with size {size}")


class GatherBackward0(Function):
    def forward(self, a: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
        self.shape, self.dim, self.index = a.shape, dim, index
        if index.shape != a.shape:
            # The index may be smaller than the input off `dim`: gather from that corner only.
            a = a[tuple(slice(None) if k == dim else slice(0, n) for k, n in enumerate(index.shape))]
        return np.take_along_axis(a, index, dim)

    def backward(self, g: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=g.dtype)
        idx: list[Any] = list(np.indices(self.index.shape, sparse=True))
        idx[self.dim] = self.index
        np.add.at(out, tuple(idx), g)
        return out


class _GatherScalar(GatherBackward0):
    """gather on a 0-d input or with a 0-d index: PyTorch reads a 0-d tensor as one of shape (1,)."""

    @classmethod
    def name(cls) -> str:
        return "GatherBackward0"

    def forward(self, a: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
        self.in_shape = a.shape
        out = super().forward(a.reshape(a.shape or (1,)), 0, index.reshape(index.shape or (1,)))
        return out.reshape(index.shape)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return super().backward(g.reshape(self.index.shape)).reshape(self.in_shape)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j] = input[index[i][j]][j] (for dim 0); index may be smaller than input off `dim`."""
    a, idx = input._a, index._a
    if idx.dtype not in INDEX_DTYPES:
        raise RuntimeError(f"gather(): Expected dtype int32/int64 for index, got {index.dtype}")
    d = norm_dim("gather", dim, a.ndim)
    if max(a.ndim, 1) != max(idx.ndim, 1):
        raise RuntimeError(
            f"gather(): Index tensor must have the same number of dimensions as input tensor "
            f"(index {list(idx.shape)}, input {list(a.shape)})"
        )
    if idx.size and idx.shape != a.shape:
        for k in range(a.ndim):
            if k != d and idx.shape[k] > a.shape[k]:
                raise RuntimeError(
                    f"gather(): Size does not match at dimension {k} expected index {list(idx.shape)} to be no "
                    f"larger than self {list(a.shape)} apart from dimension {d}"
                )
    size = a.shape[d] if a.ndim else 1
    check_index_range("gather", idx, d, size, RuntimeError)
    try:
        if a.ndim == 0 or idx.ndim == 0:
            return _GatherScalar.apply(input, dim=0, index=idx)
        return GatherBackward0.apply(input, dim=d, index=idx)
    except IndexError:
        raise out_of_range("gather", idx, d, size, RuntimeError) from None


class MaskedFillBackward0(Function):
    """`masked_fill` with a number: the filled places get no gradient."""

    def forward(self, a: np.ndarray, mask: np.ndarray, value: Any) -> np.ndarray:
        self.mask, self.shape = mask, a.shape
        return np.where(mask, value, a)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return unbroadcast(np.where(self.mask, g.dtype.type(0), g), self.shape)


class MaskedFillBackward1(Function):
    """`masked_fill` with a 0-d tensor value, which gets the sum of the filled places' gradient."""

    def forward(self, a: np.ndarray, v: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.mask, self.shape = mask, a.shape
        return np.where(mask, v, a)

    def backward(self, g: np.ndarray) -> tuple:
        zero = g.dtype.type(0)
        gv = np.asarray(np.where(self.mask, g, zero).sum(dtype=g.dtype)) if self.needs_input_grad[1] else None
        return unbroadcast(np.where(self.mask, zero, g), self.shape), gv


def masked_fill_shape(input: Tensor, mask: Tensor) -> tuple[int, ...]:
    """The result's shape: input and mask broadcast together (a mask may add leading dims)."""
    m, shape = mask._a, input._a.shape
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    if m.shape == shape:
        return shape
    try:
        return np.broadcast_shapes(m.shape, shape)
    except ValueError:
        raise RuntimeError(
            f"masked_fill(): the mask of shape {list(m.shape)} must be broadcastable with the input's shape "
            f"{list(shape)}"
        ) from None


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """Write `value` where `mask` is True; the result has the broadcast shape of input and mask."""
    masked_fill_shape(input, mask)
    m = mask._a
    if isinstance(value, Tensor):
        if value._a.ndim != 0:
            raise RuntimeError(
                f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {value._a.ndim} dimension(s)."
            )
        return MaskedFillBackward1.apply(input, value.to(input.dtype), mask=m)
    return MaskedFillBackward0.apply(input, mask=m, value=scalar_for_dtype(value, input._a.dtype))
