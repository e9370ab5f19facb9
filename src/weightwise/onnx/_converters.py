"""All ONNX converters: importing this module fills the registry (one module per op family)."""

from __future__ import annotations

from . import (  # noqa: F401  (they register)
    _convert_activation,
    _convert_elementwise,
    _convert_nn,
    _convert_reduce,
    _convert_shape,
)
from ._registry import (
    CONVERTERS,
    Dyn,
    NodeContext,
    OnnxExporterError,
    UnsupportedOperatorError,
    generic_dyn,
    lookup,
    register,
    reshape_target,
    supported_ops,
    unsupported,
)

__all__ = [
    "CONVERTERS", "Dyn", "NodeContext", "OnnxExporterError", "UnsupportedOperatorError", "generic_dyn",
    "lookup", "register", "reshape_target", "supported_ops", "unsupported",
]
