"""`embedding`: row lookup with its scatter-add gradient."""

from __future__ import annotations

import numpy as np

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
