"""Helpers shared by the op families: undoing broadcasting, normalising dims, operand dtypes."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import _dtype
from ..autograd import Function
from ..tensor import Tensor


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `g` down to `shape`, undoing NumPy broadcasting (the gradient of an expand)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1
    )
    if axes:
        narrow = g.itemsize <= 2 and g.dtype.kind in "fV"  # 16-bit floats sum in float32, as PyTorch
        try:
            s = np.add.reduce(g, axis=axes, keepdims=True, dtype=np.float32 if narrow else None)
        except (RuntimeWarning, FloatingPointError):  # inf + (-inf) under -W error: nan, quietly
            with np.errstate(all="ignore"):
                s = np.add.reduce(g, axis=axes, keepdims=True, dtype=np.float32 if narrow else None)
        g = s.astype(g.dtype, copy=False) if narrow else s
    return g.reshape(shape)


def norm_dim(api: str, dim: int, ndim: int) -> int:
    """A dim in range [-ndim, ndim) as a non-negative index; 0-d tensors accept 0 and -1."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{api}(): Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


def norm_dims(api: str, dim: Any, ndim: int) -> tuple[int, ...] | None:
    """`dim` (None, int, or a sequence of ints) as a sorted tuple of non-negative axes."""
    if dim is None:
        return None
    if isinstance(dim, (int, np.integer)):
        return (norm_dim(api, int(dim), ndim),)
    dims = tuple(norm_dim(api, int(d), ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{api}(): dim {dims} appears multiple times in the list of dims")
    return dims if dims else None


def as_tensor_operand(other: Any, like: Tensor) -> Tensor:
    """Wrap a Python number or array-like operand so that binary ops see a Tensor."""
    if isinstance(other, Tensor):
        return other
    if isinstance(other, (bool, int, float, np.bool_, np.integer, np.floating)):
        dt = _dtype.result_type_scalar(like.dtype, other.item() if isinstance(other, np.generic) else other)
        try:
            return Tensor._make(np.asarray(other, dtype=dt.np))
        except OverflowError:  # an int out of an integer dtype's range wraps, as in PyTorch
            if not isinstance(other, (int, np.integer)) or not -(2**63) <= int(other) < 2**63:
                raise OverflowError(f"int too big to convert ({other} does not fit in int64)") from None
            return Tensor._make(np.asarray(np.int64(other)).astype(dt.np))
    if isinstance(other, (list, tuple, np.ndarray)):
        from ..creation import tensor

        return tensor(other)
    raise TypeError(f"unsupported operand type for a Tensor operation: '{type(other).__name__}'")


def result_dtype(a: Tensor, b: Tensor) -> _dtype.dtype:
    """PyTorch's promotion between two tensors, where 0-d tensors defer to dimensioned ones."""
    da, db = a.dtype, b.dtype
    if da is db:
        return da
    za, zb = a._a.ndim == 0, b._a.ndim == 0
    if za != zb:
        dim_t, zero_t = (b, a) if za else (a, b)
        cd, cz = _dtype._category(dim_t.dtype), _dtype._category(zero_t.dtype)
        if cz > cd:
            return zero_t.dtype
        return dim_t.dtype
    return _dtype.promote_types(da, db)


def binary_operands(a: Tensor, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of one dtype (casting the one that differs)."""
    b = as_tensor_operand(b, a)
    if a._a.dtype == b._a.dtype:
        return a, b
    dt = result_dtype(a, b)
    if a.dtype is not dt:
        a = a.to(dt)
    if b.dtype is not dt:
        b = b.to(dt)
    return a, b


def shape_arg(api: str, size: Sequence[Any]) -> tuple[int, ...]:
    """Sizes given as varargs or one sequence (`zeros(2, 3)` or `zeros((2, 3))`), validated."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{api}(): argument 'size' must be a tuple of ints, but found {size!r}") from None
    for s in shape:
        if s < 0:
            raise RuntimeError(f"{api}(): Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


class _View(Function):
    """Marker base: the output shares memory (and the version counter) with the input."""

    is_view = True
