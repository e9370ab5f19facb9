"""`bilinear`: x1^T W x2 + b, forward and backward side by side."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor


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
