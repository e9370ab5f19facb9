"""Gradient clipping by total norm or by value, in place, as PyTorch's `torch.nn.utils`."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _tensors(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _norm(a: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of one array in its own dtype (float32 stays float32, as PyTorch's)."""
    flat = a.reshape(-1)
    if p == 2.0:
        return np.sqrt(np.dot(flat, flat)) if flat.dtype.kind == "f" else np.sqrt((flat * flat).sum())
    if math.isinf(p):
        return np.abs(flat).max(initial=0) if p > 0 else np.abs(flat).min(initial=np.inf)
    if p == 1.0:
        return np.abs(flat).sum(dtype=flat.dtype)
    if p == 0.0:
        return np.asarray(np.count_nonzero(flat), dtype=flat.dtype)
    return (np.abs(flat) ** p).sum(dtype=flat.dtype) ** (1.0 / p)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The norm of the norms of `tensors`: their norm viewed as one concatenated vector."""
    ts = _tensors(tensors)
    p = float(norm_type)
    if not ts:
        return Tensor._make(np.asarray(0.0, dtype=np.float32))
    with np.errstate(all="ignore"):  # inf/nan gradients, 0 ** negative p: the IEEE result, silently
        norms = np.array([_norm(t._a, p) for t in ts])
        total = np.asarray(_norm(norms.astype(ts[0]._a.dtype, copy=False), p), dtype=ts[0]._a.dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it cannot be clipped. "
            "To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False` (clip_grad_norm_())"
        )
    return Tensor._make(total)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all gradients in place so that their total norm is at most `max_norm`; return the norm.

    coef = min(max_norm / (total_norm + 1e-6), 1), applied to every gradient (PyTorch's formula).
    """
    params = _tensors(parameters)
    grads: list[Tensor] = [p.grad for p in params if p.grad is not None]  # type: ignore[misc]
    if not grads:
        return Tensor._make(np.asarray(0.0, dtype=np.float32))
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    dt = total._a.dtype
    with np.errstate(all="ignore"):  # a non-finite norm scales by 0 or nan, as PyTorch
        coef = min(dt.type(float(max_norm)) / (total._a + dt.type(1e-6)), dt.type(1.0))
        for g in grads:
            np.multiply(g._a, g._a.dtype.type(coef), out=g._a)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value]."""
    v = float(clip_value)
    for p in _tensors(parameters):
        if p.grad is not None:
            np.clip(p.grad._a, -v, v, out=p.grad._a)


