"""Indexing ops: getitem (basic views and advanced copies), setitem's CopySlices, fills, gather,
index_select, masked_fill, narrow."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import _View, norm_dim, unbroadcast


def _convert_key(key: Any) -> tuple[Any, bool]:
    """A NumPy index from a PyTorch one; also whether it is advanced (copying) indexing."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    advanced = False
    for k in key:
        if isinstance(k, Tensor):
            k = k._a
            if k.dtype.kind in "fV":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
            else:
                advanced = True
        elif isinstance(k, (list, np.ndarray)):
            k = np.asarray(k)
            if k.dtype.kind in "fV":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            advanced = True
        elif isinstance(k, bool):
            advanced = True
        out.append(k)
    return tuple(out), advanced


def _check_bounds(a: np.ndarray, key: tuple) -> None:
    dim = 0
    for k in key:
        if k is None:
            continue
        if k is Ellipsis:
            dim = a.ndim - builtins.sum(1 for x in key if x is not None and x is not Ellipsis and not (isinstance(x, np.ndarray) and x.dtype == bool))
            continue
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            if dim >= a.ndim:
                raise IndexError(f"too many indices for tensor of dimension {a.ndim}")
            size = a.shape[dim]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {size}")
        if isinstance(k, np.ndarray) and k.dtype.kind in "iu" and k.size:
            size = a.shape[dim] if dim < a.ndim else 0
            if k.max() >= size or k.min() < -size:
                bad = int(k.max()) if k.max() >= size else int(k.min())
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
        dim += k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else 1


class SliceBackward0(_View):
    def forward(self, a: np.ndarray, key: tuple) -> np.ndarray:
        self.shape, self.dtype, self.key = a.shape, a.dtype, key
        return a[key]

    def backward(self, g: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=g.dtype)
        out[self.key] = g
        return out


class SelectBackward0(SliceBackward0):
    pass


class AliasBackward0(SliceBackward0):
    pass


class IndexBackward0(Function):
    def forward(self, a: np.ndarray, key: tuple) -> np.ndarray:
        self.shape, self.key = a.shape, key
        return a[key]

    def backward(self, g: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(out, self.key, g)  # repeated indices accumulate
        return out


def _basic_name(key: tuple, shape: tuple[int, ...], single_slice: bool) -> type[Function]:
    """PyTorch's node for basic indexing: the last non-trivial step of select/slice/unsqueeze.

    PyTorch applies the index left to right and skips full slices (except a lone `x[:]`);
    when nothing is left the result is an alias.
    """
    if single_slice:
        return SliceBackward0
    consuming = [k for k in key if k is not None and k is not Ellipsis]
    last: type[Function] = AliasBackward0
    dim = 0
    for k in key:
        if k is Ellipsis:
            dim = len(shape) - (len(consuming) - builtins.sum(1 for _ in _consumed_before(key, k)))
            continue
        if k is None:
            last = UnsqueezeNoneBackward
        elif isinstance(k, slice):
            n = shape[dim] if dim < len(shape) else 0
            if k.indices(n) != (0, n, 1):
                last = SliceBackward0
            dim += 1
        else:
            last = SelectBackward0
            dim += 1
    return last


def _consumed_before(key: tuple, stop: Any) -> list[Any]:
    out = []
    for k in key:
        if k is stop:
            break
        if k is not None:
            out.append(k)
    return out


class UnsqueezeNoneBackward(SliceBackward0):
    @classmethod
    def name(cls) -> str:
        return "UnsqueezeBackward0"


def getitem(input: Tensor, key: Any) -> Tensor:
    """PyTorch indexing: ints, slices, None, Ellipsis, bool masks and integer index tensors."""
    nkey, advanced = _convert_key(key)
    a = input._a
    _check_bounds(a, nkey)
    try:
        if advanced:
            return IndexBackward0.apply(input, key=nkey)
        return _basic_name(nkey, a.shape, isinstance(key, slice)).apply(input, key=nkey)
    except IndexError as e:
        raise IndexError(f"index {key!r} is invalid for a tensor of shape {list(a.shape)}: {e}") from None
    except ValueError as e:
        raise IndexError(f"index {key!r} is invalid for a tensor of shape {list(a.shape)}: {e}") from None


class CopySlices(Function):
    """`x[key] = value` recorded in the graph: x's old values there get no gradient."""

    def forward(self, a: np.ndarray, v: np.ndarray, key: tuple, advanced: bool) -> np.ndarray:
        self.key, self.vshape, self.advanced = key, v.shape, advanced
        out = a.copy()
        out[key] = v
        return out

    def backward(self, g: np.ndarray) -> tuple:
        ga = g.copy()
        ga[self.key] = 0
        gv = unbroadcast(g[self.key], self.vshape) if self.needs_input_grad[1] else None
        return ga, gv


class CopyBackwards(CopySlices):
    """`x.copy_(src)` recorded in the graph."""


class ZeroBackward0(Function):
    """`x.zero_()` on a tensor in the graph: the old values get no gradient."""

    def forward(self, a: np.ndarray, value: Any) -> np.ndarray:
        return np.full(a.shape, value, dtype=a.dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.zeros(g.shape, g.dtype)


class FillBackward2(ZeroBackward0):
    """`x.fill_(number)` on a tensor in the graph."""


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    idx = np.nonzero(input._a if input._a.ndim else input._a.reshape(1))
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in idx)
    return Tensor._make(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))


class GatherBackward0(Function):
    def forward(self, a: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
        self.shape, self.dim, self.index = a.shape, dim, index
        return np.take_along_axis(a, index, dim)

    def backward(self, g: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=g.dtype)
        idx: list[Any] = list(np.indices(self.index.shape, sparse=True))
        idx[self.dim] = self.index
        np.add.at(out, tuple(idx), g)
        return out


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    d = norm_dim("gather", dim, input._a.ndim)
    if index._a.dtype != np.int64:
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype}")
    return GatherBackward0.apply(input, dim=d, index=index._a)


class IndexSelectBackward0(IndexBackward0):
    pass


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    d = norm_dim("index_select", dim, input._a.ndim)
    idx = index._a
    if idx.ndim > 1 or idx.dtype.kind not in "iu":
        raise IndexError(f"index_select(): Index is supposed to be a vector of integers, got shape {list(idx.shape)} and dtype {index.dtype}")
    key = (slice(None),) * d + (idx.reshape(-1),)
    _check_bounds(input._a, key)
    return IndexSelectBackward0.apply(input, key=key)


class MaskedFillBackward0(Function):
    """`masked_fill` with a number: the filled places get no gradient."""

    def forward(self, a: np.ndarray, mask: np.ndarray, value: Any) -> np.ndarray:
        self.mask = mask
        return np.where(mask, a.dtype.type(value), a)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.where(self.mask, g.dtype.type(0), g)


class MaskedFillBackward1(Function):
    """`masked_fill` with a 0-d tensor value, which gets the sum of the filled places' gradient."""

    def forward(self, a: np.ndarray, v: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.mask = mask
        return np.where(mask, v, a)

    def backward(self, g: np.ndarray) -> tuple:
        zero = g.dtype.type(0)
        gv = np.asarray(np.where(self.mask, g, zero).sum(dtype=g.dtype)) if self.needs_input_grad[1] else None
        return np.where(self.mask, zero, g), gv


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """Write `value` where `mask` (broadcast to input's shape) is True."""
    m = mask._a
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    try:
        out_shape = np.broadcast_shapes(m.shape, input._a.shape)
    except ValueError:
        out_shape = None
    if out_shape != input._a.shape:
        raise RuntimeError(
            f"masked_fill(): the mask of shape {list(m.shape)} must be broadcastable to the input's shape "
            f"{list(input._a.shape)}"
        )
    if isinstance(value, Tensor):
        if value._a.ndim != 0:
            raise RuntimeError(
                f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {value._a.ndim} dimension(s)."
            )
        return MaskedFillBackward1.apply(input, value.to(input.dtype), mask=m)
    return MaskedFillBackward0.apply(input, mask=m, value=value)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = norm_dim("narrow", dim, input._a.ndim)
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))
