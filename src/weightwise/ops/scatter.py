"""scatter and scatter_add (the inverse of gather), and tile, with PyTorch's grad_fn names.

`out = input.scatter(dim, index, src)`: out[index[i][j]][j] = src[i][j] (dim 0), the rest is
input; `scatter_add` adds instead of writing. `index` may be smaller than `src` (only its corner
is used) and than `input` off `dim`. Where an index repeats, scatter keeps the last write.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import norm_dim
from .select import INDEX_DTYPES


def _places(index: np.ndarray, dim: int) -> tuple[Any, ...]:
    """The positions index[...] addresses: a tuple for fancy indexing (index along `dim`)."""
    idx: list[Any] = list(np.indices(index.shape, sparse=True))
    idx[dim] = index
    return tuple(idx)


def _corner(a: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(0, n) for n in shape)


class ScatterBackward0(Function):
    """Inputs (input, src): the scattered places take src; their input gets no gradient there."""

    def forward(self, a: np.ndarray, src: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
        self.places, self.src_shape, self.corner = _places(index, dim), src.shape, _corner(src, index.shape)
        out = a.copy()
        out[self.places] = src[self.corner]
        return out

    def backward(self, g: np.ndarray) -> tuple:
        ga = g.copy()
        ga[self.places] = 0
        gs = np.zeros(self.src_shape, g.dtype)
        gs[self.corner] = g[self.places]
        return ga, gs


class ScatterBackward1(Function):
    """scatter of a number: the scattered places get no gradient."""

    def forward(self, a: np.ndarray, value: Any, dim: int, index: np.ndarray) -> np.ndarray:
        self.places = _places(index, dim)
        out = a.copy()
        out[self.places] = value
        return out

    def backward(self, g: np.ndarray) -> np.ndarray:
        ga = g.copy()
        ga[self.places] = 0
        return ga


class ScatterAddBackward0(Function):
    def forward(self, a: np.ndarray, src: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
        self.places, self.src_shape, self.corner = _places(index, dim), src.shape, _corner(src, index.shape)
        out = a.copy()
        np.add.at(out, self.places, src[self.corner])
        return out

    def backward(self, g: np.ndarray) -> tuple:
        gs = np.zeros(self.src_shape, g.dtype)
        gs[self.corner] = g[self.places]
        return g, gs


def _check(api: str, a: np.ndarray, d: int, idx: np.ndarray, src: np.ndarray | None) -> None:
    if idx.dtype not in INDEX_DTYPES:
        raise RuntimeError(f"{api}(): Expected dtype int64 for index")
    if idx.ndim != a.ndim or (src is not None and src.ndim != a.ndim):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as self tensor ({api}(): index "
                           f"{list(idx.shape)}, self {list(a.shape)})")
    too_big = any(k != d and idx.shape[k] > a.shape[k] for k in range(a.ndim))
    if src is not None and idx.size and (too_big or any(i > s for i, s in zip(idx.shape, src.shape))):
        raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self {list(a.shape)} apart from "
                           f"dimension {d} and to be no larger size than src {list(src.shape)}")
    if src is None and too_big:
        raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self {list(a.shape)} apart from "
                           f"dimension {d}")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= a.shape[d]:
            raise RuntimeError(f"index {hi if hi >= a.shape[d] else lo} is out of bounds for dimension {d} with "
                               f"size {a.shape[d]}")


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of `input` with src's (or `value`'s) entries written at `index` along `dim`."""
    if reduce is not None:
        raise NotImplementedError("scatter(): the reduce argument is not supported by weightwise (use scatter_add)")
    if src is None and value is None:
        raise TypeError("scatter() missing required argument 'src' (or 'value')")
    a, idx = input._a, index._a
    d = norm_dim("scatter", dim, max(a.ndim, 1))
    if isinstance(src, Tensor):
        _check("scatter", a, d, idx, src._a)
        s = src if src.dtype is input.dtype else src.to(input.dtype)
        return ScatterBackward0.apply(input, s, dim=d, index=idx)
    _check("scatter", a, d, idx, None)
    return ScatterBackward1.apply(input, value=value if src is None else src, dim=d, index=idx)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of `input` with src's entries added at `index` along `dim` (repeated indices add up)."""
    a, idx = input._a, index._a
    d = norm_dim("scatter_add", dim, max(a.ndim, 1))
    _check("scatter_add", a, d, idx, src._a)
    s = src if src.dtype is input.dtype else src.to(input.dtype)
    return ScatterAddBackward0.apply(input, s, dim=d, index=idx)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """`input` repeated `dims` times along each dim; missing leading dims count as 1 (then `repeat`)."""
    from .movement import repeat

    reps = tuple(int(r) for r in dims)
    reps = (1,) * (input._a.ndim - len(reps)) + reps
    return repeat(input, reps)
