"""Matrix products: mm, bmm, matmul, addmm, and the fused `linear` (one AddmmBackward0 node)."""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._fp import FP_ERRORS, quiet
from ._util import unbroadcast


def _type_name(t: Tensor) -> str:
    return t.type().replace("torch.", "")


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` in a's dtype: the IEEE result (inf, nan) without NumPy's warning, as PyTorch.

    NumPy computes bfloat16 products in float32 (as PyTorch accumulates them); the result is
    rounded back to bfloat16.
    """
    try:
        out = a @ b
    except FP_ERRORS:  # inf * 0 or an overflow, under -W error: recompute quietly
        out = quiet(np.matmul, a, b)
    if out.dtype != a.dtype:
        out = np.asarray(out, dtype=a.dtype)
    return out


def _scale(x: np.ndarray, s: Any) -> np.ndarray:
    """`x * s` (a new array), with the IEEE result where NumPy objects."""
    if s == 1:
        return x
    try:
        return x * s
    except FP_ERRORS:
        return quiet(np.multiply, x, s)


def _add_into(out: np.ndarray, x: np.ndarray) -> None:
    """`out += x`, quietly: NumPy has written the whole (IEEE) sum by the time it objects."""
    try:
        out += x
    except FP_ERRORS:
        pass


def _sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`unbroadcast(g, shape)`, quietly where inf and -inf meet in the sum (nan, as PyTorch)."""
    try:
        return unbroadcast(g, shape)
    except FP_ERRORS:
        return quiet(unbroadcast, g, shape)


def _check_operands(api: str, *ts: Tensor) -> None:
    """PyTorch's matrix products take one dtype, and not bool."""
    dt = ts[0]._a.dtype
    for t in ts[1:]:
        if t._a.dtype != dt:
            raise RuntimeError(
                f"{api}(): expected all operands to have the same dtype, but got "
                f"{', '.join(str(x.dtype) for x in ts)}"
            )
    if dt == np.bool_:
        raise NotImplementedError(f"{api}(): not implemented for 'Bool'")


class MmBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return _mul(a, b)

    def backward(self, g: np.ndarray) -> tuple:
        ga = _mul(g, self.b.T) if self.needs_input_grad[0] else None
        gb = _mul(self.a.T, g) if self.needs_input_grad[1] else None
        return ga, gb


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
    _check_operands("mm", input, mat2)
    return MmBackward0.apply(input, mat2)


class BmmBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return _mul(a, b)

    def backward(self, g: np.ndarray) -> tuple:
        ga = _mul(g, np.swapaxes(self.b, -1, -2)) if self.needs_input_grad[0] else None
        gb = _mul(np.swapaxes(self.a, -1, -2), g) if self.needs_input_grad[1] else None
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
    _check_operands("bmm", input, mat2)
    return BmmBackward0.apply(input, mat2)


class DotBackward0(MmBackward0):
    def backward(self, g: np.ndarray) -> tuple:
        with np.errstate(all="ignore"):  # g * inf: the IEEE result, as PyTorch; O(n) beside the product
            ga = g * self.b if self.needs_input_grad[0] else None
            gb = g * self.a if self.needs_input_grad[1] else None
        return ga, gb


class MvBackward0(MmBackward0):
    def backward(self, g: np.ndarray) -> tuple:
        ga = _mul(g[:, None], self.b[None, :]) if self.needs_input_grad[0] else None
        gb = _mul(self.a.T, g) if self.needs_input_grad[1] else None
        return ga, gb


class MatmulBackward(Function):
    """Batched/broadcast matmul; PyTorch names the resulting node UnsafeViewBackward0."""

    saved_inputs = (0, 1)

    @classmethod
    def name(cls) -> str:
        return "UnsafeViewBackward0"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        return _mul(a, b)

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
            ga = _sum_to(_mul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = _sum_to(_mul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


class _MatmulVecMat(MatmulBackward):
    """(k,) @ (k, m): PyTorch's last node is the squeeze of a 1-row mm."""

    @classmethod
    def name(cls) -> str:
        return "SqueezeBackward4"


class _MatmulMatBatch(MatmulBackward):
    """(n, k) @ (b, k, m) with the matrix requiring grad: PyTorch folds the batch into one mm of
    the transposed operands, and its last node clones the transposed result into contiguity."""

    @classmethod
    def name(cls) -> str:
        return "CloneBackward0"


class _MatmulMatBatchT(MatmulBackward):
    """As `_MatmulMatBatch` when the transposed result is already contiguous (n == 1, m == 1 or
    empty): no clone, so the last node is the transpose."""

    @classmethod
    def name(cls) -> str:
        return "TransposeBackward0"


def _folded_name(input: Tensor, other: Tensor) -> type[MatmulBackward]:
    """PyTorch's node for a matrix (or a batch-1 3-D input) times a batch (see `_MatmulMatBatch`)."""
    n, m = input._a.shape[-2], other._a.shape[-1]
    if n == 1 or m == 1 or n == 0 or m == 0 or 0 in other._a.shape[:-2]:
        return _MatmulMatBatchT
    return _MatmulMatBatch


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """NumPy-style matmul with PyTorch's node names for each rank combination."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        bad = other if isinstance(input, Tensor) else input
        raise TypeError(f"matmul(): argument must be Tensor, not {type(bad).__name__}")
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
    if a.dtype != b.dtype or a.dtype == np.bool_:
        _check_operands("matmul", input, other)
    if a.ndim == 1 and b.ndim == 1:
        return DotBackward0.apply(input, other)
    if a.ndim == 2 and b.ndim == 1:
        return MvBackward0.apply(input, other)
    if a.ndim == 2 and b.ndim == 2:
        return MmBackward0.apply(input, other)
    if a.ndim == 1 and b.ndim == 2:
        return _MatmulVecMat.apply(input, other)
    # NOTE: PyTorch folds a matrix (or a batch-1 3-D tensor against a 3-D batch) that requires
    # grad into one mm of the transposed operands; the node name follows.
    if input.requires_grad and (a.ndim == 2 or (a.ndim == 3 and b.ndim == 3 and a.shape[0] == 1 != b.shape[0])):
        if b.ndim > 2:
            return _folded_name(input, other).apply(input, other)
    return MatmulBackward.apply(input, other)


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input._a.ndim != 1 or other._a.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._a.ndim}D and {other._a.ndim}D tensors")
    _check_operands("dot", input, other)
    return matmul(input, other)


class AddmmBackward0(Function):
    """`beta * bias + alpha * (a @ b)`; as in PyTorch, beta == 0 ignores the bias (nan and all) and
    alpha == 0 the product."""

    saved_inputs = (1, 2)

    def forward(self, bias: np.ndarray, a: np.ndarray, b: np.ndarray, beta: Any = 1, alpha: Any = 1) -> np.ndarray:
        self.a, self.b, self.bshape, self.beta, self.alpha = a, b, bias.shape, beta, alpha
        out = np.zeros((a.shape[0], b.shape[1]), a.dtype) if alpha == 0 else _scale(_mul(a, b), alpha)
        if beta != 0:
            _add_into(out, _scale(bias, beta))
        return out

    def backward(self, g: np.ndarray) -> tuple:
        # As PyTorch: the products first, then the scaling (so an overflow keeps its sign).
        need, alpha = self.needs_input_grad, self.alpha
        gbias = _sum_to(_scale(g, self.beta), self.bshape) if need[0] else None
        ga = _scale(_mul(g, self.b.T), alpha) if need[1] else None
        gb = _scale(_mul(self.a.T, g), alpha) if need[2] else None
        return gbias, ga, gb


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """`beta * input + alpha * (mat1 @ mat2)`: input broadcasts to (n, p), mat1 (n, m), mat2 (m, p)."""
    a, b = mat1._a, mat2._a
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"addmm(): mat1 and mat2 must be matrices, got shapes {list(a.shape)} and {list(b.shape)}")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})"
        )
    _check_operands("addmm", input, mat1, mat2)
    try:
        shape = np.broadcast_shapes(input._a.shape, (a.shape[0], b.shape[1]))
    except ValueError:
        shape = None
    if shape != (a.shape[0], b.shape[1]):
        raise RuntimeError(
            f"The expanded size of the tensor ({b.shape[1]}) must match the existing size "
            f"({input._a.shape[-1]}) at non-singleton dimension 1 (addmm(): input {list(input._a.shape)})"
        )
    if a.dtype.kind in "iu":  # an integer addmm casts the scalars to the integer type, as PyTorch
        beta, alpha = int(beta), int(alpha)
    return AddmmBackward0.apply(input, mat1, mat2, beta=beta, alpha=alpha)


class _LinearAddmm(Function):
    """`x @ W.T + b` for 2-D x as one node named AddmmBackward0 (as PyTorch's linear)."""

    saved_inputs = (0, 1)

    @classmethod
    def name(cls) -> str:
        return "AddmmBackward0"

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.x, self.w = x, w
        # `_mul` and `_add_into` written out: this is every nn.Linear's forward.
        try:
            out = x @ w.T
        except FP_ERRORS:
            out = quiet(np.matmul, x, w.T)
        if out.dtype != x.dtype:
            out = np.asarray(out, dtype=x.dtype)
        try:
            out += b
        except FP_ERRORS:
            pass  # NumPy wrote the whole (IEEE) sum before objecting
        return out

    def backward(self, g: np.ndarray) -> tuple:
        need = self.needs_input_grad
        gx = gw = gb = None
        try:  # `_mul` written out, as in forward: every nn.Linear's backward
            if need[0]:
                gx = g @ self.w
            if need[1]:
                gw = g.T @ self.x
        except FP_ERRORS:
            gx = _mul(g, self.w) if need[0] else None
            gw = _mul(g.T, self.x) if need[1] else None
        if gx is not None and gx.dtype != g.dtype:  # bfloat16: NumPy multiplies in float32
            gx, gw = _mul(g, self.w), (_mul(g.T, self.x) if need[1] else None)
        elif gw is not None and gw.dtype != g.dtype:
            gw = _mul(g.T, self.x)
        if need[2]:
            try:
                gb = np.add.reduce(g, 0)
            except FP_ERRORS:  # inf and -inf in one column: nan, quietly, as PyTorch
                gb = quiet(np.add.reduce, g, 0)
        return gx, gw, gb


class _LinearMm(Function):
    """`x @ W.T` for 2-D x without bias, named MmBackward0."""

    saved_inputs = (0, 1)

    @classmethod
    def name(cls) -> str:
        return "MmBackward0"

    def forward(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        self.x, self.w = x, w
        return _mul(x, w.T)

    def backward(self, g: np.ndarray) -> tuple:
        gx = _mul(g, self.w) if self.needs_input_grad[0] else None
        gw = _mul(g.T, self.x) if self.needs_input_grad[1] else None
        return gx, gw


def _check_linear_shapes(x: np.ndarray, w: np.ndarray) -> None:
    if x.ndim == 0 or w.ndim not in (1, 2):
        raise RuntimeError(f"linear(): expected a weight matrix and an input of rank >= 1, got input {list(x.shape)}, weight {list(w.shape)}")
    if x.shape[-1] != w.shape[-1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        out = w.shape[0] if w.ndim == 2 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} and {w.shape[-1]}x{out}) "
            f"(linear(): input has {x.shape[-1]} features but weight expects {w.shape[-1]}; input {list(x.shape)}, weight {list(w.shape)})"
        )


def _bias_dtype_error(input: Tensor, bias: Tensor) -> NoReturn:
    raise RuntimeError(
        f"linear(): bias has dtype {bias.dtype} but input and weight have {input.dtype} "
        "(self and mat2 must have the same dtype)"
    )


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b.  input (*, in), weight (out, in), bias (out,) -> (*, out)."""
    x, w = input._a, weight._a
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        _check_linear_shapes(x, w)
        out = matmul(input, weight)  # a 1-D weight: a dot product per row, as PyTorch
        return out if bias is None else out + bias
    if x.dtype != w.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_type_name(input)[:-6].capitalize() or input.dtype} and {weight.dtype}")
    if x.ndim == 2:
        if bias is None:
            return _LinearMm.apply(input, weight)
        if bias._a.shape not in ((w.shape[0],), (1,), ()):
            raise RuntimeError(f"linear(): bias has shape {list(bias._a.shape)} but weight expects ({w.shape[0]},)")
        if bias._a.dtype != x.dtype:
            _bias_dtype_error(input, bias)
        if bias._a.shape != (w.shape[0],):
            return AddmmBackward0.apply(bias, input, t_(weight))
        return _LinearAddmm.apply(input, weight, bias)
    if bias is None:
        return matmul(input, t_(weight))
    if bias._a.ndim != 1 or not x.flags.c_contiguous:
        # As PyTorch: a 0-d bias or a non-contiguous input is matmul then add (AddBackward0).
        return matmul(input, t_(weight)) + bias
    from .movement import reshape

    # As PyTorch: flatten the leading dims, one addmm, view back (ViewBackward0 over AddmmBackward0).
    lead = x.shape[:-1]
    out = linear(reshape(input, (-1, x.shape[-1])), weight, bias)
    return reshape(out, lead + (w.shape[0],))


def t_(w: Tensor) -> Tensor:
    from .movement import t

    return t(w)
