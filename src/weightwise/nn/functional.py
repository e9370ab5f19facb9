"""`weightwise.nn.functional`: stateless layer math (activations, linear, losses, dropout).

Activations and `linear` are the ops in `weightwise.ops`; the losses live in `loss_ops`
(see `weightwise.nn.loss` for the module forms).
"""

from __future__ import annotations

import numpy as np

from ..ops.activation import elu, gelu, hardtanh, leaky_relu, relu, silu, softplus
from ..ops.activation_extra import (
    celu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)
from ..ops.dropout import dropout
from ..ops.elementwise import sigmoid, tanh
from ..ops.linalg import linear
from ..ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ..ops.normalization import group_norm, layer_norm, rms_norm
from ..ops.reduce import log_softmax, softmax
from ..tensor import Tensor

__all__ = [
    "elu", "gelu", "hardtanh", "leaky_relu", "linear", "log_softmax", "relu", "sigmoid", "silu",
    "softmax", "softplus", "tanh", "relu_",
    "celu", "glu", "hardshrink", "hardsigmoid", "hardswish", "logsigmoid", "mish", "prelu", "relu6", "selu",
    "softmin", "softshrink", "softsign", "tanhshrink", "threshold", "group_norm", "layer_norm", "rms_norm",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout", "huber_loss",
    "l1_loss", "mse_loss", "nll_loss", "one_hot", "smooth_l1_loss",
]


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(*) int64 class indices -> (*, num_classes) int64 one-hot rows."""
    a = tensor._a
    if a.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    n = int(a.max()) + 1 if num_classes == -1 and a.size else int(num_classes)
    if a.size and a.max() >= n:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(a.shape + (n,), dtype=np.int64)
    np.put_along_axis(out, a[..., None], 1, axis=-1)
    return Tensor._make(out)
