"""Softmax and log-softmax: normalisations along one dim that keep the input's shape.

Both shift by the row max so that `exp` cannot overflow, and sum rows through `_sum_keep` (a
matrix-vector product for contiguous float rows). They live apart from the reductions in
`reduce.py`, which re-exports them (`ops.reduce.softmax` keeps working); `logsumexp`, which
does reduce a dim, lives with the statistics in `reduce_stats.py`.

As in PyTorch, a row holding inf gives nan silently (inf - inf), and a 0-d input is a row of one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._fp import FP_ERRORS, quiet
from ._reduce_util import _sum_keep
from ._util import norm_dim


def _shifted(a: np.ndarray, dim: int) -> np.ndarray:
    """`a - max(a, dim)` as a new array (the shift that keeps exp from overflowing)."""
    return np.subtract(a, a.max(axis=dim, keepdims=True))


def _as_row(fn: Any, *arrays: np.ndarray) -> np.ndarray:
    """`fn` over arrays that are 0-d, seen as rows of one along dim 0."""
    return fn(*[x.reshape(1) for x in arrays]).reshape(())


def _softmax(a: np.ndarray, dim: int) -> np.ndarray:
    e = _shifted(a, dim)
    np.exp(e, out=e)
    e /= _sum_keep(e, dim)
    return e


def _softmax_grad(g: np.ndarray, y: np.ndarray, dim: int) -> np.ndarray:
    """y * (g - sum(g * y)) with one temporary."""
    t = np.multiply(g, y)
    if t.dtype != y.dtype or t.size == 0:
        return y * (g - t.sum(axis=dim, keepdims=True))
    np.subtract(g, _sum_keep(t, dim), out=t)
    return np.multiply(t, y, out=t)


class SoftmaxBackward0(Function):
    saves_output = True

    def forward(self, a: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        if a.size == 0:
            self.out = a.copy()
        elif a.ndim == 0:
            self.out = _as_row(lambda x: quiet(_softmax, x, 0), a)
        else:
            try:
                self.out = _softmax(a, dim)
            except FP_ERRORS:  # a row holding inf: nan, silently, as PyTorch
                self.out = quiet(_softmax, a, dim)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        y, dim = self.out, self.dim
        if y.ndim == 0:
            return _as_row(lambda gg, yy: quiet(_softmax_grad, gg, yy, 0), g, y)
        try:
            return _softmax_grad(g, y, dim)
        except FP_ERRORS:
            return quiet(_softmax_grad, g, y, dim)


class LogSoftmaxBackward0(Function):
    saves_output = True

    def forward(self, a: np.ndarray, dim: int) -> np.ndarray:
        self.dim = dim
        if a.size == 0:
            self.out = a.copy()
            return self.out
        if a.ndim == 0:  # a row of one: log(1) = 0 (nan for inf or nan), and no saved exp
            self.out = quiet(np.subtract, a, a)
            return self.out
        try:
            return self._forward(a, dim)
        except FP_ERRORS:  # a row holding inf: nan, silently, as PyTorch
            return quiet(self._forward, a, dim)

    def _forward(self, a: np.ndarray, dim: int) -> np.ndarray:
        shifted = _shifted(a, dim)
        e = np.exp(shifted)
        s = _sum_keep(e, dim)
        shifted -= np.log(s)
        self.out = shifted
        # exp(out) = e / s: e and s are kept for the backward, which scales e by gs / s in one
        # pass (instead of a division here and a product there, both row broadcasts).
        self.e, self.s = e, s
        return shifted

    def backward(self, g: np.ndarray) -> np.ndarray:
        if self.out.ndim == 0:
            return quiet(lambda: g - np.exp(self.out) * g)
        try:
            return self._backward(g)
        except FP_ERRORS:
            return quiet(self._backward, g)

    def _backward(self, g: np.ndarray) -> np.ndarray:
        e = getattr(self, "e", None)
        gs = _sum_keep(g, self.dim) if g.dtype == self.out.dtype else g.sum(axis=self.dim, keepdims=True)
        if e is None:
            r = np.exp(self.out)
            r *= gs
        elif gs.dtype == e.dtype:
            r = np.multiply(e, np.divide(gs, self.s))
        else:
            r = np.multiply(e / self.s, gs)
        return np.subtract(g, r, out=r)


def _softmax_like(fn: type[Function], api: str, input: Tensor, dim: Any, dtype: Any) -> Tensor:
    """Shared front of softmax/log_softmax: dtype cast, float check, explicit dim, 0-d inputs."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        raise TypeError(f"{api}() missing required argument 'dim' (weightwise, like recent PyTorch, needs an explicit dim)")
    d = norm_dim(api, dim, input._a.ndim)
    if input._a.dtype.kind not in "fV":
        # NotImplementedError, as PyTorch's missing kernel (a RuntimeError subclass).
        raise NotImplementedError(f"{api}(): not implemented for {input.dtype} inputs (it needs a floating-point dtype)")
    return fn.apply(input, dim=d)


def softmax(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, shifted by the max for stability."""
    return _softmax_like(SoftmaxBackward0, "softmax", input, dim, dtype)


def log_softmax(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along `dim`."""
    return _softmax_like(LogSoftmaxBackward0, "log_softmax", input, dim, dtype)
