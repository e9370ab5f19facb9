"""Shape and movement ops: views, indexing, concatenation, splitting. Views share memory."""

from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import norm_dim, unbroadcast


class _View(Function):
    """Marker base: the output shares memory (and the version counter) with the input."""

    is_view = True


class ViewBackward0(_View):
    def forward(self, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g.reshape(self.shape)


class UnsafeViewBackward0(Function):
    """reshape of a non-contiguous input: a copy, as in PyTorch."""

    def forward(self, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.shape = a.shape
        return np.reshape(a, shape, copy=True) if hasattr(np, "copyto") else a.reshape(shape).copy()

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g.reshape(self.shape)


def _infer_shape(api: str, shape: Sequence[Any], numel: int) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        shp = [int(s) for s in shape]
    except (TypeError, ValueError):
        raise TypeError(f"{api}(): argument 'shape' must be a tuple of ints, but found {shape!r}") from None
    neg = [i for i, s in enumerate(shp) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shp):
        raise RuntimeError(f"invalid shape dimension {min(shp)}")
    known = int(np.prod([s for s in shp if s != -1], dtype=np.int64))
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shp)}' is invalid for input of size {numel}")
        shp[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '{list(shp)}' is invalid for input of size {numel}")
    return tuple(shp)


def _is_viewable(a: np.ndarray, shape: tuple[int, ...]) -> bool:
    if a.flags.c_contiguous:
        return True
    try:
        v = a.view()
        v.shape = shape  # raises when a copy would be needed
        return True
    except AttributeError:
        return False


def view(input: Tensor, *shape: Any) -> Tensor:
    """A view with a new shape; raises when the memory layout does not allow one (see reshape)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer)):
        from .._dtype import as_dtype

        d = as_dtype(shape[0])
        if d.itemsize != input._a.itemsize:
            raise RuntimeError("view(dtype): only same-size dtypes are supported by weightwise")
        return Tensor._make(input._a.view(d.np))
    shp = _infer_shape("view", shape, input._a.size)
    if not _is_viewable(input._a, shp):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension "
            "spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return ViewBackward0.apply(input, shape=shp)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """A view when the layout allows, else a copy."""
    shp = _infer_shape("reshape", shape, input._a.size)
    if _is_viewable(input._a, shp):
        return ViewBackward0.apply(input, shape=shp)
    return UnsafeViewBackward0.apply(input, shape=shp)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    a = input._a
    if a.ndim == 0:
        return reshape(input, 1)
    s = norm_dim("flatten", start_dim, a.ndim)
    e = norm_dim("flatten", end_dim, a.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = a.shape[:s] + (int(np.prod(a.shape[s : e + 1], dtype=np.int64)),) + a.shape[e + 1 :]
    return reshape(input, shape)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = norm_dim("unflatten", dim, input._a.ndim)
    sizes = list(sizes)
    if -1 in sizes:
        known = int(np.prod([s for s in sizes if s != -1]))
        sizes[sizes.index(-1)] = input._a.shape[d] // known if known else 0
    if int(np.prod(sizes)) != input._a.shape[d]:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({input._a.shape[d]}) in the input tensor"
        )
    return reshape(input, input._a.shape[:d] + tuple(sizes) + input._a.shape[d + 1 :])


class PermuteBackward0(_View):
    def forward(self, a: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        self.inv = tuple(np.argsort(dims))
        return a.transpose(dims)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g.transpose(self.inv)


class TransposeBackward0(_View):
    def forward(self, a: np.ndarray, d0: int, d1: int) -> np.ndarray:
        self.d = (d0, d1)
        return np.swapaxes(a, d0, d1)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.swapaxes(g, *self.d)


class TBackward0(TransposeBackward0):
    pass


def permute(input: Tensor, *dims: Any) -> Tensor:
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    nd = input._a.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal to len(dims) = {len(dims)}"
        )
    d = tuple(norm_dim("permute", int(x), nd) for x in dims)
    if len(set(d)) != len(d):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return PermuteBackward0.apply(input, dims=d)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = input._a.ndim
    d0, d1 = norm_dim("transpose", dim0, nd), norm_dim("transpose", dim1, nd)
    if nd == 0:
        return ViewBackward0.apply(input, shape=())
    return TransposeBackward0.apply(input, d0=d0, d1=d1)


def t(input: Tensor) -> Tensor:
    nd = input._a.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    if nd < 2:
        return ViewBackward0.apply(input, shape=input._a.shape)
    return TBackward0.apply(input, d0=0, d1=1)


def T(input: Tensor) -> Tensor:
    """Reverse all dims (`x.T`)."""
    return PermuteBackward0.apply(input, dims=tuple(range(input._a.ndim))[::-1])


class SqueezeBackward0(_View):
    def forward(self, a: np.ndarray, axes: Any) -> np.ndarray:
        self.shape = a.shape
        return np.squeeze(a, axis=axes)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g.reshape(self.shape)


class SqueezeBackward1(SqueezeBackward0):
    pass


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    a = input._a
    if dim is None:
        return SqueezeBackward0.apply(input, axes=None)
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    ds = tuple(norm_dim("squeeze", d, a.ndim) for d in dims)
    axes = tuple(d for d in ds if a.ndim and a.shape[d] == 1)
    fn = SqueezeBackward1 if isinstance(dim, (int, np.integer)) else SqueezeBackward0
    return fn.apply(input, axes=axes)


class UnsqueezeBackward0(_View):
    def forward(self, a: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        return np.expand_dims(a, dim)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.squeeze(g, self.dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    nd = input._a.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    return UnsqueezeBackward0.apply(input, dim=dim % nd)


class ExpandBackward0(_View):
    def forward(self, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return unbroadcast(g, self.shape)


def expand(input: Tensor, *sizes: Any) -> Tensor:
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    a = input._a
    if len(sizes) < a.ndim:
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(a.shape)}}}, size=[{', '.join(map(str, sizes))}]): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({a.ndim})"
        )
    lead = len(sizes) - a.ndim
    shape = []
    for i, s in enumerate(sizes):
        s = int(s)
        if i >= lead:
            cur = a.shape[i - lead]
            if s == -1:
                s = cur
            elif cur != 1 and cur != s:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                    f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(a.shape)}"
                )
        elif s < 0:
            raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, non-existing dimension {i}")
        shape.append(s)
    return ExpandBackward0.apply(input, shape=tuple(shape))


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(input, tuple(shape))


class RepeatBackward0(Function):
    def forward(self, a: np.ndarray, reps: tuple[int, ...]) -> np.ndarray:
        self.shape, self.reps = a.shape, reps
        return np.tile(a.reshape((1,) * (len(reps) - a.ndim) + a.shape), reps)

    def backward(self, g: np.ndarray) -> np.ndarray:
        shape = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        split = []
        for r, s in zip(self.reps, shape):
            split += [r, s]
        return g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(self.shape)


def repeat(input: Tensor, *reps: Any) -> Tensor:
    if len(reps) == 1 and isinstance(reps[0], (tuple, list)):
        reps = tuple(reps[0])
    if len(reps) < input._a.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    return RepeatBackward0.apply(input, reps=tuple(int(r) for r in reps))


# ---------------------------------------------------------------------------------------------
# Indexing


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


# ---------------------------------------------------------------------------------------------
# Joining and splitting


class CatBackward0(Function):
    def forward(self, *arrays: np.ndarray, dim: int) -> np.ndarray:  # type: ignore[override]
        self.dim = dim
        self.sizes = [x.shape[dim] if x.ndim else 0 for x in arrays]
        keep = [x for x in arrays if not (x.ndim == 1 and x.shape[0] == 0)] or list(arrays)
        return np.concatenate(keep, axis=dim)

    def backward(self, g: np.ndarray) -> tuple:
        out: list[np.ndarray | None] = []
        start = 0
        for s in self.sizes:
            if s == 0 and g.ndim:
                out.append(None)
                continue
            idx = [slice(None)] * g.ndim
            idx[self.dim] = slice(start, start + s)
            out.append(g[tuple(idx)])
            start += s
        return tuple(out)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (1-D empty tensors are skipped, as in PyTorch)."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    from .._dtype import promote_types

    dt = tensors[0].dtype
    for x in tensors[1:]:
        dt = promote_types(dt, x.dtype)
    tensors = [x if x.dtype is dt else x.to(dt) for x in tensors]
    ref = next((x for x in tensors if not (x._a.ndim == 1 and x._a.shape[0] == 0)), tensors[0])
    if ref._a.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = norm_dim("cat", dim, ref._a.ndim)
    for i, x in enumerate(tensors):
        if x._a.ndim == 1 and x._a.shape[0] == 0:
            continue
        if x._a.ndim != ref._a.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref._a.ndim} and {x._a.ndim}")
        for k in range(ref._a.ndim):
            if k != d and x._a.shape[k] != ref._a.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {ref._a.shape[k]} "
                    f"but got size {x._a.shape[k]} for tensor number {i} in the list."
                )
    return CatBackward0.apply(*tensors, dim=d)


concat = concatenate = cat


class StackBackward0(Function):
    def forward(self, *arrays: np.ndarray, dim: int) -> np.ndarray:  # type: ignore[override]
        self.dim, self.n = dim, len(arrays)
        return np.stack(arrays, axis=dim)

    def backward(self, g: np.ndarray) -> tuple:
        return tuple(np.take(g, i, axis=self.dim) for i in range(self.n))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._a.shape
    for i, x in enumerate(tensors):
        if x._a.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                f"{list(x._a.shape)} at entry {i}"
            )
    from .._dtype import promote_types

    dt = tensors[0].dtype
    for x in tensors[1:]:
        dt = promote_types(dt, x.dtype)
    tensors = [x if x.dtype is dt else x.to(dt) for x in tensors]
    nd = len(shape) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    return StackBackward0.apply(*tensors, dim=dim % nd)


class SplitBackward0(_View):
    def forward(self, a: np.ndarray, dim: int, start: int, stop: int) -> np.ndarray:
        self.shape, self.dim, self.start, self.stop = a.shape, dim, start, stop
        idx = [slice(None)] * a.ndim
        idx[dim] = slice(start, stop)
        self.key = tuple(idx)
        return a[self.key]

    def backward(self, g: np.ndarray) -> np.ndarray:
        out = np.zeros(self.shape, dtype=g.dtype)
        out[self.key] = g
        return out


class SplitWithSizesBackward0(SplitBackward0):
    pass


def split(input: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    a = input._a
    d = norm_dim("split", dim, a.ndim)
    n = a.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and n > 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        bounds: list[tuple[int, int]] = [(i, builtins.min(i + step, n)) for i in range(0, n, step)] if step and n else [(0, 0)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                f"dimension {d}), but got split_sizes={sizes}"
            )
        bounds = []
        start = 0
        for s in sizes:
            bounds.append((start, start + s))
            start += s
        return tuple(SplitWithSizesBackward0.apply(input, dim=d, start=s, stop=e) for s, e in bounds)
    return tuple(SplitBackward0.apply(input, dim=d, start=s, stop=e) for s, e in bounds)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = norm_dim("chunk", dim, input._a.ndim)
    n = input._a.shape[d]
    if n == 0:
        return tuple(SplitWithSizesBackward0.apply(input, dim=d, start=0, stop=0) for _ in range(chunks))
    return split(input, -(-n // chunks), d)


class UnbindBackward0(SelectBackward0):
    pass


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    d = norm_dim("unbind", dim, input._a.ndim)
    return tuple(UnbindBackward0.apply(input, key=(slice(None),) * d + (i,)) for i in range(input._a.shape[d]))


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


class FlipBackward0(Function):
    def forward(self, a: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        self.dims = dims
        return np.flip(a, dims).copy()

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.flip(g, self.dims)


def flip(input: Tensor, *dims: Any) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return FlipBackward0.apply(input, dims=tuple(norm_dim("flip", d, input._a.ndim) for d in dims))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = norm_dim("narrow", dim, input._a.ndim)
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))
