"""Normalisation ops: `layer_norm` and `batch_norm`, forward and backward side by side."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor


class NativeLayerNormBackward0(Function):
    """y = (x - mean) * rstd * w + b over the last `k` dims; inputs (x, weight?, bias?)."""

    saved_inputs = (0,)

    def forward(self, x: np.ndarray, *wb: np.ndarray, k: int, eps: float, has_w: bool, has_b: bool) -> np.ndarray:  # type: ignore[override]
        axes = tuple(range(x.ndim - k, x.ndim))
        self.axes, self.has_w, self.has_b = axes, has_w, has_b
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        self.rstd = (1.0 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
        self.xhat = xc * self.rstd  # (..., *normalized_shape)
        out = self.xhat
        self.w = wb[0] if has_w else None
        if has_w:
            out = out * wb[0]
        if has_b:
            out = out + wb[1 if has_w else 0]
        return out if out is not self.xhat else out.copy()

    def backward(self, g: np.ndarray) -> tuple:
        lead = tuple(range(g.ndim - len(self.axes)))
        grads: list[Any] = []
        gx = g * self.w if self.w is not None else g
        n = int(np.prod([g.shape[a] for a in self.axes]))
        mean_g = gx.mean(axis=self.axes, keepdims=True)
        mean_gx = (gx * self.xhat).mean(axis=self.axes, keepdims=True)
        dx = (gx - mean_g - self.xhat * mean_gx) * self.rstd
        grads.append(dx if n else np.zeros_like(g))
        if self.has_w:
            grads.append((g * self.xhat).sum(axis=lead))
        if self.has_b:
            grads.append(g.sum(axis=lead))
        return tuple(grads)


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing `normalized_shape` dims, then scale and shift.

    input (*, *normalized_shape); weight and bias normalized_shape.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input._a.shape[input._a.ndim - k:]) != shape or input._a.ndim < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size{list(input._a.shape)}"
        )
    args = [input] + [t for t in (weight, bias) if t is not None]
    return NativeLayerNormBackward0.apply(*args, k=k, eps=eps, has_w=weight is not None, has_b=bias is not None)


class NativeBatchNormBackward0(Function):
    """Batch norm over dims (0, 2, ...) of x (N, C, *); inputs (x, weight?, bias?)."""

    saved_inputs = (0,)

    def forward(self, x: np.ndarray, *wb: np.ndarray, mean: np.ndarray, invstd: np.ndarray,  # type: ignore[override]
                training: bool, has_w: bool, has_b: bool) -> np.ndarray:  # type: ignore[override]
        shape = (1, -1) + (1,) * (x.ndim - 2)
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.shape, self.training, self.has_w, self.has_b = shape, training, has_w, has_b
        self.invstd = invstd.reshape(shape)
        self.xhat = (x - mean.reshape(shape)) * self.invstd
        self.w = wb[0].reshape(shape) if has_w else None
        out = self.xhat * self.w if has_w else self.xhat.copy()
        if has_b:
            out = out + wb[1 if has_w else 0].reshape(shape)
        return out

    def backward(self, g: np.ndarray) -> tuple:
        gx = g * self.w if self.w is not None else g
        if self.training:
            mean_g = gx.mean(axis=self.axes, keepdims=True)
            mean_gx = (gx * self.xhat).mean(axis=self.axes, keepdims=True)
            dx = (gx - mean_g - self.xhat * mean_gx) * self.invstd
        else:
            dx = gx * self.invstd
        grads: list[Any] = [dx]
        if self.has_w:
            grads.append((g * self.xhat).sum(axis=self.axes))
        if self.has_b:
            grads.append(g.sum(axis=self.axes))
        return tuple(grads)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of input (N, C, *) by batch statistics (training) or running ones.

    In training, the running statistics (when given) are updated in place:
    running = (1 - momentum) * running + momentum * batch statistic (unbiased variance).
    """
    x = input._a
    if training:
        size = x.size // x.shape[1] if x.ndim > 1 and x.shape[1] else x.size
        if size == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
        if running_mean is not None and running_var is not None:
            n = x.size // x.shape[1]
            m = x.dtype.type(momentum)
            running_mean._a[...] = (1 - m) * running_mean._a + m * mean
            running_var._a[...] = (1 - m) * running_var._a + m * (var * (n / max(n - 1, 1)))
            running_mean._vc[0] += 1
            running_var._vc[0] += 1
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm(): running_mean and running_var must be given when training=False")
        mean, var = running_mean._a, running_var._a
    invstd = (1.0 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
    args = [input] + [t for t in (weight, bias) if t is not None]
    _ = is_grad_enabled
    return NativeBatchNormBackward0.apply(*args, mean=mean.astype(x.dtype), invstd=invstd, training=training,
                                          has_w=weight is not None, has_b=bias is not None)


class NativeGroupNormBackward0(Function):
    """Group norm of x (N, C, *): channels in `groups` groups, each normalised over its channels
    and all positions of one sample; then a per-channel scale and shift. Inputs (x, weight?, bias?)."""

    saved_inputs = (0,)

    def forward(self, x: np.ndarray, *wb: np.ndarray, groups: int, eps: float,  # type: ignore[override]
                has_w: bool, has_b: bool) -> np.ndarray:
        n, c = x.shape[0], x.shape[1]
        xg = x.reshape(n, groups, -1)  # (N, G, C/G * positions)
        mean = xg.mean(axis=2, keepdims=True)
        xc = xg - mean
        var = (xc * xc).mean(axis=2, keepdims=True)
        self.rstd = (1.0 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
        self.xhat = (xc * self.rstd).reshape(x.shape)
        self.groups, self.has_w, self.has_b = groups, has_w, has_b
        shape = (1, c) + (1,) * (x.ndim - 2)
        self.w = wb[0].reshape(shape) if has_w else None
        out = self.xhat * self.w if has_w else self.xhat.copy()
        if has_b:
            out = out + wb[1 if has_w else 0].reshape(shape)
        return out

    def backward(self, g: np.ndarray) -> tuple:
        n = g.shape[0]
        gx = g * self.w if self.w is not None else g
        gg, xh = gx.reshape(n, self.groups, -1), self.xhat.reshape(n, self.groups, -1)
        if gg.shape[2]:
            dx = (gg - gg.mean(axis=2, keepdims=True) - xh * (gg * xh).mean(axis=2, keepdims=True)) * self.rstd
        else:
            dx = np.zeros_like(gg)
        grads: list[Any] = [dx.reshape(g.shape)]
        axes = (0,) + tuple(range(2, g.ndim))
        if self.has_w:
            grads.append((g * self.xhat).sum(axis=axes))
        if self.has_b:
            grads.append(g.sum(axis=axes))
        return tuple(grads)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise input (N, C, *) over groups of C / num_groups channels (and all positions) per
    sample, then scale and shift each channel (Wu & He, Group Normalization, 2018)."""
    x = input._a
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
    if num_groups <= 0 or x.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(x.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._a.shape != (x.shape[1],):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(t._a.shape)} and input of shape {list(x.shape)}")
    args = [input] + [t for t in (weight, bias) if t is not None]
    return NativeGroupNormBackward0.apply(*args, groups=num_groups, eps=eps, has_w=weight is not None,
                                          has_b=bias is not None)


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2 over the trailing dims) + eps) * weight (Zhang & Sennrich, 2019).

    Composed from ops as PyTorch's CPU implementation (grad_fn MulBackward0); `eps` defaults to
    the machine epsilon of the input's dtype.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k, a = len(shape), input._a
    if tuple(a.shape[a.ndim - k:]) != shape or a.ndim < k:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, {', '.join(map(str, shape))}], "
            f"but got input of size{list(a.shape)}"
        )
    if eps is None:
        eps = float(np.finfo(a.dtype).eps) if a.dtype.kind == "f" else float(np.finfo(np.float32).eps)
    dims = tuple(range(a.ndim - k, a.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out
