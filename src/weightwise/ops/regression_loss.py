"""Regression losses: mse, l1, smooth L1 and Huber, with PyTorch's `grad_fn` names.

`mse_loss`, `smooth_l1_loss` and `huber_loss` are one node each (their backward beside the
forward); `l1_loss` and every `weight=` form are compositions of ops, as in PyTorch, so they
give the same `grad_fn` (AbsBackward0, DivBackward0, MulBackward0, ...) and a gradient for the
weight too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._loss_util import (
    _float_operands,
    _grad_scale,
    _reduce,
    _same_size_or_warn,
    check_reduction,
    legacy_reduction,
)
from ._util import unbroadcast

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]


class _DifferenceLoss(Function):
    """Base of the losses of `d = input - target`: backward gets `dloss/dd`, sends it to both sides."""

    saved_inputs = (0, 1)

    def _difference(self, a: np.ndarray, b: np.ndarray, reduction: str) -> np.ndarray:
        self.shapes, self.reduction = (a.shape, b.shape), reduction
        self.d = a - b
        return self.d

    def _input_grads(self, gd: np.ndarray) -> tuple:
        ga = unbroadcast(gd, self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(-gd, self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


class MseLossBackward0(_DifferenceLoss):
    """d^2."""

    def forward(self, a: np.ndarray, b: np.ndarray, reduction: str) -> np.ndarray:
        d = self._difference(a, b, reduction)
        return _reduce(d * d, reduction)

    def backward(self, g: np.ndarray) -> tuple:
        d = self.d
        gd = (2 * _grad_scale(g, self.reduction, d.size)) * d
        return self._input_grads(gd)


class SmoothL1LossBackward0(_DifferenceLoss):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (beta = 0 is the L1 loss)."""

    def forward(self, a: np.ndarray, b: np.ndarray, reduction: str, beta: float) -> np.ndarray:
        self.beta = beta
        d = self._difference(a, b, reduction)
        z = np.abs(d)
        if beta == 0:
            return _reduce(z, reduction)
        return _reduce(np.where(z < beta, (0.5 / beta) * d * d, z - 0.5 * beta).astype(d.dtype, copy=False), reduction)

    def backward(self, g: np.ndarray) -> tuple:
        d, beta = self.d, self.beta
        # NOTE: PyTorch's gradient at |d| == beta is sign(d); at d == 0 with beta == 0 it is 0.
        local = np.sign(d) if beta == 0 else np.where(np.abs(d) < beta, d / beta, np.sign(d)).astype(d.dtype, copy=False)
        gd = _grad_scale(g, self.reduction, d.size) * local
        return self._input_grads(gd)


class HuberLossBackward0(_DifferenceLoss):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere."""

    def forward(self, a: np.ndarray, b: np.ndarray, reduction: str, delta: float) -> np.ndarray:
        self.delta = delta
        d = self._difference(a, b, reduction)
        z = np.abs(d)
        return _reduce(np.where(z < delta, 0.5 * d * d, delta * (z - 0.5 * delta)).astype(d.dtype, copy=False), reduction)

    def backward(self, g: np.ndarray) -> tuple:
        d = self.d
        local = np.clip(d, -self.delta, self.delta)
        gd = _grad_scale(g, self.reduction, d.size) * local
        return self._input_grads(gd)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error: reduce((input - target) ** 2).

    With `weight` (input's shape): (input - target) ** 2 * weight, summed, or for "mean"
    divided by weight.sum(), as PyTorch.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _float_operands("mse_loss", input, target)
    _same_size_or_warn("mse_loss", input, target)
    if weight is not None:
        return _weighted(_diff(input, target, weight).pow(2), weight, reduction, mean_by_weight=True)
    return MseLossBackward0.apply(input, target, reduction=check_reduction(reduction))


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error: reduce(|input - target|) (composite in PyTorch too: AbsBackward0 over SubBackward0).

    With `weight` (input's shape): |input - target| * weight, summed, or for "mean" divided by
    weight.sum(), as PyTorch.
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _float_operands("l1_loss", input, target)
    _same_size_or_warn("l1_loss", input, target)
    if weight is not None:
        return _weighted(_diff(input, target, weight).abs(), weight, reduction, mean_by_weight=True)
    reduction = check_reduction(reduction)
    from .elementwise import abs as _abs
    from .elementwise import sub

    z = _abs(sub(input, target))
    if reduction == "none":
        return z
    from .reduce import mean, sum

    return sum(z) if reduction == "sum" else mean(z)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 (Girshick, Fast R-CNN, 2015): quadratic below `beta`, linear above."""
    reduction = check_reduction(legacy_reduction(size_average, reduce, reduction))
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta. (got beta={beta})")
    if beta == 0.0:  # PyTorch hands beta == 0 to l1_loss
        return l1_loss(input, target, reduction=reduction)
    _float_operands("smooth_l1_loss", input, target)
    _same_size_or_warn("smooth_l1_loss", input, target)
    return SmoothL1LossBackward0.apply(input, target, reduction=reduction, beta=float(beta))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Huber loss (Huber, 1964): 0.5 d^2 below `delta`, delta (|d| - delta / 2) above.

    With `weight` (input's shape): the elementwise loss times weight, then reduced; unlike
    mse/l1, "mean" is the plain mean of the weighted losses, as PyTorch.
    """
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta. (got delta={delta})")
    _float_operands("huber_loss", input, target)
    _same_size_or_warn("huber_loss", input, target)
    if weight is not None:
        _diff(input, target, weight)  # the shape checks
        loss = HuberLossBackward0.apply(input, target, reduction="none", delta=float(delta))
        return _weighted(loss, weight, reduction, mean_by_weight=False)
    return HuberLossBackward0.apply(input, target, reduction=check_reduction(reduction), delta=float(delta))


def _diff(input: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """input - target, broadcast, after checking that `weight` has input's shape."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight must be a Tensor, got {type(weight).__name__}")
    if weight._a.shape != input._a.shape:
        raise ValueError("Weights and input must have the same size.")
    from .elementwise import sub
    from .movement import broadcast_tensors

    x, t = broadcast_tensors(input, target)
    return sub(x, t)


def _weighted(loss: Tensor, weight: Tensor, reduction: str, *, mean_by_weight: bool) -> Tensor:
    from .elementwise import div, mul
    from .reduce import mean, sum

    z = mul(loss, weight)
    if reduction == "none":
        return z
    if reduction == "sum":
        return sum(z)
    if reduction == "mean":
        return div(sum(z), sum(weight)) if mean_by_weight else mean(z)
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
