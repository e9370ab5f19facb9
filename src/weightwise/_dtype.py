"""Data types: PyTorch's names over NumPy dtypes (bfloat16 and float8 through ml_dtypes)."""

from __future__ import annotations

import builtins
from typing import Any

import ml_dtypes
import numpy as np


class dtype:
    """A tensor element type, printed as PyTorch prints it (``torch.float32``).

    Wraps a NumPy dtype in ``.np``. Instances are singletons: compare with ``is`` or ``==``.
    """

    __slots__ = ("name", "np", "is_floating_point", "is_complex", "is_signed", "itemsize")

    def __init__(self, name: str, np_dtype: Any, is_floating_point: bool, is_signed: bool) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = is_floating_point
        self.is_complex = False
        self.is_signed = is_signed
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> str:
        return self.name

    def to_real(self) -> dtype:
        return self


float32 = dtype("float32", np.float32, True, True)
float64 = dtype("float64", np.float64, True, True)
float16 = dtype("float16", np.float16, True, True)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, True, True)
float8_e4m3fn = dtype("float8_e4m3fn", ml_dtypes.float8_e4m3fn, True, True)
float8_e5m2 = dtype("float8_e5m2", ml_dtypes.float8_e5m2, True, True)
int64 = dtype("int64", np.int64, False, True)
int32 = dtype("int32", np.int32, False, True)
int16 = dtype("int16", np.int16, False, True)
int8 = dtype("int8", np.int8, False, True)
uint8 = dtype("uint8", np.uint8, False, False)
bool_ = dtype("bool", np.bool_, False, False)

# PyTorch's aliases.
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16

ALL_DTYPES: tuple[dtype, ...] = (
    float32, float64, float16, bfloat16, float8_e4m3fn, float8_e5m2,
    int64, int32, int16, int8, uint8, bool_,
)
_BY_NP: dict[np.dtype, dtype] = {d.np: d for d in ALL_DTYPES}

_default_float = float32


def from_numpy_dtype(np_dtype: Any) -> dtype:
    """Our dtype for a NumPy dtype; raises TypeError for one PyTorch has no name for."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def as_dtype(d: Any) -> dtype:
    """Accept a weightwise dtype, a NumPy dtype or a Python type; return our dtype."""
    if isinstance(d, dtype):
        return d
    if d is builtins_float:
        return _default_float
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool_
    # torch.dtype objects passed by mistake print as torch.float32: map them by name.
    name = getattr(d, "__module__", None) == "torch" and str(d).replace("torch.", "")
    if name:
        for cand in ALL_DTYPES:
            if cand.name == name:
                return cand
    return from_numpy_dtype(d)


builtins_float = builtins.float
builtins_int = builtins.int
builtins_bool = builtins.bool


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype Python floats and float factories produce (float32 or float64)."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype(): only floating-point types are supported as the default type, got {d}")
    _default_float = d


# PyTorch's promotion: categories bool < integer < floating; within a category the wider wins.
_CATEGORY = {bool_: 0, uint8: 1, int8: 1, int16: 1, int32: 1, int64: 1}


def _category(d: dtype) -> builtins.int:
    return _CATEGORY.get(d, 2)


def promote_types(a: dtype, b: dtype) -> dtype:
    """The common dtype of two tensors (``torch.promote_types``)."""
    if a is b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    if ca == 1:
        if {a, b} == {uint8, int8}:
            return int16
        if a is uint8:
            return b
        if b is uint8:
            return a
        return a if a.itemsize >= b.itemsize else b
    # Floating: float16 with bfloat16 becomes float32, as in PyTorch.
    if {a, b} == {float16, bfloat16}:
        return float32
    if a.itemsize == b.itemsize:
        return a if a in (float32, float64) else b
    return a if a.itemsize > b.itemsize else b


def result_type_scalar(t: dtype, scalar: Any) -> dtype:
    """Dtype of ``tensor op python_scalar``: a scalar only raises the category, never the width."""
    if isinstance(scalar, builtins.bool):
        sc = 0
    elif isinstance(scalar, builtins.int):
        sc = 1
    else:
        sc = 2
    if sc <= _category(t):
        return t
    return int64 if sc == 1 else _default_float
