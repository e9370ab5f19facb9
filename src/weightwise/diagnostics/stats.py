"""Per-tensor statistics of a model, a state dict or a file: returned as data, never printed.

Every statistic is computed in a handful of NumPy passes over the tensor (sum, dot product,
min, max, count of non-zeros); NaN and Inf are counted only when the sums say some exist, so a
healthy tensor costs no extra pass. Sums are accumulated in float64.

Example::

    rows = stats(model)                  # one TensorStats per parameter and buffer
    rows = stats(model, grads=True)      # the same for the gradients
    rows = stats("model.safetensors")    # any file weightwise reads, no model code
    rows[0].to_dict()                    # {"name": "0.weight", "count": 32, "mean": ..., ...}
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["TensorStats", "tensor_stats", "stats", "array_of", "dtype_name", "memory_key"]


@dataclass
class TensorStats:
    """Statistics of one tensor. ``mean``/``std``/... are ``nan`` for an empty tensor.

    ``std`` is the population standard deviation (``unbiased=False``); ``zeros`` is the fraction
    of elements equal to zero; ``nans``/``infs`` count the non-finite elements, which the other
    statistics ignore.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    count: int
    mean: float
    std: float
    min: float
    max: float
    norm: float
    zeros: float
    nans: int = 0
    infs: int = 0
    shared_with: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return self.count * _itemsize(self.dtype)

    @property
    def finite(self) -> bool:
        return self.nans == 0 and self.infs == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats become ``None``)."""
        d = asdict(self)
        d["shape"] = list(self.shape)
        for k in ("mean", "std", "min", "max", "norm", "zeros"):
            d[k] = _json_float(d[k])
        if not self.shared_with:
            del d["shared_with"]
        return d


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _itemsize(dtype: str) -> int:
    try:
        return int(np.dtype(dtype).itemsize)
    except TypeError:
        import ml_dtypes  # noqa: F401  (registers bfloat16 & co. with NumPy)

        return int(np.dtype(dtype).itemsize)


def dtype_name(dt: Any) -> str:
    """PyTorch's short name of a NumPy or weightwise dtype (``float32``, ``bfloat16``, ``bool``)."""
    name = getattr(dt, "name", None)
    if isinstance(name, str) and not isinstance(dt, np.dtype):
        return name
    return str(np.dtype(dt).name)


def array_of(x: Any) -> np.ndarray:
    """The ndarray behind a Tensor/Parameter (no copy) or an array-like."""
    a = getattr(x, "_a", None)
    if isinstance(a, np.ndarray):
        return a
    return np.asarray(x)


def _as_float(a: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f" and a.dtype.itemsize >= 4:
        return a
    if a.dtype.kind == "c":
        return np.abs(a)
    return a.astype(np.float64)  # bool, ints, float16, bfloat16, float8


def tensor_stats(x: Any, name: str = "") -> TensorStats:
    """Statistics of one tensor (a Tensor, a Parameter, a gradient or an ndarray).

    Args:
        x: the tensor, any shape and dtype.
        name: the name reported with the figures.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _tensor_stats(x, name)


def _tensor_stats(x: Any, name: str) -> TensorStats:
    a = array_of(x)
    shape, dtype, n = tuple(int(s) for s in a.shape), dtype_name(a.dtype), int(a.size)
    if n == 0:
        nan = float("nan")
        return TensorStats(name, shape, dtype, 0, nan, nan, nan, nan, 0.0, nan)
    f = _as_float(a).reshape(-1)
    total = float(np.add.reduce(f, dtype=np.float64))
    sq = float(np.dot(f, f))
    nonzero = int(np.count_nonzero(f))
    nans = infs = 0
    if not (math.isfinite(total) and math.isfinite(sq)):
        nan_mask = np.isnan(f)
        inf_mask = np.isinf(f)
        nans, infs = int(nan_mask.sum()), int(inf_mask.sum())
        if nans or infs:
            f = f[~(nan_mask | inf_mask)]
            total = float(np.add.reduce(f, dtype=np.float64))
        # finite values whose squares overflow float32: redo in float64
        f64 = f.astype(np.float64)
        sq = float(np.dot(f64, f64))
    m = f.size
    if m == 0:
        nan = float("nan")
        return TensorStats(name, shape, dtype, n, nan, nan, nan, nan, nan, 1 - nonzero / n, nans, infs)
    mean = total / m
    var = max(sq / m - mean * mean, 0.0)
    if var < 1e-6 * (sq / m) and m < 1 << 22:  # cancellation: recompute exactly
        var = float(np.var(f, dtype=np.float64))
    return TensorStats(
        name, shape, dtype, n, mean, math.sqrt(var), float(f.min()), float(f.max()),
        math.sqrt(sq), 1.0 - nonzero / n,  # NaN and Inf count as non-zero
        nans, infs,
    )


def memory_key(x: Any) -> tuple[Any, ...]:
    """Equal for two tensors that are the same memory (the same tensor, or ``.detach()`` of it)."""
    if not hasattr(x, "_a") and hasattr(x, "data_ptr"):  # another framework's tensor
        return (x.data_ptr(), tuple(x.shape), tuple(x.stride()), str(x.dtype))
    a = array_of(x)
    return (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)


def _tie_groups(items: Iterable[tuple[str, Any]]) -> dict[str, list[str]]:
    """name -> the other names of the same tensor memory (empty list when not shared)."""
    by_id: dict[tuple[Any, ...], list[str]] = {}
    for name, t in items:
        by_id.setdefault(memory_key(t), []).append(name)
    out: dict[str, list[str]] = {}
    for names in by_id.values():
        for n in names:
            out[n] = [m for m in names if m != n]
    return out


def _module_items(model: Any, grads: bool) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for name, p in model.named_parameters(remove_duplicate=False):
        items.append((name, p))
    if not grads:
        for name, b in model.named_buffers(remove_duplicate=False):
            if b is not None:
                items.append((name, b))
    return items


def stats(source: Any, *, grads: bool = False, names: Iterable[str] | None = None) -> list[TensorStats]:
    """Statistics of every tensor of ``source``, in its order; a tied tensor once.

    Args:
        source: an ``nn.Module`` (its parameters and buffers), a mapping name -> tensor (a state
            dict), or a path to any file weightwise reads (safetensors, PyTorch, NumPy).
        grads: report the gradients of the module's parameters instead (a parameter without a
            gradient is skipped).
        names: only these names (default: all).

    Returns:
        a list of :class:`TensorStats`; a tensor shared by several names is reported once, under
        its first name, with the other names in ``shared_with``.

    Raises:
        TypeError: for a ``source`` of another kind, or ``grads=True`` without a module.
        weightwise.io.errors.SerializationError: for a file that cannot be read safely.
    """
    wanted = set(names) if names is not None else None
    if isinstance(source, (str, os.PathLike)):
        if grads:
            raise TypeError("stats(): grads=True needs a module; a file holds no gradients")
        from ._files import open_file

        with open_file(source) as f:
            out = []
            for name, info in f.entries.items():
                if info.alias_of is not None or (wanted is not None and name not in wanted):
                    continue
                s = tensor_stats(f.array(name), name)
                s.shared_with = [n for n in f.tie_group(name) if n != name]
                out.append(s)
            return out
    if hasattr(source, "named_parameters"):
        items = _module_items(source, grads)
    elif isinstance(source, Mapping):
        if grads:
            raise TypeError("stats(): grads=True needs a module; a state dict holds no gradients")
        items = list(source.items())
    else:
        raise TypeError(
            f"stats(): source must be a Module, a state dict or a file path, got {type(source).__name__}")
    ties = _tie_groups(items)
    seen: set[tuple[Any, ...]] = set()
    out = []
    for name, t in items:
        key = memory_key(t)
        if key in seen or (wanted is not None and name not in wanted):
            continue
        seen.add(key)
        target = t.grad if grads else t
        if target is None:
            continue
        s = tensor_stats(target, name)
        s.shared_with = ties.get(name, [])
        out.append(s)
    return out
