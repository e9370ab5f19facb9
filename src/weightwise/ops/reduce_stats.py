"""Statistical reductions: var, std, prod, the vector norm and logsumexp.

Split from `reduce.py`, which re-exports everything here. Like PyTorch these give inf or nan
silently where the arithmetic does (a variance with no degrees of freedom, a product that
overflows, a norm or logsumexp over infinities), and their gradients follow PyTorch's formulas
at the corners: zero where a std or 2-norm is zero, sign(nan) = 0 in the 1- and inf-norms.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._reduce_util import _acc_dtype, _expand_back, _reduce_axes
from ._util import norm_dim

# ---------------------------------------------------------------------------------------------
# var / std


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        return float(correction)
    if unbiased is None:
        return 1.0
    return 1.0 if unbiased else 0.0


def _var(a: np.ndarray, axes: Any, ddof: float, keepdim: bool, n: int, root: bool = False) -> np.ndarray:
    """Two-pass variance (its square root with `root`), in float64 whatever the float dtype:
    PyTorch accumulates in double on the CPU, so squares of 1e20 or 1e-30 neither overflow nor
    vanish. No degrees of freedom (`n - ddof <= 0`) divides by 0: nan or inf silently, as PyTorch."""
    x = a if a.dtype == np.float64 else a.astype(np.float64)
    with np.errstate(all="ignore"):
        m = np.add.reduce(x, axis=axes, keepdims=True) / n if n else np.full((1,) * x.ndim, np.nan)
        c = x - m
        v = np.add.reduce(c * c, axis=axes, keepdims=keepdim) / builtins.max(n - ddof, 0)  # type: ignore[call-overload]
        return np.asarray(np.sqrt(v) if root else v).astype(a.dtype)


def _var_grad(a: np.ndarray, g: np.ndarray, axes: Any, n: int, ddof: float) -> np.ndarray:
    """PyTorch's var backward, `2 / (n - ddof) * g * (a - mean)`: the divisor is not clamped
    at 0 as in the forward (one element with correction 2 gives -0, not nan)."""
    with np.errstate(all="ignore"):
        mean = np.add.reduce(a, axis=axes, keepdims=True, dtype=_acc_dtype(a.dtype)) / n
        centred = a - mean.astype(a.dtype)
        scale = np.divide(2.0, n - ddof)
        return (g * centred * a.dtype.type(scale)).astype(a.dtype, copy=False)


class VarBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, axes: Any, ddof: float, keepdim: bool) -> np.ndarray:
        self.a, self.axes, self.ddof, self.keepdim = a, axes, ddof, keepdim
        self.n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        return _var(a, axes, ddof, keepdim, self.n)

    def backward(self, g: np.ndarray) -> np.ndarray:
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        return _var_grad(self.a, g, self.axes, self.n, self.ddof)


def _var_args(api: str, input: Tensor, dim: Any, unbiased: Any, correction: Any) -> tuple[Any, float]:
    a = input._a
    if a.dtype.kind not in "fV":
        raise RuntimeError(f"{api}(): std and var only support floating point and complex dtypes, got {input.dtype}")
    if isinstance(dim, bool):  # var(x, False): the old positional `unbiased`
        unbiased, dim = dim, None
    # NOTE: PyTorch also warns (a UserWarning) when n - correction <= 0; we give its nan or inf
    # quietly, as the op tests expect.
    return _reduce_axes(api, dim, a.ndim), _correction(unbiased, correction)


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    """Variance with Bessel's correction by default (`correction=1`)."""
    axes, ddof = _var_args("var", input, dim, unbiased, correction)
    return VarBackward0.apply(input, axes=axes, ddof=ddof, keepdim=keepdim)


class StdBackward0(Function):
    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, axes: Any, ddof: float, keepdim: bool) -> np.ndarray:
        self.a, self.axes, self.ddof, self.keepdim = a, axes, ddof, keepdim
        self.n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        self.out = _var(a, axes, ddof, keepdim, self.n, root=True)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        a = self.a
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        out = _expand_back(self.out, a.shape, self.axes, self.keepdim)
        with np.errstate(all="ignore"):
            # As PyTorch: grad / (2 std), zero where std == 0, then var's backward.
            r = np.where(out == 0, a.dtype.type(0), g / (2 * out))
        return _var_grad(a, r, self.axes, self.n, self.ddof)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    axes, ddof = _var_args("std", input, dim, unbiased, correction)
    return StdBackward0.apply(input, axes=axes, ddof=ddof, keepdim=keepdim)


# ---------------------------------------------------------------------------------------------
# prod


class ProdBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, axis: Any, keepdim: bool) -> np.ndarray:
        self.a, self.axis, self.keepdim = a, axis, keepdim
        dt = np.dtype(np.int64) if a.dtype.kind in "biu" else a.dtype
        with np.errstate(all="ignore"):  # overflow is inf, as in PyTorch
            return np.asarray(a.prod(axis=axis, keepdims=keepdim, dtype=_acc_dtype(dt))).astype(dt)

    def backward(self, g: np.ndarray) -> np.ndarray:
        a, ax = self.a, self.axis
        if a.size == 0:
            return np.zeros(a.shape, g.dtype)
        axes = None if ax is None else (ax,)
        g = _expand_back(g, a.shape, axes, self.keepdim)
        # NOTE: the product of all the other elements, exact even with zeros: exclusive cumprods
        # from both sides. PyTorch divides the product by each element when none is zero, which
        # gives nan (inf / inf, nan / nan) where this product is finite; we keep the exact value.
        flat = np.moveaxis(a, ax, -1) if ax is not None else a.reshape(-1)
        ones = np.ones(flat.shape[:-1] + (1,), dtype=a.dtype)
        with np.errstate(all="ignore"):
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
    d = norm_dim("prod", dim, input._a.ndim)
    # A 0-d tensor's dim 0 is the tensor itself.
    return ProdBackward1.apply(input, axis=d if input._a.ndim else None, keepdim=keepdim)


# ---------------------------------------------------------------------------------------------
# vector norm


def _sign(a: np.ndarray) -> np.ndarray:
    """sign(a) with sign(nan) = 0, as PyTorch's sgn."""
    return np.where(np.isnan(a), a.dtype.type(0), np.sign(a))


def _norm_grad(a: np.ndarray, p: float, g: np.ndarray, out: np.ndarray, axes: Any) -> np.ndarray:
    """PyTorch's linalg_vector_norm_backward, branch by branch (g and out broadcast against a)."""
    zero = a.dtype.type(0)
    if p == 0:
        return np.zeros_like(a)
    if p == 1:
        return _sign(a) * g
    if p == 2:
        # NOTE: PyTorch defines the gradient of the 2-norm at 0 as 0.
        return a * np.where(out == 0, zero, g / out)
    x = np.abs(a)
    if p in (np.inf, -np.inf):
        # The gradient is shared among the elements at the extreme, NaNs counted among them.
        mask = (x == out) | np.isnan(x)
        return _sign(a) * (g / mask.sum(axis=axes, keepdims=True) * mask)
    if p < 1:
        return _sign(a) * np.where(a == 0, zero, x ** (p - 1)) * g * out ** (1 - p)
    scale = np.where(out == 0, zero, g / out ** (p - 1))
    if p < 2:
        return _sign(a) * x ** (p - 1) * scale
    return a * x ** (p - 2) * scale


class LinalgVectorNormBackward0(Function):
    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, ord: float, axes: Any, keepdim: bool) -> np.ndarray:
        self.a, self.ord, self.axes, self.keepdim = a, ord, axes, keepdim
        x = np.abs(a).astype(_acc_dtype(a.dtype), copy=False)  # narrow floats in float32, as PyTorch
        with np.errstate(all="ignore"):  # overflow to inf, and 0 ** negative p, as PyTorch
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
        with np.errstate(over="ignore"):
            self.out = np.asarray(out).astype(a.dtype)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        a = self.a
        g = _expand_back(g, a.shape, self.axes, self.keepdim)
        out = _expand_back(self.out, a.shape, self.axes, self.keepdim)
        with np.errstate(all="ignore"):
            r = _norm_grad(a, self.ord, g, out, self.axes)
        return np.asarray(r).astype(a.dtype, copy=False)


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Vector norm of the flattened input, or along `dim` (`p` = 2 / 'fro', 1, inf, ...)."""
    ord = 2.0 if p in ("fro", None) else float(p)
    if input._a.dtype.kind not in "fV":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype.name.capitalize()}")
    if input._a.size == 0 and (ord < 0 or ord == np.inf):
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {ord:g} norm on an empty tensor because the operation "
            "does not have an identity"
        )
    return LinalgVectorNormBackward0.apply(input, ord=ord, axes=_reduce_axes("norm", dim, input._a.ndim), keepdim=keepdim)


# ---------------------------------------------------------------------------------------------
# logsumexp


class LogsumexpBackward0(Function):
    saved_inputs = (0,)
    saves_output = True

    def forward(self, a: np.ndarray, axes: Any, keepdim: bool) -> np.ndarray:
        self.a, self.axes, self.keepdim = a, axes, keepdim
        x = a.astype(_acc_dtype(a.dtype), copy=False)  # narrow floats in float32, as PyTorch
        with np.errstate(all="ignore"):  # infinities give inf or nan, as in PyTorch
            m = x.max(axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
            m = np.where(np.isfinite(m), m, 0)
            out = (np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m).astype(a.dtype, copy=False)
        self.out = out
        return out if keepdim else np.squeeze(out, axis=axes)

    def backward(self, g: np.ndarray) -> np.ndarray:
        g = _expand_back(g, self.a.shape, self.axes, self.keepdim)
        with np.errstate(all="ignore"):
            return g * np.exp(self.a - self.out)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) along `dim`, computed stably by shifting by the max."""
    if input._a.dtype.kind not in "fV":
        input = input.float()
    axes = _reduce_axes("logsumexp", dim, input._a.ndim)
    return LogsumexpBackward0.apply(input, axes=axes if axes is not None else tuple(range(input._a.ndim)), keepdim=keepdim)
