"""More activation functions, each forward beside its backward, with PyTorch's `grad_fn` names:
selu, celu, mish, hardswish, hardsigmoid, logsigmoid, threshold, softshrink, hardshrink, prelu,
glu; and the ones PyTorch composes from other ops (relu6, softsign, tanhshrink, softmin).

Formulas and edge rules follow PyTorch's CPU kernels (e.g. hardswish's gradient at exactly +-3).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import unbroadcast
from .activation import _float, hardtanh

__all__ = ["celu", "glu", "hardshrink", "hardsigmoid", "hardswish", "logsigmoid", "mish", "prelu", "relu6",
           "selu", "softmin", "softshrink", "softsign", "tanhshrink", "threshold"]

def _sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)) without overflow: exp of -|a| only."""
    e = np.exp(-np.abs(a))
    return (np.where(a >= 0, 1, e) / (1 + e)).astype(a.dtype, copy=False)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class _ScaledElu(Function):
    """scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1)): SELU and CELU."""

    saved_inputs = (0,)

    def forward(self, a: np.ndarray, alpha: float, scale: float, input_scale: float) -> np.ndarray:
        self.a, self.k = a, (alpha, scale, input_scale)
        t = a.dtype.type
        neg = (t(alpha * scale) * np.expm1(np.minimum(a, 0) * t(input_scale))).astype(a.dtype)
        return np.where(a > 0, a * t(scale), neg)

    def backward(self, g: np.ndarray) -> np.ndarray:
        alpha, scale, input_scale = self.k
        a, t = self.a, g.dtype.type
        neg = g * (t(alpha * scale * input_scale) * np.exp(np.minimum(a, 0) * t(input_scale))).astype(g.dtype)
        return np.where(a > 0, g * t(scale), neg)


class _Selu(_ScaledElu):
    @classmethod
    def name(cls) -> str:
        return "EluBackward0"  # PyTorch's selu is its elu kernel with SELU's constants


class CeluBackward0(_ScaledElu):
    pass


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with SELU's constants (Klambauer et al., Self-Normalizing Neural Networks, 2017)."""
    return _Selu.apply(_float(input, "selu"), alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (Barron, Continuously Differentiable ELUs, 2017)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError (celu(): alpha must not be 0)")
    return CeluBackward0.apply(_float(input, "celu"), alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


class MishBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        return (a * np.tanh(np.logaddexp(a.dtype.type(0), a))).astype(a.dtype)

    def backward(self, g: np.ndarray) -> np.ndarray:
        a = self.a
        tsp = np.tanh(np.logaddexp(a.dtype.type(0), a))
        return (g * (tsp + a * _sigmoid(a) * (1 - tsp * tsp))).astype(g.dtype)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)) (Misra, Mish, 2019)."""
    return MishBackward0.apply(_float(input, "mish"))


class HardswishBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        t = a.dtype.type
        return a * np.clip(a + t(3), t(0), t(6)) / t(6)

    def backward(self, g: np.ndarray) -> np.ndarray:
        a, t = self.a, g.dtype.type
        mid = g * (a / t(3) + t(0.5))
        return np.where(a < -3, t(0), np.where(a <= 3, mid, g))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6 (Howard et al., Searching for MobileNetV3, 2019)."""
    return HardswishBackward0.apply(_float(input, "hardswish"))


class HardsigmoidBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        t = a.dtype.type
        return np.clip(a + t(3), t(0), t(6)) / t(6)

    def backward(self, g: np.ndarray) -> np.ndarray:
        a, t = self.a, g.dtype.type
        return np.where((a > -3) & (a < 3), g / t(6), t(0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return HardsigmoidBackward0.apply(_float(input, "hardsigmoid"))


class LogSigmoidBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.a = a
        t = a.dtype.type
        return np.minimum(a, t(0)) - np.log1p(np.exp(-np.abs(a)))  # stable -softplus(-x)

    def backward(self, g: np.ndarray) -> np.ndarray:
        a = self.a
        return (g * _sigmoid(-a)).astype(g.dtype)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed stably as -softplus(-x)."""
    return LogSigmoidBackward0.apply(_float(input, "logsigmoid"))


class ThresholdBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, threshold: float, value: float) -> np.ndarray:
        self.a, self.threshold = a, threshold
        return np.where(a > threshold, a, a.dtype.type(value))

    def backward(self, g: np.ndarray) -> np.ndarray:
        return np.where(self.a > self.threshold, g, g.dtype.type(0))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value."""
    if input._a.dtype.kind == "b":
        raise RuntimeError("\"threshold_cpu\" not implemented for 'Bool'")
    return ThresholdBackward0.apply(input, threshold=threshold, value=value)


class _Shrink(Function):
    saved_inputs = (0,)
    a: np.ndarray
    lambd: float

    def backward(self, g: np.ndarray) -> np.ndarray:
        a, lambd = self.a, self.lambd
        return np.where((a >= -lambd) & (a <= lambd), g.dtype.type(0), g)


class SoftshrinkBackward0(_Shrink):
    def forward(self, a: np.ndarray, lambd: float) -> np.ndarray:
        self.a, self.lambd = a, lambd
        t = a.dtype.type
        return np.where(a > lambd, a - t(lambd), np.where(a < -lambd, a + t(lambd), t(0)))


class HardshrinkBackward0(_Shrink):
    def forward(self, a: np.ndarray, lambd: float) -> np.ndarray:
        self.a, self.lambd = a, lambd
        return np.where((a >= -lambd) & (a <= lambd), a.dtype.type(0), a)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return SoftshrinkBackward0.apply(_float(input, "softshrink"), lambd=lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x outside [-lambd, lambd], 0 inside."""
    return HardshrinkBackward0.apply(_float(input, "hardshrink"), lambd=lambd)


class PreluKernelBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        self.a = a
        self.w = w = _channel_view(w, a.ndim)
        return np.where(a > 0, a, w * a)

    def backward(self, g: np.ndarray) -> tuple:
        a, w = self.a, self.w
        pos = a > 0
        ga = np.where(pos, g, w * g) if self.needs_input_grad[0] else None
        gw = None
        if self.needs_input_grad[1]:
            gw = unbroadcast(np.where(pos, g.dtype.type(0), a * g), w.shape).reshape(-1)
        return ga, gw


def _channel_view(w: np.ndarray, ndim: int) -> np.ndarray:
    """PReLU's weight broadcast along the channel dim (1); `prelu` checked the sizes."""
    if w.size == 1:
        return w.reshape(())
    return w.reshape((1, w.size) + (1,) * (ndim - 2))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight * x, one weight per channel (dim 1) or one for all (He et al., 2015)."""
    a, w = _float(input, "prelu")._a, weight._a
    if w.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {w.ndim}")
    if w.size != 1:
        channels = a.shape[1] if a.ndim >= 2 else 1  # a 1-D input is one channel, as in PyTorch
        if w.size != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{w.size} and channel size = {channels}.")
    return PreluKernelBackward0.apply(input, weight)


class GluBackward0(Function):
    saved_inputs = (0,)

    def forward(self, a: np.ndarray, dim: int) -> np.ndarray:
        self.a, self.dim = a, dim
        first, second = np.split(a, 2, axis=dim)
        return first * _sigmoid(second)

    def backward(self, g: np.ndarray) -> np.ndarray:
        first, second = np.split(self.a, 2, axis=self.dim)
        sig = _sigmoid(second).astype(g.dtype)
        return np.concatenate([g * sig, g * first * sig * (1 - sig)], axis=self.dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """first half * sigmoid(second half) along `dim` (Dauphin et al., Gated Linear Units, 2017)."""
    a = _float(input, "glu")._a
    if a.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim + a.ndim if dim < 0 else dim
    if not 0 <= d < a.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-a.ndim}, {a.ndim - 1}], but got {dim})")
    if a.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {a.shape[d]}")
    return GluBackward0.apply(input, dim=d)


# Composites: PyTorch builds these from other ops, so their grad_fn is that of the last op.
def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6), as in PyTorch."""
    return hardtanh(input, 0.0, 6.0)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - input.tanh()


def softmin(input: Tensor, dim: int | None = None, dtype: object = None) -> Tensor:
    """softmax(-x) along `dim` (without `dim`: PyTorch's implicit choice, with its warning)."""
    from .softmax import softmax

    if dim is None:
        warnings.warn("Implicit dimension choice for softmin has been deprecated. Change the call to include dim=X "
                      "as an argument.", stacklevel=2)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    x = -input if dtype is None else (-input).to(dtype)
    return softmax(x, dim)
