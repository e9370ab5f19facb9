"""Matrix products: mm, bmm, matmul, addmm, and the fused `linear` (one AddmmBackward0 node)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._util import binary_operands, unbroadcast


def _type_name(t: Tensor) -> str:
    return t.type().replace("torch.", "")


class MmBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return a @ b

    def backward(self, g: np.ndarray) -> tuple:
        ga = g @ self.b.T if self.needs_input_grad[0] else None
        gb = self.a.T @ g if self.needs_input_grad[1] else None
        return ga, gb


def _same_dtype(api: str, a: Tensor, b: Tensor) -> None:
    if a._a.dtype != b._a.dtype:
        raise RuntimeError(f"{api}(): expected both operands to have the same dtype, but got {a.dtype} and {b.dtype}")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """(n, m) @ (m, p) -> (n, p)."""
    a, b = input._a, mat2._a
    if a.ndim != 2:
        raise RuntimeError(f"self must be a matrix (mm(): input has shape {list(a.shape)})")
    if b.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix (mm(): mat2 has shape {list(b.shape)})")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})"
        )
    _same_dtype("mm", input, mat2)
    return MmBackward0.apply(input, mat2)


class BmmBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, g: np.ndarray) -> tuple:
        ga = g @ np.swapaxes(self.b, -1, -2) if self.needs_input_grad[0] else None
        gb = np.swapaxes(self.a, -1, -2) @ g if self.needs_input_grad[1] else None
        return ga, gb


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """(b, n, m) @ (b, m, p) -> (b, n, p)."""
    a, b = input._a, mat2._a
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (bmm(): got shapes {list(a.shape)} and {list(b.shape)})")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, {a.shape[2]}] "
            f"but got: [{b.shape[0]}, {b.shape[1]}]."
        )
    _same_dtype("bmm", input, mat2)
    return BmmBackward0.apply(input, mat2)


class DotBackward0(MmBackward0):
    def backward(self, g: np.ndarray) -> tuple:
        return g * self.b if self.needs_input_grad[0] else None, g * self.a if self.needs_input_grad[1] else None


class MvBackward0(MmBackward0):
    def backward(self, g: np.ndarray) -> tuple:
        ga = np.outer(g, self.b) if self.needs_input_grad[0] else None
        gb = self.a.T @ g if self.needs_input_grad[1] else None
        return ga, gb


class MatmulBackward(Function):
    """Batched/broadcast matmul; PyTorch names the resulting node UnsafeViewBackward0."""

    saved_inputs = (0, 1)

    @classmethod
    def name(cls) -> str:
        return "UnsafeViewBackward0"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return np.matmul(a, b)

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


class _MatmulVecMat(MatmulBackward):
    """(k,) @ (k, m): PyTorch's last node is the squeeze of a 1-row mm."""

    @classmethod
    def name(cls) -> str:
        return "SqueezeBackward4"


class _MatmulMatBatch(MatmulBackward):
    """(n, k) @ (b, k, m): PyTorch's last node is a clone of a transposed product."""

    @classmethod
    def name(cls) -> str:
        return "CloneBackward0"


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """NumPy-style matmul with PyTorch's node names for each rank combination."""
    a, b = input._a, other._a
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have the "
                "same number of elements, but got "
                f"{a.shape[0]} and {b.shape[0]} elements respectively"
            )
        sa = "x".join(map(str, a.shape if a.ndim != 1 else (1, a.shape[0])))
        sb = "x".join(map(str, b.shape if b.ndim != 1 else (b.shape[0], 1)))
        if a.ndim <= 2 and b.ndim <= 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{ka}] but got: [{kb}]. "
            f"(matmul(): shapes {list(a.shape)} and {list(b.shape)})"
        )
    input, other = binary_operands(input, other)
    if a.ndim == 1 and b.ndim == 1:
        return DotBackward0.apply(input, other)
    if a.ndim == 2 and b.ndim == 1:
        return MvBackward0.apply(input, other)
    if a.ndim == 2 and b.ndim == 2:
        return MmBackward0.apply(input, other)
    if a.ndim == 1 and b.ndim == 2:
        return _MatmulVecMat.apply(input, other)
    if a.ndim == 2 and b.ndim > 2:
        return _MatmulMatBatch.apply(input, other)
    return MatmulBackward.apply(input, other)


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input._a.ndim != 1 or other._a.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._a.ndim}D and {other._a.ndim}D tensors")
    return matmul(input, other)


class AddmmBackward0(Function):
    """`beta * bias + alpha * (a @ b)`."""

    saved_inputs = (1, 2)

    def forward(self, bias: np.ndarray, a: np.ndarray, b: np.ndarray, beta: Any, alpha: Any) -> np.ndarray:
        self.a, self.b, self.bshape, self.beta, self.alpha = a, b, bias.shape, beta, alpha
        out = a @ b
        if alpha != 1:
            out *= alpha
        out += bias if beta == 1 else beta * bias
        return out

    def backward(self, g: np.ndarray) -> tuple:
        gs = g if self.alpha == 1 else g * self.alpha
        gbias = unbroadcast(g if self.beta == 1 else g * self.beta, self.bshape) if self.needs_input_grad[0] else None
        ga = gs @ self.b.T if self.needs_input_grad[1] else None
        gb = self.a.T @ gs if self.needs_input_grad[2] else None
        return gbias, ga, gb


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    a, b = mat1._a, mat2._a
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"addmm(): mat1 and mat2 must be matrices, got shapes {list(a.shape)} and {list(b.shape)}")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})"
        )
    try:
        np.broadcast_shapes(input._a.shape, (a.shape[0], b.shape[1]))
    except ValueError:
        raise RuntimeError(
            f"The expanded size of the tensor ({b.shape[1]}) must match the existing size "
            f"({input._a.shape[-1]}) at non-singleton dimension 1 (addmm(): input {list(input._a.shape)})"
        ) from None
    return AddmmBackward0.apply(input, mat1, mat2, beta=beta, alpha=alpha)


class _LinearAddmm(Function):
    """`x @ W.T + b` for 2-D x as one node named AddmmBackward0 (as PyTorch's linear)."""

    saved_inputs = (0, 1)

    @classmethod
    def name(cls) -> str:
        return "AddmmBackward0"

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.x, self.w = x, w
        out = x @ w.T
        out += b
        return out

    def backward(self, g: np.ndarray) -> tuple:
        need = self.needs_input_grad
        gx = g @ self.w if need[0] else None
        gw = g.T @ self.x if need[1] else None
        gb = np.add.reduce(g, 0) if need[2] else None
        return gx, gw, gb


class _LinearMm(Function):
    """`x @ W.T` for 2-D x without bias, named MmBackward0."""

    saved_inputs = (0, 1)

    @classmethod
    def name(cls) -> str:
        return "MmBackward0"

    def forward(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        self.x, self.w = x, w
        return x @ w.T

    def backward(self, g: np.ndarray) -> tuple:
        gx = g @ self.w if self.needs_input_grad[0] else None
        gw = g.T @ self.x if self.needs_input_grad[1] else None
        return gx, gw


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b.  input (*, in), weight (out, in), bias (out,) -> (*, out)."""
    x, w = input._a, weight._a
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        if x.ndim == 0 or w.ndim != 2:
            raise RuntimeError(f"linear(): expected a weight matrix and an input of rank >= 1, got input {list(x.shape)}, weight {list(w.shape)}")
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} and {w.shape[1]}x{w.shape[0]}) "
            f"(linear(): input has {x.shape[-1]} features but weight expects {w.shape[1]}; input {list(x.shape)}, weight {list(w.shape)})"
        )
    if x.dtype != w.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_type_name(input)[:-6].capitalize() or input.dtype} and {weight.dtype}")
    if x.ndim == 2:
        if bias is None:
            return _LinearMm.apply(input, weight)
        if bias._a.shape not in ((w.shape[0],), (1,), ()):
            raise RuntimeError(f"linear(): bias has shape {list(bias._a.shape)} but weight expects ({w.shape[0]},)")
        if bias._a.shape != (w.shape[0],):
            return AddmmBackward0.apply(bias, input, t_(weight))
        return _LinearAddmm.apply(input, weight, bias)
    if bias is None:
        return matmul(input, t_(weight))
    from .movement import reshape

    # As PyTorch: flatten the leading dims, one addmm, view back (ViewBackward0 over AddmmBackward0).
    lead = x.shape[:-1]
    out = linear(reshape(input, (-1, x.shape[-1])), weight, bias)
    return reshape(out, lead + (w.shape[0],))


def t_(w: Tensor) -> Tensor:
    from .movement import t

    return t(w)
