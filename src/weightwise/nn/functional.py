"""`weightwise.nn.functional`: stateless layer math (activations, linear, losses, dropout).

Activations and `linear` are the ops in `weightwise.ops`; the losses live in `loss_ops`
(see `weightwise.nn.loss` for the module forms).
"""

from __future__ import annotations

from typing import Any

from ..ops.activation import elu, gelu, hardtanh, leaky_relu, relu, silu, softplus
from ..ops.elementwise import sigmoid, tanh
from ..ops.linalg import linear
from ..ops.reduce import log_softmax, softmax
from ..tensor import Tensor

__all__ = [
    "elu", "gelu", "hardtanh", "leaky_relu", "linear", "log_softmax", "relu", "sigmoid", "silu",
    "softmax", "softplus", "tanh", "relu_",
]


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def _unused(*args: Any) -> None:  # pragma: no cover - placeholder keeps Any imported for extensions
    return None
