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


def wrap(a: np.ndarray, kind: str = "tensor", grad: bool = False) -> Any:
    """Wrap ``a`` without copying: ``kind`` is "tensor", "parameter" or "ndarray"."""
    if kind == "ndarray":
        return a
    cls = tensor_class()
    if cls is None:
        return a
    if kind == "parameter":
        pcls = parameter_class()
        if pcls is not None:
            return pcls(cls._make(a), requires_grad=grad)
    return cls._make(a, requires_grad=grad)
