"""`embedding`: row lookup with its scatter-add gradient; also `dropout` and `bilinear`."""

from __future__ import annotations

import numpy as np

from .. import random as _random
from ..autograd import Function, no_grad
from ..tensor import Tensor


class EmbeddingBackward0(Function):
    """weight[indices]; the gradient sums the rows of every use (padding_idx gets none)."""

    def forward(self, w: np.ndarray, idx: np.ndarray, padding_idx: int, scale_grad_by_freq: bool) -> np.ndarray:
        self.idx, self.num, self.padding_idx, self.scale = idx, w.shape[0], padding_idx, scale_grad_by_freq
        return w[idx]

    def backward(self, g: np.ndarray) -> tuple:
        flat = self.idx.reshape(-1)
        gf = g.reshape(flat.size, -1)
        if self.scale:
            counts = np.bincount(flat, minlength=self.num)
            gf = gf / counts[flat][:, None].astype(gf.dtype)
        gw = np.zeros((self.num, gf.shape[1]), dtype=g.dtype)
        np.add.at(gw, flat, gf)
        if self.padding_idx >= 0:
            gw[self.padding_idx] = 0
        return gw, None


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of weight (num_embeddings, dim) at integer indices input (*) -> (*, dim)."""
    idx = input._a
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {input.type()} instead (while checking arguments for embedding)"
        )
    num = weight._a.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = int(idx.max()) if idx.max() >= num else int(idx.min())
        raise IndexError(f"index out of range in self (embedding(): index {bad}, num_embeddings {num})")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        with no_grad():
            rows = np.unique(idx)
            # PyTorch: the row norm in the weight's dtype, the scale in double, applied in the dtype.
            norms = np.linalg.norm(weight._a[rows], ord=norm_type, axis=1).astype(np.float64)
            scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(weight._a.dtype)
            weight._a[rows] *= scale[:, None]
            weight._vc[0] += 1
    return EmbeddingBackward0.apply(weight, input, padding_idx=-1 if padding_idx is None else padding_idx,
                                    scale_grad_by_freq=scale_grad_by_freq)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only).

    The mask is PyTorch's CPU mask (`bernoulli_(1 - p)` then `div_(1 - p)`), so after the same
    seed the output is PyTorch's.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not training or input._a.size == 0:
        return input
    dt = input._a.dtype
    if p == 1:
        noise = np.zeros((), dtype=dt)
    else:
        noise = _random.default_generator._bernoulli_scalar(input._a.shape, 1 - p, dt)
        noise = noise / dt.type(1 - p)
    t = Tensor._make(noise)
    return input.mul_(t) if inplace else input.mul(t)


class BilinearBackward(Function):
    """y[n, o] = x1[n, i] W[o, i, j] x2[n, j] (+ b[o]); inputs (x1, x2, W, b?)."""

    saved_inputs = (0, 1, 2)

    @classmethod
    def name(cls) -> str:
        return "AddBackward0"

    def forward(self, x1: np.ndarray, x2: np.ndarray, w: np.ndarray, *b: np.ndarray) -> np.ndarray:
        self.x1, self.x2, self.w, self.has_b = x1, x2, w, bool(b)
        out = np.einsum("...i,oij,...j->...o", x1, w, x2)
        return out + b[0] if b else out

    def backward(self, g: np.ndarray) -> tuple:
        g1 = np.einsum("...o,oij,...j->...i", g, self.w, self.x2)
        g2 = np.einsum("...o,oij,...i->...j", g, self.w, self.x1)
        x1 = self.x1.reshape(-1, self.x1.shape[-1])  # (B, in1)
        x2 = self.x2.reshape(-1, self.x2.shape[-1])  # (B, in2)
        gw = np.einsum("bo,bi,bj->oij", g.reshape(-1, g.shape[-1]), x1, x2)
        if self.has_b:
            return g1, g2, gw, g.reshape(-1, g.shape[-1]).sum(0)
        return g1, g2, gw


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x1^T W x2 + b: input1 (*, in1), input2 (*, in2), weight (out, in1, in2) -> (*, out)."""
    w = weight._a
    if input1._a.shape[-1] != w.shape[1] or input2._a.shape[-1] != w.shape[2]:
        raise RuntimeError(
            f"bilinear(): input1 has {input1._a.shape[-1]} features and input2 {input2._a.shape[-1]}, "
            f"but weight {list(w.shape)} expects {w.shape[1]} and {w.shape[2]}"
        )
    if input1._a.shape[:-1] != input2._a.shape[:-1]:
        raise RuntimeError(
            f"bilinear(): input1 and input2 must have the same batch dims, got {list(input1._a.shape)} "
            f"and {list(input2._a.shape)}"
        )
    args = (input1, input2, weight) + ((bias,) if bias is not None else ())
    return BilinearBackward.apply(*args)
