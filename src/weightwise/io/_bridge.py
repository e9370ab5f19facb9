"""The only place io touches the Tensor core: arrays out of tensors, tensors around arrays.

Imports are lazy so that io loads before (and without) the core, and so that io never sits in an
import cycle with ``weightwise/__init__.py``. Without the core, readers hand back NumPy arrays.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np


def _core(name: str) -> Any:
    try:
        return importlib.import_module(f"weightwise.{name}")
    except ImportError:
        return None


def tensor_class() -> Any:
    mod = _core("tensor")
    return getattr(mod, "Tensor", None) if mod else None


def parameter_class() -> Any:
    mod = _core("nn")
    return getattr(mod, "Parameter", None) if mod else None


def as_array(x: Any) -> np.ndarray | None:
    """The ndarray behind a Tensor (no copy) or an ndarray itself; None for anything else."""
    if isinstance(x, np.ndarray):
        return x
    cls = tensor_class()
    if cls is not None and isinstance(x, cls):
        return x._a  # type: ignore[no-any-return]
    return None


def is_parameter(x: Any) -> bool:
    cls = parameter_class()
    return cls is not None and isinstance(x, cls)


def requires_grad(x: Any) -> bool:
    return bool(getattr(x, "requires_grad", False))


def supported(dt: np.dtype) -> bool:
    """Whether weightwise Tensors have a dtype for NumPy dtype ``dt`` (always, without the core)."""
    mod = _core("_dtype")
    if mod is None:
        return True
    try:
        mod.from_numpy_dtype(dt)
    except TypeError:
        return False
    return True


def wrap(a: np.ndarray, kind: str = "tensor", grad: bool = False, *, name: str | None = None,
         source: Any = None) -> Any:
    """Wrap ``a`` without copying: ``kind`` is "tensor", "parameter" or "ndarray".

    A dtype weightwise Tensors do not have (uint16/32/64, complex, the float8 variants beyond
    e4m3fn/e5m2) is never converted, even where that would be lossless: the value would not
    survive a save/load round trip unchanged. It raises :class:`SerializationError` naming the
    tensor and its dtype; such tensors can still be read as NumPy arrays
    (``open_checkpoint(f).read(name)``, ``safetensors.load_file``, ``npz.load_npz``).
    """
    if kind == "ndarray":
        return a
    cls = tensor_class()
    if cls is None:
        return a
    if not supported(a.dtype):
        from .errors import SerializationError
        label = f"tensor {name!r}" if name is not None else "a tensor"
        raise SerializationError(
            source, f"{label} has dtype {a.dtype}, which weightwise tensors do not support; read it "
            f"as a NumPy array with weightwise.io.open_checkpoint(f).read({name or 'name'!r})")
    if kind == "parameter":
        pcls = parameter_class()
        if pcls is not None:
            return pcls(cls._make(a), requires_grad=grad)
    return cls._make(a, requires_grad=grad)
