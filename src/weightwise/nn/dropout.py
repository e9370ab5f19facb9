"""`Dropout`."""

from __future__ import annotations

from ..ops.dropout import dropout
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """During training, zero each element with probability p and scale the rest by 1/(1-p).

    Uses PyTorch's CPU mask (`bernoulli_(1 - p)`), so after the same seed the output matches.
    In eval mode it returns its input.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
