"""Named results of ops that return several tensors, printed as PyTorch prints them."""

from __future__ import annotations

from typing import Any, NamedTuple


class MaxMinResult(NamedTuple):
    """`(values, indices)` of `max`/`min` along a dim."""

    values: Any
    indices: Any

    def __repr__(self) -> str:
        return f"torch.return_types.max(\nvalues={self.values!r},\nindices={self.indices!r})"
