"""Activation functions with their gradients (relu, leaky_relu, elu, gelu, silu, softplus, ...)."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._fp import FP_ERRORS, quiet
from .elementwise import _sigmoid


def _float(t: Tensor, api: str) -> Tensor:
    if t._a.dtype.kind not in "fV":
        # NotImplementedError, as PyTorch's missing kernel (a RuntimeError subclass).
        raise NotImplementedError(f"{api}(): expected a floating-point input, got {t.dtype}")
    return t


# np.maximum against a scalar runs a slow loop (about 3x slower than against an array), so
# large inputs are clamped against a block of zeros, a slice at a time.
_ZEROS_BLOCK = 1 << 16
_zeros: dict[np.dtype, np.ndarray] = {}


def relu_array(a: np.ndarray) -> np.ndarray:
    """max(a, 0) elementwise (NaN stays NaN), as a new array."""
    n = a.size
    if n < 4096 or a.dtype.kind != "f" or not a.flags.c_contiguous:
        return np.maximum(a, a.dtype.type(0))
    z = _zeros.get(a.dtype)
    if z is None:
        z = _zeros[a.dtype] = np.zeros(_ZEROS_BLOCK, a.dtype)
    out = np.empty(a.shape, a.dtype)
    fa, fo = a.reshape(-1), out.reshape(-1)
    for i in range(0, n, _ZEROS_BLOCK):
        j = i + _ZEROS_BLOCK if i + _ZEROS_BLOCK <= n else n
        np.maximum(fa[i:j], z[:j - i], out=fo[i:j])
    return out


class ReluBackward0(Function):
    saves_output = True

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.out = relu_array(a)
        return self.out

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: the gradient at exactly 0 is 0, as in PyTorch, and NaN passes it (PyTorch zeroes
        # where out <= 0): out is never negative, so out != 0 is that mask in one comparison.
        # A float mask times g: multiplying by a bool array directly casts in a slow loop.
        r = np.not_equal(self.out, 0).astype(g.dtype)
        return np.multiply(r, g, out=r) if r.ndim else r * g


def relu(input: Tensor) -> Tensor:
    """max(x, 0) elementwise."""
    if input._a.dtype.kind == "b":
        raise RuntimeError("\"clamp_min_cpu\" not implemented for 'Bool'")
    return ReluBackward0.apply(input)


class LeakyReluBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, slope: float) -> np.ndarray:
        self.a, self.slope = a, slope
        try:
            return np.where(a > 0, a, a * a.dtype.type(slope))
        except FP_ERRORS:  # bfloat16 warns about NaN in comparisons
            return quiet(lambda: np.where(a > 0, a, a * a.dtype.type(slope)))

    def backward(self, g: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.where(self.a > 0, g, g * g.dtype.type(self.slope))


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyReluBackward0.apply(_float(input, "leaky_relu"), slope=negative_slope)


class EluBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, alpha: float) -> np.ndarray:
        self.a, self.alpha = a, alpha
        with np.errstate(invalid="ignore"):  # bfloat16 warns about NaN in comparisons
            return np.where(a > 0, a, (alpha * np.expm1(np.minimum(a, 0))).astype(a.dtype))

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: PyTorch takes the negative branch where x <= 0, so NaN passes the gradient.
        a = self.a
        with np.errstate(invalid="ignore"):
            return np.where(a <= 0, g * (self.alpha * np.exp(np.minimum(a, 0))).astype(a.dtype), g)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return EluBackward0.apply(_float(input, "elu"), alpha=alpha)


def _erf(x: np.ndarray) -> np.ndarray:
    """Vectorised erf (float64 internally): math.erf is exact but scalar, so use a ufunc."""
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)), dtype=np.float64)


_erf_impl: list = []


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf in float64. SciPy's ufunc when SciPy is installed (imported on first use, so that
    `import weightwise` does not pay for it), else `math.erf` elementwise."""
    if not _erf_impl:
        try:
            from scipy.special import erf as scipy_erf

            _erf_impl.append(lambda v: scipy_erf(v.astype(np.float64)))
        except ImportError:  # pragma: no cover - depends on the environment
            _erf_impl.append(_erf)
    return _erf_impl[0](x)


class GeluBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, approximate: str) -> np.ndarray:
        self.a, self.approx = a, approximate
        x = a.astype(np.float64)
        with np.errstate(all="ignore"):  # gelu(-inf) is -inf * 0: nan, as in PyTorch
            if approximate == "tanh":
                out = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
            else:
                out = 0.5 * x * (1 + erf_array(x / math.sqrt(2)))
            return out.astype(a.dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        x = self.a.astype(np.float64)
        with np.errstate(all="ignore"):
            if self.approx == "tanh":
                k = math.sqrt(2 / math.pi)
                inner = k * (x + 0.044715 * x**3)
                t = np.tanh(inner)
                d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
            else:
                cdf = 0.5 * (1 + erf_array(x / math.sqrt(2)))
                pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
                d = cdf + x * pdf
            return (g * d).astype(g.dtype)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return GeluBackward0.apply(_float(input, "gelu"), approximate=approximate)


class SiluBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        self.s = _sigmoid(a)
        try:
            return a * self.s
        except FP_ERRORS:  # silu(-inf) is -inf * 0: nan, as in PyTorch
            return quiet(np.multiply, a, self.s)

    def _grad(self, g: np.ndarray) -> np.ndarray:
        s = self.s
        return g * s * (1 + self.a * (1 - s))

    def backward(self, g: np.ndarray) -> np.ndarray:
        try:
            return self._grad(g)
        except FP_ERRORS:
            return quiet(self._grad, g)


def silu(input: Tensor) -> Tensor:
    return SiluBackward0.apply(_float(input, "silu"))


class SoftplusBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, beta: float, threshold: float) -> np.ndarray:
        self.a, self.beta, self.threshold = a, beta, threshold
        with np.errstate(all="ignore"):  # overflow and NaN give inf and nan, as in PyTorch
            z = a * a.dtype.type(beta)
            soft = (np.logaddexp(0, z) / beta).astype(a.dtype)
            return np.where(z > threshold, a, soft)

    def backward(self, g: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            z = self.a * self.a.dtype.type(self.beta)
            return np.where(z > self.threshold, g, g * _sigmoid(z))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return SoftplusBackward0.apply(_float(input, "softplus"), beta=beta, threshold=threshold)


class HardtanhBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, lo: float, hi: float) -> np.ndarray:
        self.a, self.lo, self.hi = a, lo, hi
        # The bounds in a's dtype: Python floats would turn bfloat16 into float32, and integer
        # inputs take the bounds truncated, as PyTorch casts them.
        lo_, hi_ = np.asarray(lo).astype(a.dtype)[()], np.asarray(hi).astype(a.dtype)[()]
        with np.errstate(invalid="ignore"):  # bfloat16 warns about NaN in comparisons
            return np.minimum(np.maximum(a, lo_), hi_)

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: hardtanh passes the gradient strictly inside (lo, hi), unlike clamp, and not at
        # NaN (as PyTorch's float32 and float64 kernels; its float16 kernel passes it).
        a = self.a
        with np.errstate(invalid="ignore"):
            return g * ((a > self.lo) & (a < self.hi))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    kind = input._a.dtype.kind
    if kind == "b":
        raise NotImplementedError("hardtanh(): not implemented for 'Bool' tensors")
    if kind == "u" and (min_val < 0 or max_val < 0):
        raise RuntimeError(f"hardtanh(): cannot do hardtanh on an unsigned type with negative limits ({min_val}, {max_val})")
    return HardtanhBackward0.apply(input, lo=min_val, hi=max_val)
