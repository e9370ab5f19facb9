"""Binary arithmetic: add, sub, mul, div (with rounding modes), floor_divide and remainder, for
tensor-tensor and tensor-number operands. Forward and backward side by side.

Split from `elementwise.py`, which re-exports everything here. As in PyTorch, results that
overflow or are undefined (`inf - inf`, `0 * inf`, `x / 0`) are inf or nan, silently: the hot ops
recompute quietly only when NumPy objects (see `_fp.py`). Integer division by zero raises
PyTorch's ZeroDivisionError, and bool operands are refused where PyTorch refuses them.

Class names are PyTorch's `grad_fn` names; the ONNX exporter reads the attributes kept on the
nodes (`alpha`, `s`), so they keep their names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, _shape_error
from ..tensor import Tensor
from ._fp import FP_ERRORS, quiet
from ._util import as_tensor_operand, binary_operands, unbroadcast


def _scaled(a: np.ndarray, b: np.ndarray, alpha: Any, subtract: bool) -> np.ndarray:
    """`a + alpha * b` (or `a - alpha * b`) in a's dtype: a Python number times a bfloat16 or
    bool array would promote it."""
    r = a - alpha * b if subtract else a + alpha * b
    return r if r.dtype == a.dtype else r.astype(a.dtype)


def _times(g: np.ndarray, s: Any) -> np.ndarray:
    """`g * s` for a number `s`, in g's dtype, quietly when it overflows."""
    try:
        r = g * s
    except FP_ERRORS:
        r = quiet(np.multiply, g, s)
    return r if r.dtype == g.dtype else r.astype(g.dtype)


class AddBackward0(Function):
    def forward(self, a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
        self.shapes, self.alpha = (a.shape, b.shape), alpha
        try:
            return a + b if alpha == 1 else _scaled(a, b, alpha, False)
        except FP_ERRORS:  # inf - inf or an overflow: nan or inf, silently, as PyTorch
            return quiet(_scaled, a, b, alpha, False)

    def backward(self, g: np.ndarray) -> tuple:
        sa, sb = self.shapes
        need_a, need_b = self.needs_input_grad
        ga = unbroadcast(g, sa) if need_a else None
        gb = unbroadcast(g if self.alpha == 1 else _times(g, self.alpha), sb) if need_b else None
        return ga, gb


class SubBackward0(Function):
    def forward(self, a: np.ndarray, b: np.ndarray, alpha: Any = 1) -> np.ndarray:
        self.shapes, self.alpha = (a.shape, b.shape), alpha
        try:
            return a - b if alpha == 1 else _scaled(a, b, alpha, True)
        except FP_ERRORS:
            return quiet(_scaled, a, b, alpha, True)

    def backward(self, g: np.ndarray) -> tuple:
        sa, sb = self.shapes
        need_a, need_b = self.needs_input_grad
        ga = unbroadcast(g, sa) if need_a else None
        gb = unbroadcast(-g if self.alpha == 1 else _times(g, -self.alpha), sb) if need_b else None
        return ga, gb


class RsubBackward1(Function):
    """`scalar - tensor`."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        try:
            return b - a
        except FP_ERRORS:
            return quiet(np.subtract, b, a)

    def backward(self, g: np.ndarray) -> tuple:
        return -g, None


class MulBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        try:
            return a * b
        except FP_ERRORS:  # 0 * inf or an overflow
            return quiet(np.multiply, a, b)

    def _grads(self, g: np.ndarray) -> tuple:
        a, b = self.a, self.b
        ga = unbroadcast(g * b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(g * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb

    def backward(self, g: np.ndarray) -> tuple:
        try:
            return self._grads(g)
        except FP_ERRORS:
            return quiet(self._grads, g)


class DivBackward0(Function):
    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        try:
            return a / b
        except FP_ERRORS:  # x / 0 is inf or nan, silently, as in PyTorch
            return quiet(np.divide, a, b)

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.a, self.b
        with np.errstate(all="ignore"):
            ga = unbroadcast(g / b, a.shape) if self.needs_input_grad[0] else None
            gb = unbroadcast(-g * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def _trunc_int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer division rounded toward zero (C's `/`), exact for all int64 values."""
    q = np.floor_divide(a, b)
    # Floor and truncation differ by one where the division is inexact and the signs differ.
    return q + ((a - q * b != 0) & ((a < 0) != (b < 0)))


class DivBackward2(Function):
    """`div(a, b, rounding_mode='floor' | 'trunc')`: piecewise constant, so its gradients are
    zero (PyTorch records the node all the same)."""

    def forward(self, a: np.ndarray, b: np.ndarray, rounding_mode: str) -> np.ndarray:
        self.shapes, self.rounding_mode = (a.shape, b.shape), rounding_mode
        with np.errstate(all="ignore"):
            if rounding_mode == "floor":
                # NumPy's float floor division is Python's (and PyTorch's): inf // 2 is nan,
                # -1 // inf is -1.
                return np.floor_divide(a, b)
            if a.dtype.kind in "iu":
                return _trunc_int_div(a, b)
            return np.trunc(a / b)

    def backward(self, g: np.ndarray) -> tuple:
        return np.zeros(self.shapes[0], g.dtype), np.zeros(self.shapes[1], g.dtype)


class RemainderBackward1(Function):
    """`tensor % tensor`."""

    saved_inputs = (0, 1)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.a, self.b = a, b
        with np.errstate(all="ignore"):  # x % 0 and inf % x are nan, as in PyTorch
            return np.remainder(a, b)

    def backward(self, g: np.ndarray) -> tuple:
        gb = None
        if self.needs_input_grad[1]:
            with np.errstate(all="ignore"):
                gb = unbroadcast(-g * np.floor_divide(self.a, self.b), self.b.shape)
        return unbroadcast(g, self.a.shape), gb


class RemainderBackward0(Function):
    """`tensor % number`: the gradient passes through unchanged."""

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.remainder(a, s)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


class _AddScalar(Function):
    """`tensor + number` (PyTorch records it as AddBackward0 too)."""

    @classmethod
    def name(cls) -> str:
        return "AddBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        try:
            return a + s
        except FP_ERRORS:  # inf - inf, or a number too large for float16: nan or inf
            return quiet(np.add, a, s)

    def backward(self, g: np.ndarray) -> np.ndarray:
        return g


class _SubScalar(_AddScalar):
    """`tensor - number`, recorded as SubBackward0."""

    @classmethod
    def name(cls) -> str:
        return "SubBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        try:
            return a - s
        except FP_ERRORS:
            return quiet(np.subtract, a, s)


class _MulScalar(Function):
    """`tensor * number`, recorded as MulBackward0."""

    @classmethod
    def name(cls) -> str:
        return "MulBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        try:
            return a * s
        except FP_ERRORS:
            return quiet(np.multiply, a, s)

    def backward(self, g: np.ndarray) -> np.ndarray:
        try:
            return g * self.s
        except FP_ERRORS:
            return quiet(np.multiply, g, self.s)


class _DivScalar(_MulScalar):
    """`tensor / number`, recorded as DivBackward0."""

    @classmethod
    def name(cls) -> str:
        return "DivBackward0"

    def forward(self, a: np.ndarray, s: Any) -> np.ndarray:
        self.s = s
        try:
            return a / s
        except FP_ERRORS:
            return quiet(np.divide, a, s)

    def backward(self, g: np.ndarray) -> np.ndarray:
        try:
            return g / self.s
        except FP_ERRORS:
            return quiet(np.divide, g, self.s)


# ---------------------------------------------------------------------------------------------
# The functional forms


def _float_and_number(input: Tensor, other: Any) -> bool:
    """The fast path: a floating tensor with a Python int/float (no promotion can happen)."""
    t = type(other)
    return (t is float or t is int) and input._a.dtype.kind == "f"


def _check_alpha(api: str, a: Tensor, alpha: Any) -> None:
    """PyTorch's rules for `alpha`: no float alpha with integer tensors, bool alpha only for bools."""
    if isinstance(alpha, (bool, np.bool_)):
        if a._a.dtype.kind != "b":
            raise RuntimeError(f"{api}(): Boolean alpha only supported for Boolean results.")
    elif a._a.dtype.kind in "biu" and isinstance(alpha, (float, np.floating)):
        raise RuntimeError(f"{api}(): For integral input tensors, argument alpha must not be a floating point number.")


def add(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """`input + alpha * other` with broadcasting."""
    if _float_and_number(input, other) and type(alpha) is int:
        return _AddScalar.apply(input, s=other * alpha)
    a, b = binary_operands(input, other)
    if type(alpha) is not int:
        _check_alpha("add", a, alpha)
    return AddBackward0.apply(a, b, alpha=alpha)


def _refuse_bool_sub(input: Tensor, other: Any) -> None:
    """PyTorch refuses `-` with a bool operand: the bool might be meant as a mask to invert."""
    ib = input._a.dtype.kind == "b"
    ob = isinstance(other, (bool, np.bool_)) or (isinstance(other, Tensor) and other._a.dtype.kind == "b")
    if ib and ob:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    if ib or ob:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def sub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """`input - alpha * other` with broadcasting."""
    if _float_and_number(input, other) and type(alpha) is int:
        return _SubScalar.apply(input, s=other * alpha)
    if input._a.dtype.kind == "b" or (
            other._a.dtype.kind == "b" if isinstance(other, Tensor) else isinstance(other, (bool, np.bool_))):
        _refuse_bool_sub(input, other)
    a, b = binary_operands(input, other)
    if type(alpha) is not int:
        _check_alpha("sub", a, alpha)
    return SubBackward0.apply(a, b, alpha=alpha)


def rsub(input: Tensor, other: Any) -> Tensor:
    """`other - input` for a Python number `other`."""
    if isinstance(other, Tensor):
        return sub(other, input)
    _refuse_bool_sub(input, other)
    a, b = binary_operands(input, other)
    return RsubBackward1.apply(a, b)


def mul(input: Tensor, other: Any) -> Tensor:
    if _float_and_number(input, other):
        return _MulScalar.apply(input, s=other)
    a, b = binary_operands(input, other)
    return MulBackward0.apply(a, b)


def _check_integer_division(kernel: str, a: Tensor, b: Tensor) -> None:
    """PyTorch's refusals: no rounding division of bools; no integer division by zero (checked
    only where the result has elements)."""
    kind = a._a.dtype.kind
    if kind == "b":
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for 'Bool'")
    if kind in "iu" and a._a.size and b._a.size and not np.all(b._a):
        raise RuntimeError(f"ZeroDivisionError ({kernel}: an integer tensor divided by zero)")


def div(input: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers become floats), or `rounding_mode='floor'|'trunc'`."""
    if rounding_mode is None:
        if _float_and_number(input, other):
            return _DivScalar.apply(input, s=other)
        a, b = binary_operands(input, other)
        if a._a.dtype.kind not in "fV":
            a, b = a.float(), b.float()
        return DivBackward0.apply(a, b)
    if rounding_mode not in ("floor", "trunc"):
        raise ValueError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
        )
    a, b = binary_operands(input, other)
    _check_integer_division(f"div_{rounding_mode}", a, b)
    return DivBackward2.apply(a, b, rounding_mode=rounding_mode)


def floor_divide(input: Tensor, other: Any) -> Tensor:
    """`input // other`: `div(..., rounding_mode='floor')` without a gradient."""
    a, b = binary_operands(input, other)
    _check_integer_division("div_floor", a, b)
    try:
        with np.errstate(all="ignore"):
            r = np.floor_divide(a._a, b._a)
    except ValueError as e:
        raise _shape_error("floor_divide", [a._a.shape, b._a.shape], e) from None
    return Tensor._make(np.asarray(r, dtype=a._a.dtype))


def rfloor_divide(input: Tensor, other: Any) -> Tensor:
    """`other // input` for a Python number `other` (promoted with input as PyTorch promotes)."""
    return floor_divide(as_tensor_operand(other, input), input)


def remainder(input: Tensor, other: Any) -> Tensor:
    if _float_and_number(input, other):
        return RemainderBackward0.apply(input, s=other)
    a, b = binary_operands(input, other)
    _check_integer_division("remainder", a, b)
    return RemainderBackward1.apply(a, b)
