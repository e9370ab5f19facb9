"""Activation functions with their gradients (relu, leaky_relu, elu, gelu, silu, softplus, ...)."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .elementwise import _sigmoid


def _float(t: Tensor, api: str) -> Tensor:
    if t._a.dtype.kind not in "fV":
        raise RuntimeError(f"{api}(): expected a floating-point input, got {t.dtype}")
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
        # NOTE: the gradient at exactly 0 is 0, as in PyTorch (it tests out > 0).
        # A float mask times g: multiplying by a bool array directly casts in a slow loop.
        r = np.greater(self.out, 0).astype(g.dtype)
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
        return np.where(a > 0, a, a * a.dtype.type(slope))

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.where(self.a > 0, g, g * g.dtype.type(self.slope))


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyReluBackward0.apply(_float(input, "leaky_relu"), slope=negative_slope)


class EluBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, alpha: float) -> np.ndarray:
        self.a, self.alpha = a, alpha
        return np.where(a > 0, a, (alpha * np.expm1(np.minimum(a, 0))).astype(a.dtype))

    def backward(self, g: np.ndarray) -> np.ndarray:
        a = self.a
        return np.where(a > 0, g, g * (self.alpha * np.exp(np.minimum(a, 0))).astype(a.dtype))


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
        if approximate == "tanh":
            out = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
        else:
            out = 0.5 * x * (1 + erf_array(x / math.sqrt(2)))
        return out.astype(a.dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        x = self.a.astype(np.float64)
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
        return a * self.s

    def backward(self, g: np.ndarray) -> np.ndarray:
        s = self.s
        return g * s * (1 + self.a * (1 - s))


def silu(input: Tensor) -> Tensor:
    return SiluBackward0.apply(_float(input, "silu"))


class SoftplusBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, beta: float, threshold: float) -> np.ndarray:
        self.a, self.beta, self.threshold = a, beta, threshold
        z = a * a.dtype.type(beta)
        soft = (np.logaddexp(0, z) / beta).astype(a.dtype)
        return np.where(z > threshold, a, soft)

    def backward(self, g: np.ndarray) -> np.ndarray:
        z = self.a * self.a.dtype.type(self.beta)
        return np.where(z > self.threshold, g, g * _sigmoid(z))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return SoftplusBackward0.apply(_float(input, "softplus"), beta=beta, threshold=threshold)


class HardtanhBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, lo: float, hi: float) -> np.ndarray:
        self.a, self.lo, self.hi = a, lo, hi
        return np.clip(a, lo, hi)

    def backward(self, g: np.ndarray) -> np.ndarray:
        # NOTE: hardtanh passes the gradient strictly inside (lo, hi), unlike clamp.
        return g * ((self.a > self.lo) & (self.a < self.hi))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return HardtanhBackward0.apply(_float(input, "hardtanh"), lo=min_val, hi=max_val)
