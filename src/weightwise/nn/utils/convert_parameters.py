"""Flatten parameters into one vector and write one vector back into parameters."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters into one 1-D tensor (differentiable, CatBackward0)."""
    from ...ops.movement import cat

    ps = list(parameters)
    if not ps:
        raise ValueError("parameters_to_vector(): expected a non-empty list of parameters (torch.cat(): expected a "
                         "non-empty list of Tensors)")
    return cat([p.reshape(-1) for p in ps])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy slices of the 1-D `vec` into the parameters, in order (in place, no graph)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    ps = list(parameters)
    total = sum(p._a.size for p in ps)
    if vec._a.ndim != 1 or vec._a.size != total:
        raise RuntimeError(
            f"vector_to_parameters(): vec has shape {list(vec._a.shape)} but the parameters hold {total} elements"
        )
    offset = 0
    for p in ps:
        n = p._a.size
        np.copyto(p._a, vec._a[offset:offset + n].reshape(p._a.shape), casting="unsafe")
        p._vc[0] += 1
        offset += n
