"""Shape and movement ops: views, reshape, permute, squeeze, expand, repeat, flip. Views share memory.

Indexing lives in `indexing.py`, joining and splitting in `join.py`; both are re-exported here.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import _View, norm_dim, unbroadcast
from .indexing import (  # noqa: F401  (re-exported)
    AliasBackward0,
    CopyBackwards,
    CopySlices,
    FillBackward2,
    GatherBackward0,
    IndexBackward0,
    IndexSelectBackward0,
    MaskedFillBackward0,
    MaskedFillBackward1,
    SelectBackward0,
    SliceBackward0,
    UnsqueezeNoneBackward,
    ZeroBackward0,
    gather,
    getitem,
    index_select,
    masked_fill,
    narrow,
    nonzero,
)
from .join import (  # noqa: F401  (re-exported)
    CatBackward0,
    SplitBackward0,
    SplitWithSizesBackward0,
    StackBackward0,
    UnbindBackward0,
    cat,
    chunk,
    concat,
    concatenate,
    split,
    stack,
    unbind,
)


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
        # operator.index, not int: PyTorch refuses a float size (int(2.5) would truncate it).
        shp = [operator.index(s) for s in shape]
    except (TypeError, ValueError):
        raise TypeError(f"{api}(): argument 'shape' must be a tuple of ints, but found {shape!r}") from None
    # A Python product: np.prod on a short list costs several microseconds.
    neg = []
    known = 1
    for i, s in enumerate(shp):
        if s == -1:
            neg.append(i)
        elif s < -1:
            raise RuntimeError(f"invalid shape dimension {min(shp)}")
        else:
            known *= s
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
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
        if known == 0:
            # As PyTorch: -1 beside a 0 could be any size.
            raise RuntimeError(
                f"unflatten: cannot infer the size -1 in {list(sizes)} for dim {dim} of size "
                f"{input._a.shape[d]}: another size is 0, so -1 could be any value"
            )
        sizes[sizes.index(-1)] = input._a.shape[d] // known
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


class _TransposeScalar(ViewBackward0):
    """transpose of a 0-d tensor: the identity (a view, exported as one), under PyTorch's name."""

    @classmethod
    def name(cls) -> str:
        return "TransposeBackward0"

    def forward(self, a: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return a.view()

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


class _TScalar(_TransposeScalar):
    @classmethod
    def name(cls) -> str:
        return "TBackward0"


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
        return _TransposeScalar.apply(input)
    return TransposeBackward0.apply(input, d0=d0, d1=d1)


def t(input: Tensor) -> Tensor:
    nd = input._a.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    if nd == 0:
        return _TScalar.apply(input)
    if nd == 1:
        return TBackward0.apply(input, d0=0, d1=0)
    return TBackward0.apply(input, d0=0, d1=1)


def mT(input: Tensor) -> Tensor:
    """`x.mT`: the last two dims swapped; the identity on a 0-d tensor (PyTorch warns it is deprecated)."""
    nd = input._a.ndim
    if nd == 1:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    if nd == 0:
        return input
    return TransposeBackward0.apply(input, d0=nd - 2, d1=nd - 1)


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
    """squeeze(dim) with one int dim."""


class SqueezeBackward2(SqueezeBackward0):
    """squeeze(dims) with a sequence of dims."""


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    a = input._a
    if dim is None:
        return SqueezeBackward0.apply(input, axes=None)
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    ds = tuple(norm_dim("squeeze", d, a.ndim) for d in dims)
    axes = tuple(d for d in ds if a.ndim and a.shape[d] == 1)
    fn = SqueezeBackward1 if isinstance(dim, (int, np.integer)) else SqueezeBackward2
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


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape; one already of that shape is returned as is."""
    shape: tuple[int, ...] = ()
    for t in tensors:
        b = t._a.shape
        n = max(len(shape), len(b))
        a_full, b_full = (1,) * (n - len(shape)) + shape, (1,) * (n - len(b)) + b
        for k, (x, y) in enumerate(zip(a_full, b_full)):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                                   f"at non-singleton dimension {k}")
        shape = tuple(y if x == 1 else x for x, y in zip(a_full, b_full))
    return tuple(t if t._a.shape == shape else expand(t, shape) for t in tensors)


class RepeatBackward0(Function):
    def forward(self, a: np.ndarray, reps: tuple[int, ...]) -> np.ndarray:
        self.shape, self.reps = a.shape, reps
        return np.tile(a.reshape((1,) * (len(reps) - a.ndim) + a.shape), reps)

    def backward(self, g: np.ndarray) -> np.ndarray:
        shape = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        tiled = []  # (rep0, size0, rep1, size1, ...): sum over the rep axes
        for r, s in zip(self.reps, shape):
            tiled += [r, s]
        return g.reshape(tiled).sum(axis=tuple(range(0, len(tiled), 2))).reshape(self.shape)


def repeat(input: Tensor, *reps: Any) -> Tensor:
    if len(reps) == 1 and isinstance(reps[0], (tuple, list)):
        reps = tuple(reps[0])
    if len(reps) < input._a.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    return RepeatBackward0.apply(input, reps=tuple(int(r) for r in reps))


class FlipBackward0(Function):
    def forward(self, a: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        self.dims = dims
        return np.flip(a, dims).copy()

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.flip(g, self.dims)


def flip(input: Tensor, *dims: Any) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    nd = input._a.ndim
    axes = tuple(norm_dim("flip", d, nd) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip(): dim {list(dims)} appears multiple times in the list of dims")
    # A 0-d tensor accepts dim 0 or -1, but NumPy has no axis to flip.
    return FlipBackward0.apply(input, dims=axes if nd else ())
