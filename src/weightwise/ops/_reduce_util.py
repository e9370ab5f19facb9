"""Helpers shared by the reductions (`reduce.py`, `reduce_stats.py`) and the softmax family: the
BLAS-backed sum over a last dimension, reinserting reduced axes into a gradient, and dims.

They sit apart so that each of those files can import them without importing the others
(`reduce.py` re-exports the other two, so a reverse import would loop).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._util import norm_dims


def _sum_keep(a: np.ndarray, dim: int) -> np.ndarray:
    """`a.sum(dim, keepdims=True)`; a contiguous float32/64 array summed over its last dim of
    moderate length goes through BLAS (a matrix-vector product: about 3x faster than NumPy's
    row-by-row reduction, and as accurate at these lengths)."""
    n = a.shape[dim] if a.ndim else 1
    if dim == a.ndim - 1 and 16 <= n <= 65536 and a.size >= 4096 and a.flags.c_contiguous and (
            a.dtype == np.float32 or a.dtype == np.float64):
        return np.matmul(a, np.ones(n, a.dtype)).reshape(a.shape[:-1] + (1,))
    if _narrow(a.dtype):
        return np.add.reduce(a, axis=dim, keepdims=True, dtype=np.float32).astype(a.dtype)
    return np.add.reduce(a, axis=dim, keepdims=True)


def _narrow(dt: np.dtype) -> bool:
    """A 16-bit (or 8-bit) float. PyTorch accumulates their reductions in float32; NumPy's
    float16 results and everything ml_dtypes' bfloat16 adds stay narrow, so that 1000 bfloat16
    ones would sum to 256."""
    return dt.itemsize <= 2 and dt.kind in "fV"


def _acc_dtype(dt: np.dtype) -> np.dtype:
    """The dtype a reduction over `dt` accumulates in: float32 for the narrow floats."""
    return np.dtype(np.float32) if _narrow(dt) else dt


def _expand_back(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
    """Reinsert reduced axes into `g` so that it broadcasts against the input `shape`."""
    if axes is not None and not keepdim:
        g = np.expand_dims(g, axes)
    elif axes is None and not keepdim:
        g = g.reshape((1,) * len(shape))
    return g


def _reduce_axes(api: str, dim: Any, ndim: int) -> tuple[int, ...] | None:
    """`dim` as sorted axes (None: all), where a 0-d tensor's dim 0 or -1 is the tensor itself."""
    axes = norm_dims(api, dim, ndim)
    return None if ndim == 0 else axes
