"""What the loss functions share: reductions, their legacy spellings, operand checks."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._grad_mode import is_grad_enabled
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """Map the deprecated `size_average`/`reduce` pair onto `reduction`, as PyTorch does."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def check_reduction(reduction: Any) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return str(reduction)


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.asarray(loss.sum(dtype=loss.dtype))
    if loss.size == 0:  # the mean of nothing is nan, silently, as in PyTorch
        return np.asarray(np.nan, dtype=loss.dtype)
    return np.asarray(loss.mean(dtype=loss.dtype))


def _grad_scale(g: np.ndarray, reduction: str, n: int) -> Any:
    """The upstream gradient as a factor on the elementwise loss gradient."""
    if reduction == "none":
        return g
    if reduction == "mean":
        return g / n if n else g * np.nan
    return g


def _same_size_or_warn(api: str, input: Tensor, target: Tensor) -> None:
    if input._a.shape != target._a.shape:
        warnings.warn(
            f"Using a target size (torch.Size({list(target._a.shape)})) that is different to the input size "
            f"(torch.Size({list(input._a.shape)})). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
        try:
            np.broadcast_shapes(input._a.shape, target._a.shape)
        except ValueError:
            raise RuntimeError(
                f"{api}(): the size of input {list(input._a.shape)} and of target {list(target._a.shape)} "
                "cannot be broadcast together"
            ) from None


def _float_operands(api: str, input: Tensor, target: Tensor) -> None:
    for name, t in (("input", input), ("target", target)):
        if t._a.dtype.kind not in "fc":
            raise RuntimeError(f"{api}(): expected a floating point {name}, but got {t.dtype} ({name} shape {list(t._a.shape)})")


def not_differentiable(api: str, **args: Tensor | None) -> None:
    """PyTorch's error for a weight-like argument that requires grad where no derivative exists."""
    if not is_grad_enabled():
        return
    for name, t in args.items():
        if t is not None and t.requires_grad:
            raise RuntimeError(f"The function '{api}' is not differentiable with respect to argument '{name}'. "
                               "This input cannot have requires_grad True.")
