"""Reductions: sum, mean, max/min, amax/amin, argmax/argmin, var/std, prod, norm, logsumexp,
all/any, count_nonzero, and the cumsum scan.

softmax and log_softmax live in `softmax.py` and are re-exported here, where callers import them.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._reduce_util import _sum_keep
from ._util import norm_dim, norm_dims
from .softmax import (  # noqa: F401  (re-exported: softmax and log_softmax were defined here)
    LogSoftmaxBackward0,
    SoftmaxBackward0,
    _shifted,
    _softmax_like,
    log_softmax,
    softmax,
)


def _expand_back(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
    """Reinsert reduced axes into `g` so that it broadcasts against the input `shape`."""
    if axes is not None and not keepdim:
        g = np.expand_dims(g, axes)
    elif axes is None and not keepdim:
        g = g.reshape((1,) * len(shape))
    return g


def _promoted_sum_dtype(a: np.ndarray, dtype: Any) -> Any:
    if dtype is not None:
        from .._dtype import as_dtype

        return as_dtype(dtype).np
    # Integer and bool sums accumulate in int64, as in PyTorch.
    return np.int64 if a.dtype.kind in "biu" else a.dtype


class SumBackward0(Function):
    def forward(self, a: np.ndarray, axes: Any, keepdim: bool, dtype: Any) -> np.ndarray:
        self.shape, self.axes, self.keepdim = a.shape, axes, keepdim
        if axes is not None and len(axes) == 1 and dtype == a.dtype and axes[0] == a.ndim - 1 and a.ndim > 1:
            s = _sum_keep(a, axes[0])
            return s if keepdim else s.reshape(s.shape[:-1])
        if axes is None and a.ndim > 1 and a.size >= 4096 and 16 <= a.shape[-1] <= 65536 and (
                a.dtype == np.float32 or a.dtype == np.float64) and dtype == a.dtype and a.flags.c_contiguous:
            # Row sums through BLAS, then NumPy's pairwise sum of those: about 3x faster than
            # NumPy's reduction over everything, with the accuracy of `sum(dim)`.
            r = np.add.reduce(np.matmul(a, np.ones(a.shape[-1], a.dtype)), axis=None)
            return np.asarray(r).reshape((1,) * a.ndim) if keepdim else np.asarray(r)
        return np.asarray(a.sum(axis=axes, keepdims=keepdim, dtype=dtype))

    def backward(self, g: np.ndarray) -> np.ndarray:
        if self.axes is None and g.size == 1:
            return np.full(self.shape, g.reshape(()), dtype=g.dtype)
        return np.broadcast_to(_expand_back(g, self.shape, self.axes, self.keepdim), self.shape)


class SumBackward1(SumBackward0):
    pass


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over `dim` (all dims when None); integers accumulate in int64."""
    axes = norm_dims("sum", dim, input._a.ndim)
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
        # The same pairwise sum and division as ndarray.mean, without its Python layers.
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
    axes = norm_dims("mean", dim, input._a.ndim)
    fn = MeanBackward0 if dim is None else MeanBackward1
    if input._a.size:
        return fn.apply(input, axes=axes, keepdim=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return fn.apply(input, axes=axes, keepdim=keepdim)


# ---------------------------------------------------------------------------------------------
# max / min


class MaxBackward1(Function):
    """Full reduction: the gradient is split evenly among tied maxima, as in PyTorch."""

    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, is_max: bool) -> np.ndarray:
        self.a = a
        self.out = np.asarray(a.max() if is_max else a.min())
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        mask = self.a == self.out
        return (mask * (g / mask.sum())).astype(g.dtype, copy=False)


class MinBackward1(MaxBackward1):
    pass


class MaxBackward0(Function):
    """Reduction along one dim: the gradient goes to the returned index only."""

    def forward(self, a: np.ndarray, dim: int, keepdim: bool, idx: np.ndarray) -> np.ndarray:
        self.shape, self.dim, self.keepdim, self.idx = a.shape, dim, keepdim, idx
        return np.take_along_axis(a, np.expand_dims(idx, dim), dim) if keepdim else np.squeeze(
            np.take_along_axis(a, np.expand_dims(idx, dim), dim), dim
        )

    def backward(self, g: np.ndarray) -> np.ndarray:
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
        self.out = np.asarray(a.max(axis=axes, keepdims=True) if is_max else a.min(axis=axes, keepdims=True))
        return self.out if keepdim else np.squeeze(self.out, axis=axes)

    def backward(self, g: np.ndarray) -> np.ndarray:
        mask = self.a == self.out
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        return (mask * g / mask.sum(axis=self.axes, keepdims=True)).astype(g.dtype, copy=False)


class AminBackward0(AmaxBackward0):
    pass


def _nonempty(api: str, a: np.ndarray, dim: int | None) -> None:
    if a.size == 0 and (dim is None or a.shape[dim] == 0):
        raise IndexError(
            f"{api}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        ) if dim is None else IndexError(f"{api}(): cannot compute over a zero-size dimension {dim}")


def _max_min(api: str, input: Tensor, dim: Any, keepdim: bool, is_max: bool, other: Any = None) -> Any:
    from ..return_types import MaxMinResult
    from .elementwise import maximum, minimum

    if isinstance(dim, Tensor):
        return maximum(input, dim) if is_max else minimum(input, dim)
    if dim is None:
        _nonempty(api, input._a, None)
        return (MaxBackward1 if is_max else MinBackward1).apply(input, is_max=is_max)
    d = norm_dim(api, dim, input._a.ndim)
    a = input._a if input._a.ndim else input._a.reshape(1)
    _nonempty(api, a, d)
    idx = np.argmax(a, axis=d) if is_max else np.argmin(a, axis=d)
    if input._a.ndim == 0:
        return MaxMinResult(input.clone(), Tensor._make(np.asarray(0, dtype=np.int64)))
    vals = (MaxBackward0 if is_max else MinBackward0).apply(input, dim=d, keepdim=keepdim, idx=idx)
    ind = np.expand_dims(idx, d) if keepdim else idx
    return MaxMinResult(vals, Tensor._make(np.asarray(ind, dtype=np.int64)))


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """Largest value (no dim), or `(values, indices)` along `dim`, or elementwise with a tensor."""
    return _max_min("max", input, dim, keepdim, True)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _max_min("min", input, dim, keepdim, False)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    axes = norm_dims("amax", dim, input._a.ndim) if dim != () else None
    return AmaxBackward0.apply(input, axes=axes, keepdim=keepdim, is_max=True)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    axes = norm_dims("amin", dim, input._a.ndim) if dim != () else None
    return AminBackward0.apply(input, axes=axes, keepdim=keepdim, is_max=False)


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


# ---------------------------------------------------------------------------------------------
# var / std / prod / norm / logsumexp


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        return float(correction)
    if unbiased is None:
        return 1.0
    return 1.0 if unbiased else 0.0


def _var(a: np.ndarray, axes: Any, ddof: float, keepdim: bool, n: int) -> np.ndarray:
    """Two-pass variance (as NumPy's), without NumPy's warning when `n - ddof <= 0` (then NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.add.reduce(a, axis=axes, keepdims=True) / a.dtype.type(n) if n else np.full((1,) * a.ndim, np.nan, a.dtype)
        c = a - m
        ss = np.add.reduce(c * c, axis=axes, keepdims=keepdim)  # type: ignore[call-overload]
        return np.asarray(ss / a.dtype.type(builtins.max(n - ddof, 0)), dtype=a.dtype)


class VarBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, axes: Any, ddof: float, keepdim: bool) -> np.ndarray:
        self.a, self.axes, self.ddof, self.keepdim = a, axes, ddof, keepdim
        self.n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        return _var(a, axes, ddof, keepdim, self.n)

    def backward(self, g: np.ndarray) -> np.ndarray:
        a = self.a
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = a - np.add.reduce(a, axis=self.axes, keepdims=True) / a.dtype.type(self.n)
            scale = np.divide(2.0, builtins.max(self.n - self.ddof, 0))
            return (g * centred * a.dtype.type(scale)).astype(a.dtype, copy=False)


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    """Variance with Bessel's correction by default (`correction=1`)."""
    if isinstance(dim, bool):  # var(x, False): the old positional `unbiased`
        unbiased, dim = dim, None
    axes = norm_dims("var", dim, input._a.ndim)
    return VarBackward0.apply(input, axes=axes, ddof=_correction(unbiased, correction), keepdim=keepdim)


class StdBackward0(Function):
    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, axes: Any, ddof: float, keepdim: bool) -> np.ndarray:
        self.a, self.axes, self.ddof, self.keepdim = a, axes, ddof, keepdim
        self.n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        self.out = np.sqrt(_var(a, axes, ddof, keepdim, self.n))
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        a = self.a
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        out = _expand_back(self.out, a.shape, self.axes, self.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = a - np.add.reduce(a, axis=self.axes, keepdims=True) / a.dtype.type(self.n)
            # As PyTorch: grad / (2 std), zero where std == 0, then var's backward.
            r = np.where(out == 0, a.dtype.type(0), g / (2 * out))
            scale = np.divide(2.0, builtins.max(self.n - self.ddof, 0))
            return (r * centred * a.dtype.type(scale)).astype(a.dtype, copy=False)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    axes = norm_dims("std", dim, input._a.ndim)
    return StdBackward0.apply(input, axes=axes, ddof=_correction(unbiased, correction), keepdim=keepdim)


class ProdBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, axis: Any, keepdim: bool) -> np.ndarray:
        self.a, self.axis, self.keepdim = a, axis, keepdim
        return np.asarray(a.prod(axis=axis, keepdims=keepdim, dtype=np.int64 if a.dtype.kind in "biu" else a.dtype))

    def backward(self, g: np.ndarray) -> np.ndarray:
        a, ax = self.a, self.axis
        if a.size == 0:
            return np.zeros(a.shape, g.dtype)
        axes = None if ax is None else (ax,)
        g = _expand_back(g, a.shape, axes, self.keepdim)
        # Product of all the other elements, exact even with zeros: exclusive cumprods from both sides.
        flat = np.moveaxis(a, ax, -1) if ax is not None else a.reshape(-1)
        ones = np.ones(flat.shape[:-1] + (1,), dtype=a.dtype)
        left = np.concatenate([ones, np.cumprod(flat, axis=-1)[..., :-1]], axis=-1)
        right = np.concatenate([np.cumprod(flat[..., ::-1], axis=-1)[..., ::-1][..., 1:], ones], axis=-1)
        others = left * right
        others = np.moveaxis(others, -1, ax) if ax is not None else others.reshape(a.shape)
        return (g * others).astype(a.dtype, copy=False)


class ProdBackward1(ProdBackward0):
    pass


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        return ProdBackward0.apply(input, axis=None, keepdim=False)
    return ProdBackward1.apply(input, axis=norm_dim("prod", dim, input._a.ndim), keepdim=keepdim)


class LinalgVectorNormBackward0(Function):
    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, ord: float, axes: Any, keepdim: bool) -> np.ndarray:
        self.a, self.ord, self.axes, self.keepdim = a, ord, axes, keepdim
        x = np.abs(a)
        if ord == 2:
            out = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdim))
        elif ord == np.inf:
            out = x.max(axis=axes, keepdims=keepdim)
        elif ord == -np.inf:
            out = x.min(axis=axes, keepdims=keepdim)
        elif ord == 0:
            out = (x != 0).sum(axis=axes, keepdims=keepdim)
        elif ord == 1:
            out = x.sum(axis=axes, keepdims=keepdim)
        else:
            out = np.sum(x**ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)
        self.out = np.asarray(out, dtype=a.dtype)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        a, p = self.a, self.ord
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        out = _expand_back(self.out, a.shape, self.axes, self.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):
            if p == 2:
                # NOTE: PyTorch defines the gradient of the 2-norm at 0 as 0.
                r = np.where(out == 0, 0, a / out) * g
            elif p == 1:
                r = np.sign(a) * g
            elif p in (np.inf, -np.inf):
                mask = np.abs(a) == out
                r = np.sign(a) * mask * g / mask.sum(axis=self.axes, keepdims=True)
            elif p == 0:
                r = np.zeros_like(a)
            else:
                r = np.where(out == 0, 0, a * np.abs(a) ** (p - 2) / out ** (p - 1)) * g
        return r.astype(a.dtype, copy=False)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Vector norm of the flattened input, or along `dim` (`p` = 2 / 'fro', 1, inf, ...)."""
    ord = 2.0 if p in ("fro", None) else float(p)
    if input._a.dtype.kind not in "fV":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype.name.capitalize()}")
    return LinalgVectorNormBackward0.apply(input, ord=ord, axes=norm_dims("norm", dim, input._a.ndim), keepdim=keepdim)


class LogsumexpBackward0(Function):
    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
        self.a, self.axes, self.keepdim = a, axes, keepdim
        m = a.max(axis=axes, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            out = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        self.out = out
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(self, g: np.ndarray) -> np.ndarray:
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        return g * np.exp(self.a - self.out)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) along `dim`, computed stably by shifting by the max."""
    if input._a.dtype.kind not in "fV":
        input = input.float()
    axes = norm_dims("logsumexp", dim, input._a.ndim)
    return LogsumexpBackward0.apply(input, axes=axes if axes is not None else tuple(range(input._a.ndim)), keepdim=keepdim)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    axes = norm_dims("all", dim, input._a.ndim)
    return Tensor._make(np.asarray(np.all(input._a, axis=axes, keepdims=keepdim)))


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    axes = norm_dims("any", dim, input._a.ndim)
    return Tensor._make(np.asarray(np.any(input._a, axis=axes, keepdims=keepdim)))


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    axes = norm_dims("count_nonzero", dim, input._a.ndim)
    return Tensor._make(np.asarray(np.count_nonzero(input._a, axis=axes), dtype=np.int64))


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    d = norm_dim("cumsum", dim, input._a.ndim)
    return CumsumBackward0.apply(input, dim=d)


class CumsumBackward0(Function):
    def forward(self, a: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        if a.ndim == 0:
            return a.copy()
        return np.cumsum(a, axis=dim, dtype=np.int64 if a.dtype.kind in "biu" else a.dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        if g.ndim == 0:
            return g
        d = self.dim
        return np.flip(np.cumsum(np.flip(g, d), axis=d), d)
