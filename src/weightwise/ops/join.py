"""Joining and splitting: cat/stack, split/chunk/unbind (the pieces are views of the input)."""

from __future__ import annotations

import builtins
import operator
from typing import Any, Sequence

import numpy as np

from .._dtype import promote_types
from ..autograd import Function
from ..tensor import Tensor
from ._util import _View, norm_dim
from .indexing import SelectBackward0


def _to_common_dtype(tensors: list[Tensor]) -> list[Tensor]:
    """The tensors cast to their promoted dtype (those already of it are kept as they are)."""
    dt = tensors[0].dtype
    for x in tensors[1:]:
        dt = promote_types(dt, x.dtype)
    return [x if x.dtype is dt else x.to(dt) for x in tensors]


def _skipped(x: np.ndarray) -> bool:
    """A 1-D empty tensor, which cat skips whatever the other shapes (PyTorch's legacy rule)."""
    return x.ndim == 1 and x.shape[0] == 0


class CatBackward0(Function):
    def forward(self, *arrays: np.ndarray, dim: int) -> np.ndarray:  # type: ignore[override]
        self.dim = dim
        # None marks a skipped input: its gradient is an empty (0,) array.
        self.sizes = [None if _skipped(x) else x.shape[dim] for x in arrays]
        keep = [x for x in arrays if not _skipped(x)] or list(arrays)
        return np.concatenate(keep, axis=dim)

    def backward(self, g: np.ndarray) -> tuple:
        out: list[np.ndarray] = []
        start = 0
        idx: list[Any] = [slice(None)] * g.ndim
        for s in self.sizes:
            if s is None:
                out.append(np.zeros((0,), g.dtype))
                continue
            idx[self.dim] = slice(start, start + s)
            out.append(g[tuple(idx)])
            start += s
        return tuple(out)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (1-D empty tensors are skipped, as in PyTorch)."""
    if isinstance(tensors, Tensor):
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    tensors = _to_common_dtype(tensors)
    for i, x in enumerate(tensors):
        if x._a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ref = next((x for x in tensors if not _skipped(x._a)), None)
    if ref is None:  # only 1-D empty tensors: PyTorch returns one, whatever `dim`
        return CatBackward0.apply(*tensors, dim=0)
    d = norm_dim("cat", dim, ref._a.ndim)
    for i, x in enumerate(tensors):
        if _skipped(x._a):
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
    if isinstance(tensors, Tensor):
        raise TypeError("stack(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0]._a.shape
    nd = len(shape) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"stack(): Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {dim})")
    for i, x in enumerate(tensors):
        if x._a.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 and "
                f"{list(x._a.shape)} at entry {i}"
            )
    tensors = _to_common_dtype(tensors)
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
    if a.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = norm_dim("split", dim, a.ndim)
    n = a.shape[d]
    if not isinstance(split_size_or_sections, (list, tuple)):
        step = operator.index(split_size_or_sections)  # an int, or a 0-d integer tensor
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        if step == 0 and n > 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        bounds: list[tuple[int, int]] = [(i, builtins.min(i + step, n)) for i in range(0, n, step)] if step and n else [(0, 0)]
    else:
        sizes = [operator.index(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes={sizes}"
            )
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
    if input._a.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
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
