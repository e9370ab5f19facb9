"""`dropout` with PyTorch's CPU mask (so the same seed gives the same output)."""

from __future__ import annotations

import numpy as np

from .. import random as _random
from ..tensor import Tensor


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only).

    The mask is PyTorch's CPU mask (`bernoulli_(1 - p)` then `div_(1 - p)`), so after the same
    seed the output is PyTorch's.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not training or input._a.size == 0:
        return input
    dt = input._a.dtype
    if p == 1:
        noise = np.zeros((), dtype=dt)
    else:
        noise = _random.default_generator._bernoulli_scalar(input._a.shape, 1 - p, dt)
        noise = noise / dt.type(1 - p)
    t = Tensor._make(noise)
    return input.mul_(t) if inplace else input.mul(t)
