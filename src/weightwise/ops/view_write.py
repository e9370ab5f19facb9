"""The base of a view that an in-place op wrote through: its new autograd node.

After `z = y[1:3]; z.mul_(2)`, `y`'s values changed through `z`, so `y`'s gradient must flow
through the in-place op for the elements under `z` and straight through for the others. PyTorch
records that as a CopySlices node on `y`; `rebase` does the same: it locates `z`'s elements in
`y` from the arrays' memory layout (any strided view: slices, transposes, diagonals, reshapes)
and gives `y` a node taking (y before the write, the op's result).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor


class ViewWrite(Function):
    """old base with the view's elements replaced by `new`; positions: the view's elements as
    flat (C-order) indices of the base."""

    @classmethod
    def name(cls) -> str:
        return "CopySlices"

    def forward(self, old: np.ndarray, new: np.ndarray, positions: np.ndarray) -> np.ndarray:
        self.pos = positions.reshape(-1)
        out = np.array(old, order="C", copy=True)
        out.reshape(-1)[self.pos] = new.reshape(-1)
        return out

    def backward(self, g: np.ndarray) -> tuple:
        flat = np.ascontiguousarray(g).reshape(-1)
        g_new = flat[self.pos].reshape(self.inputs[1]._a.shape)
        g_old = flat.copy()
        g_old[self.pos] = 0  # overwritten: no gradient reaches the old values there
        return g_old.reshape(g.shape), g_new


def _offsets(a: np.ndarray) -> np.ndarray:
    """Each element's memory offset, in items, from the array's first element (shape of `a`)."""
    off = np.zeros((), np.int64)
    for n, st in zip(a.shape, a.strides):
        off = off[..., None] + np.arange(n, dtype=np.int64) * (st // a.itemsize)
    return off


def view_positions(base: np.ndarray, view: np.ndarray) -> np.ndarray | None:
    """Flat C-order indices into `base` of each element of `view` (a view of base's memory), or
    None when some element of `view` is not one of `base`'s."""
    start = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // base.itemsize
    b_off, v_off = _offsets(base).reshape(-1), start + _offsets(view)
    lo = min(int(b_off.min(initial=0)), int(v_off.min(initial=0)))
    hi = max(int(b_off.max(initial=0)), int(v_off.max(initial=0)))
    lut = np.full(hi - lo + 1, -1, np.int64)
    lut[b_off - lo] = np.arange(b_off.size)
    pos = lut[v_off - lo]
    return None if (pos < 0).any() else pos


def rebase(base: Tensor, old_base: Tensor, view: Tensor, result: Tensor) -> None:
    """Give `base` (already holding the written values) the node (old_base, result) -> base."""
    pos = view_positions(base._a, view._a)
    if pos is None:  # pragma: no cover - a view always lies inside its base
        return
    node = ViewWrite.apply(old_base, result, positions=pos)
    base.grad_fn, base.requires_grad = node.grad_fn, node.requires_grad
