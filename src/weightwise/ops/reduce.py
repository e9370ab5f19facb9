"""Reductions: sum, mean, max/min, amax/amin, argmax/argmin, all/any, count_nonzero, and the
cumsum scan; the one import point for every reduction.

var/std, prod, norm and logsumexp live in `reduce_stats.py`, softmax and log_softmax in
`softmax.py`; both are re-exported here, where callers import them. As in PyTorch, a sum over
infinities or one that overflows gives nan or inf silently (see `_fp.py`), and the dim of a 0-d
tensor (0 or -1) is the tensor itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._fp import FP_ERRORS, quiet
from ._reduce_util import _expand_back, _narrow, _reduce_axes, _sum_keep
from ._util import norm_dim
from .reduce_stats import (  # noqa: F401  (re-exported: these were defined here)
    LinalgVectorNormBackward0,
    LogsumexpBackward0,
    ProdBackward0,
    ProdBackward1,
    StdBackward0,
    VarBackward0,
    _correction,
    _var,
    logsumexp,
    norm,
    prod,
    std,
    var,
)
from .softmax import (  # noqa: F401  (re-exported: softmax and log_softmax were defined here)
    LogSoftmaxBackward0,
    SoftmaxBackward0,
    _shifted,
    _softmax_like,
    log_softmax,
    softmax,
)


def _promoted_sum_dtype(a: np.ndarray, dtype: Any) -> Any:
    if dtype is not None:
        from .._dtype import as_dtype

        return as_dtype(dtype).np
    # Integer and bool sums accumulate in int64, as in PyTorch.
    return np.int64 if a.dtype.kind in "biu" else a.dtype


class SumBackward0(Function):
    def forward(self, a: np.ndarray, axes: Any, keepdim: bool, dtype: Any) -> np.ndarray:
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        try:
            return self._sum(a, axes, keepdim, dtype)
        except FP_ERRORS:  # inf - inf or an overflow: nan or inf, silently, as PyTorch
            return quiet(self._sum, a, axes, keepdim, dtype)

    @staticmethod
    def _sum(a: np.ndarray, axes: Any, keepdim: bool, dtype: Any) -> np.ndarray:
        if axes is not None and len(axes) == 1 and dtype == a.dtype and axes[0] == a.ndim - 1 and a.ndim > 1:
            s = _sum_keep(a, axes[0])
            return s if keepdim else s.reshape(s.shape[:-1])
        if axes is None and a.ndim > 1 and a.size >= 4096 and 16 <= a.shape[-1] <= 65536 and (
                a.dtype == np.float32 or a.dtype == np.float64) and dtype == a.dtype and a.flags.c_contiguous:
            # Row sums through BLAS, then NumPy's pairwise sum of those: about 3x faster than
            # NumPy's reduction over everything, with the accuracy of `sum(dim)`.
            r = np.add.reduce(np.matmul(a, np.ones(a.shape[-1], a.dtype)), axis=None)
            return np.asarray(r).reshape((1,) * a.ndim) if keepdim else np.asarray(r)
        if _narrow(np.dtype(dtype)):  # accumulate in float32, as PyTorch
            return np.asarray(a.sum(axis=axes, keepdims=keepdim, dtype=np.float32)).astype(dtype)
        return np.asarray(a.sum(axis=axes, keepdims=keepdim, dtype=dtype))

    def backward(self, g: np.ndarray) -> np.ndarray:
        if self.axes is None and g.size == 1:
            return np.full(self.shape, g.reshape(()), dtype=g.dtype)
        return np.broadcast_to(_expand_back(g, self.shape, self.axes, self.keepdim), self.shape)


class SumBackward1(SumBackward0):
    pass


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over `dim` (all dims when None); integers accumulate in int64."""
    axes = _reduce_axes("sum", dim, input._a.ndim)
    dt = _promoted_sum_dtype(input._a, dtype)
    fn = SumBackward0 if dim is None else SumBackward1
    return fn.apply(input, axes=axes, keepdim=keepdim, dtype=dt)


class MeanBackward0(Function):
    def forward(self, a: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        if axes is None:
            n = a.size
        else:
            n = 1
            for i in axes:
                n *= a.shape[i]
        self.n = n
        try:
            return self._mean(a, axes, keepdim, n)
        except FP_ERRORS:  # infinities, an overflow, or an empty input (0 / 0): nan or inf
            return quiet(self._mean, a, axes, keepdim, n)

    @staticmethod
    def _mean(a: np.ndarray, axes: Any, keepdim: bool, n: int) -> np.ndarray:
        # The same pairwise sum and division as ndarray.mean, without its Python layers; narrow
        # floats accumulate in float32, as in PyTorch.
        if _narrow(a.dtype):
            return np.asarray(MeanBackward0._mean(a.astype(np.float32), axes, keepdim, n)).astype(a.dtype)
        s = np.add.reduce(a, axis=axes, keepdims=keepdim, dtype=a.dtype)  # type: ignore[call-overload]
        return np.true_divide(s, n, out=s, casting="unsafe") if isinstance(s, np.ndarray) else np.asarray(s / a.dtype.type(n), dtype=a.dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        n = self.n
        if self.axes is None and g.size == 1:
            return np.full(self.shape, g.reshape(()) / n if n else g.reshape(()), dtype=g.dtype)
        g = _expand_back(g, self.shape, self.axes, self.keepdim)
        return np.broadcast_to(g / g.dtype.type(n) if n else g, self.shape)


class MeanBackward1(MeanBackward0):
    pass


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Arithmetic mean over `dim`; floating inputs only, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    if input._a.dtype.kind not in "fV":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {input.dtype.name.capitalize() if input.dtype.name != 'int64' else 'Long'}"
        )
    axes = _reduce_axes("mean", dim, input._a.ndim)
    fn = MeanBackward0 if dim is None else MeanBackward1
    return fn.apply(input, axes=axes, keepdim=keepdim)


# ---------------------------------------------------------------------------------------------
# max / min


class MaxBackward1(Function):
    """Full reduction: the gradient is split evenly among tied maxima, as in PyTorch."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, is_max: bool) -> np.ndarray:
        self.a = a
        with np.errstate(invalid="ignore"):  # bfloat16 warns about NaN
            self.out = np.asarray(a.max() if is_max else a.min())
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: PyTorch's evenly_distribute_backward: a NaN result shares the gradient among
        # the NaNs of the input.
        a, out = self.a, self.out
        mask = np.isnan(a) if np.isnan(out) else a == out
        return np.where(mask, g / g.dtype.type(mask.sum()), g.dtype.type(0))


class MinBackward1(MaxBackward1):
    pass


class MaxBackward0(Function):
    """Reduction along one dim: the gradient goes to the returned index only."""

    def forward(self, a: np.ndarray, dim: int, keepdim: bool, idx: np.ndarray) -> np.ndarray:
        self.shape, self.dim, self.keepdim, self.idx = a.shape, dim, keepdim, idx
        if a.ndim == 0:  # a 0-d tensor's max along dim 0 is itself
            return a.copy()
        return np.take_along_axis(a, np.expand_dims(idx, dim), dim) if keepdim else np.squeeze(
            np.take_along_axis(a, np.expand_dims(idx, dim), dim), dim
        )

    def backward(self, g: np.ndarray) -> np.ndarray:
        if not self.shape:
            return g
        out = np.zeros(self.shape, dtype=g.dtype)
        gi = g if self.keepdim else np.expand_dims(g, self.dim)
        np.put_along_axis(out, np.expand_dims(self.idx, self.dim), gi, self.dim)
        return out


class MinBackward0(MaxBackward0):
    pass


class AmaxBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, axes: Any, keepdim: bool, is_max: bool) -> np.ndarray:
        self.a, self.axes, self.keepdim = a, axes, keepdim
        with np.errstate(invalid="ignore"):  # bfloat16 warns about NaN
            self.out = np.asarray(a.max(axis=axes, keepdims=True) if is_max else a.min(axis=axes, keepdims=True))
        return self.out if keepdim else np.squeeze(self.out, axis=axes)

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: ties share the gradient; a NaN result (no element equals it) gives nan, as PyTorch.
        mask = self.a == self.out
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        with np.errstate(all="ignore"):
            return (mask * g / mask.sum(axis=self.axes, keepdims=True)).astype(g.dtype, copy=False)


class AminBackward0(AmaxBackward0):
    pass


def _nonempty(api: str, a: np.ndarray, dim: int | None, error: type[Exception] = IndexError) -> None:
    """PyTorch's refusal of a reduction with no identity over no elements (`error` when no dim
    is given: RuntimeError for max/min/amax/amin, IndexError for argmax/argmin)."""
    if a.size == 0 and (dim is None or a.shape[dim] == 0):
        raise error(
            f"{api}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        ) if dim is None else IndexError(f"{api}(): cannot compute over a zero-size dimension {dim}")


def _max_min(api: str, input: Tensor, dim: Any, keepdim: bool, is_max: bool, other: Any = None) -> Any:
    from ..return_types import MaxMinResult
    from .elementwise import maximum, minimum

    if isinstance(dim, Tensor):
        return maximum(input, dim) if is_max else minimum(input, dim)
    if dim is None:
        _nonempty(api, input._a, None, RuntimeError)
        return (MaxBackward1 if is_max else MinBackward1).apply(input, is_max=is_max)
    d = norm_dim(api, dim, input._a.ndim)
    a = input._a if input._a.ndim else input._a.reshape(1)
    _nonempty(api, a, d)
    idx = np.argmax(a, axis=d) if is_max else np.argmin(a, axis=d)
    scalar = input._a.ndim == 0  # values and indices stay 0-d, keepdim or not
    if scalar:
        idx = idx.reshape(())
    vals = (MaxBackward0 if is_max else MinBackward0).apply(input, dim=d, keepdim=keepdim, idx=idx)
    ind = np.expand_dims(idx, d) if keepdim and not scalar else idx
    return MaxMinResult(vals, Tensor._make(np.asarray(ind, dtype=np.int64)))


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """Largest value (no dim), or `(values, indices)` along `dim`, or elementwise with a tensor."""
    return _max_min("max", input, dim, keepdim, True)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _max_min("min", input, dim, keepdim, False)


def _amax_amin(api: str, fn: type[Function], input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    a = input._a
    axes = _reduce_axes(api, dim, a.ndim) if dim != () else None
    if a.size == 0:
        if axes is None:
            _nonempty(api, a, None, RuntimeError)
        for d in axes or ():
            if a.shape[d] == 0:
                raise IndexError(f"{api}(): Expected reduction dim {d} to have non-zero size.")
    return fn.apply(input, axes=axes, keepdim=keepdim, is_max=fn is AmaxBackward0)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return _amax_amin("amax", AmaxBackward0, input, dim, keepdim)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return _amax_amin("amin", AminBackward0, input, dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg("argmax", np.argmax, input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg("argmin", np.argmin, input, dim, keepdim)


def _arg(api: str, fn: Any, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    a = input._a
    if a.dtype == np.bool_:
        raise RuntimeError(f"{api}(): does not support bool input")
    if dim is None:
        _nonempty(api, a, None)
        r = np.asarray(fn(a))
        if keepdim:
            r = r.reshape((1,) * a.ndim)
        return Tensor._make(r.astype(np.int64))
    d = norm_dim(api, dim, a.ndim)
    if a.ndim == 0:
        return Tensor._make(np.asarray(0, dtype=np.int64))
    _nonempty(api, a, d)
    return Tensor._make(np.asarray(fn(a, axis=d, keepdims=keepdim), dtype=np.int64))


def _all_any(api: str, np_fn: Any, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    a = input._a
    r = np.asarray(np_fn(a, axis=_reduce_axes(api, dim, a.ndim), keepdims=keepdim))
    # NOTE: PyTorch keeps uint8 for uint8 inputs (a legacy of masks stored as bytes).
    return Tensor._make(r.astype(np.uint8) if a.dtype == np.uint8 else r)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _all_any("all", np.all, input, dim, keepdim)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _all_any("any", np.any, input, dim, keepdim)


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    axes = _reduce_axes("count_nonzero", dim, input._a.ndim)
    return Tensor._make(np.asarray(np.count_nonzero(input._a, axis=axes), dtype=np.int64))


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sums along `dim`; integers accumulate in int64, `dtype` casts the input first."""
    if dtype is not None:
        input = input.to(dtype)
    d = norm_dim("cumsum", dim, input._a.ndim)
    return CumsumBackward0.apply(input, dim=d)


class CumsumBackward0(Function):
    def forward(self, a: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        dt = np.int64 if a.dtype.kind in "biu" else a.dtype
        if a.ndim == 0:
            return a.astype(dt)
        try:
            return self._cumsum(a, dim, dt)
        except FP_ERRORS:  # inf - inf or an overflow: nan or inf, as PyTorch
            return quiet(self._cumsum, a, dim, dt)

    @staticmethod
    def _cumsum(a: np.ndarray, dim: int, dt: Any) -> np.ndarray:
        # PyTorch's CPU scan accumulates float32 in double and the narrow floats in float32.
        if dt == np.float32:
            return np.cumsum(a, axis=dim, dtype=np.float64).astype(dt)
        if not _narrow(np.dtype(dt)):
            return np.cumsum(a, axis=dim, dtype=dt)
        return np.cumsum(a, axis=dim, dtype=np.float32).astype(dt)

    def backward(self, g: np.ndarray) -> np.ndarray:
        if g.ndim == 0:
            return g
        d = self.dim
        try:
            r = self._cumsum(np.flip(g, d), d, g.dtype)
        except FP_ERRORS:
            r = quiet(self._cumsum, np.flip(g, d), d, g.dtype)
        return np.flip(r, d)
