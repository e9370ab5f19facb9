"""Indexing ops: getitem (basic views and advanced copies), index_select, setitem's CopySlices,
fills, narrow.

gather, masked_fill and nonzero live in `select.py` and are re-exported here.
"""

from __future__ import annotations

import builtins
import operator
import warnings
from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import _View, norm_dim, unbroadcast
from .select import (  # noqa: F401  (re-exported: they were defined here)
    INDEX_DTYPES,
    GatherBackward0,
    MaskedFillBackward0,
    MaskedFillBackward1,
    check_index_range,
    gather,
    masked_fill,
    masked_fill_shape,
    nonzero,
    out_of_range,
    scalar_for_dtype,
)

_INDEX_DTYPE_ERR = "tensors used as indices must be long, int, byte or bool tensors"


def _tensor_index(k: np.ndarray) -> Any:
    """An index tensor's array as NumPy should see it: a mask, an int, or an int array."""
    dt = k.dtype
    if dt == np.uint8:
        # NOTE: PyTorch still reads a uint8 index as a mask (deprecated, with this warning).
        warnings.warn(
            "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead.",
            UserWarning,
            stacklevel=4,
        )
        return k.astype(np.bool_)
    if dt != np.int64 and dt != np.int32 and dt != np.bool_:
        raise IndexError(_INDEX_DTYPE_ERR)
    if k.ndim == 0 and dt != np.bool_:
        return int(k)
    return k


def _convert_key(key: Any) -> tuple[Any, bool]:
    """A NumPy index from a PyTorch one; also whether it is advanced (copying) indexing."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    advanced = False
    for k in key:
        if isinstance(k, Tensor):
            k = _tensor_index(k._a)
            advanced = advanced or type(k) is not int
        elif isinstance(k, slice):
            step = k.step
            if step is not None and step <= 0:
                raise ValueError("slice step cannot be zero" if step == 0 else "step must be greater than zero")
        elif isinstance(k, (list, tuple, np.ndarray)):
            # A sequence inside the key is an index tensor, as in PyTorch (a tuple too).
            k = np.asarray(k)
            if k.dtype.kind in "fVO":
                raise IndexError(_INDEX_DTYPE_ERR)
            advanced = True
        elif isinstance(k, bool):
            advanced = True
        out.append(k)
    return tuple(out), advanced


def _index_parts(key: tuple) -> tuple[tuple, tuple] | None:
    """PyTorch's order when ints sit beside index arrays: (basic part, advanced rest), else None.

    PyTorch applies ints (with slices and None) first and then the index arrays, so an int
    never joins the arrays as NumPy would (`x[0, :, [1, 1]]` is (3, 2) for x of (2, 3, 4),
    where NumPy gives (2, 3)).
    """
    if not any(type(k) is int for k in key) or any(type(k) is bool for k in key):
        return None
    basic: list[Any] = []
    rest: list[Any] = []
    for k in key:
        if isinstance(k, np.ndarray):
            n = k.ndim if k.dtype == np.bool_ else 1
            basic += [slice(None)] * n
            rest.append(k)
        elif type(k) is int:
            basic.append(k)
        else:  # slices, None and Ellipsis: applied by the basic part, kept in place after it
            basic.append(k)
            rest.append(Ellipsis if k is Ellipsis else slice(None))
    return tuple(basic), tuple(rest)


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


class _IndexAfterSelect(IndexBackward0):
    """Index arrays applied after the ints of the same key (see `_index_parts`).

    `key` keeps the whole key (what an exporter reads); `pre` and `rest` are its two steps.
    """

    @classmethod
    def name(cls) -> str:
        return "IndexBackward0"

    def forward(self, a: np.ndarray, key: tuple, pre: tuple, rest: tuple) -> np.ndarray:  # type: ignore[override]
        self.shape, self.key, self.pre, self.rest = a.shape, key, pre, rest
        return a[pre][rest]

    def backward(self, g: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=g.dtype)
        np.add.at(out[self.pre], self.rest, g)  # out[pre] is a view: the sums land in out
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
            parts = _index_parts(nkey)
            if parts is not None:
                return _IndexAfterSelect.apply(input, key=nkey, pre=parts[0], rest=parts[1])
            return IndexBackward0.apply(input, key=nkey)
        return _basic_name(nkey, a.shape, isinstance(key, slice)).apply(input, key=nkey)
    except IndexError as e:
        raise IndexError(f"index {key!r} is invalid for a tensor of shape {list(a.shape)}: {e}") from None
    except ValueError as e:
        raise IndexError(f"index {key!r} is invalid for a tensor of shape {list(a.shape)}: {e}") from None


class IndexSelectBackward0(IndexBackward0):
    pass


class _IndexSelectScalar(IndexSelectBackward0):
    """index_select on a 0-d input: the one value, for a one-element index."""

    @classmethod
    def name(cls) -> str:
        return "IndexSelectBackward0"

    def forward(self, a: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return a.copy()

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of `index` (a vector of int32/int64, no negatives) along `dim`."""
    a, idx = input._a, index._a
    if idx.dtype not in INDEX_DTYPES:
        raise RuntimeError(f"index_select(): Expected dtype int32 or int64 for index, got {index.dtype}")
    if idx.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {list(idx.shape)}")
    d = norm_dim("index_select", dim, a.ndim)
    size = a.shape[d] if a.ndim else 1
    # NOTE: PyTorch raises IndexError out of range along dim 0 and RuntimeError along the others;
    # IndexError everywhere here.
    check_index_range("index_select", idx, d, size, IndexError)
    if a.ndim == 0:
        if idx.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)")
        if int(idx.reshape(-1)[0]) != 0:
            raise out_of_range("index_select", idx, 0, 1, IndexError)
        return _IndexSelectScalar.apply(input)
    try:
        return IndexSelectBackward0.apply(input, key=(slice(None),) * d + (idx.reshape(-1),))
    except IndexError:
        raise out_of_range("index_select", idx, d, size, IndexError) from None


def read_index(a: np.ndarray, key: tuple, advanced: bool) -> np.ndarray:
    """`a[key]` in PyTorch's order (ints before index arrays, see `_index_parts`)."""
    parts = _index_parts(key) if advanced else None
    return a[key] if parts is None else a[parts[0]][parts[1]]


def write_index(a: np.ndarray, key: tuple, v: Any, advanced: bool) -> None:
    """`a[key] = v` in place, in PyTorch's order (ints before index arrays)."""
    parts = _index_parts(key) if advanced else None
    if parts is None:
        a[key] = v
    else:
        a[parts[0]][parts[1]] = v  # a[pre] is a view of a, so the write lands in a


class CopySlices(Function):
    """`x[key] = value` recorded in the graph: x's old values there get no gradient."""

    def forward(self, a: np.ndarray, v: np.ndarray, key: tuple, advanced: bool) -> np.ndarray:
        self.key, self.vshape, self.advanced = key, v.shape, advanced
        out = a.copy()
        write_index(out, key, v, advanced)
        return out

    def backward(self, g: np.ndarray) -> tuple:
        ga = g.copy()
        write_index(ga, self.key, 0, self.advanced)
        gv = None
        if self.needs_input_grad[1]:
            gv = read_index(g, self.key, self.advanced)
            extra = len(self.vshape) - gv.ndim
            if extra > 0:  # a value with more leading 1-dims than the slot it fills
                gv = gv.reshape((1,) * extra + gv.shape)
            gv = unbroadcast(gv, self.vshape)
        return ga, gv


class IndexPutBackward0(CopySlices):
    """`x[index_tensor] = value` (advanced indexing) recorded in the graph."""


def setitem_node(key: tuple, advanced: bool) -> type[CopySlices]:
    """PyTorch's node for `x[key] = value`: IndexPutBackward0 when the index arrays apply to x
    itself (beside full slices only); CopySlices when ints, slices or None first make a view."""
    if advanced and all(isinstance(k, np.ndarray) or k is Ellipsis or k == slice(None) for k in key):
        return IndexPutBackward0
    return CopySlices


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


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """input[..., start:start + length, ...] along `dim`: a view (`start` may be negative or a 0-d tensor)."""
    a = input._a
    if a.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = norm_dim("narrow", dim, a.ndim)
    start, length = operator.index(start), operator.index(length)
    size = a.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"narrow(): start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({size}).")
    # Always a SliceBackward0 node, even when the slice is the whole dim, as in PyTorch.
    return SliceBackward0.apply(input, key=(slice(None),) * d + (slice(start, start + length),))
