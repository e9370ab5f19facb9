"""Tensor factories: tensor, zeros, ones, full, arange, linspace, eye, rand, randn, randint, ...

Array creation lives here (and in `random`), so that another array backend can come later.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

import numpy as np

from . import _dtype
from .ops._util import shape_arg
from .tensor import Tensor, check_device


def _finish(a: np.ndarray, requires_grad: bool, api: str) -> Tensor:
    t = Tensor._make(a)
    if requires_grad:
        if a.dtype.kind not in "fV":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad = True
    return t


def _infer_dtype(data: Any) -> _dtype.dtype:
    """Dtype PyTorch infers from Python data: bool < int (int64) < float (default float)."""
    kind = 0
    found = False
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            d = x.dtype
            return d if kind < 2 or d.is_floating_point else _dtype.get_default_dtype()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, (bool, np.bool_)):
            found = True
        elif isinstance(x, (int, np.integer)):
            found = True
            kind = builtins.max(kind, 1)
        elif isinstance(x, (float, np.floating)):
            kind = 2
        elif isinstance(x, complex):
            raise TypeError("tensor(): complex numbers are not supported by weightwise")
        else:
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
    if kind == 2 or not found:  # no numbers at all ([[]]): the default float, as PyTorch
        return _dtype.get_default_dtype()
    return _dtype.int64 if kind == 1 else _dtype.bool_


def _is_empty(data: Any) -> bool:
    return isinstance(data, (list, tuple)) and len(data) == 0


def _unwrap(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data._a
    if isinstance(data, (list, tuple)):
        return [_unwrap(x) for x in data]
    return data


def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A new tensor that copies `data` (a number, nested lists, a NumPy array or a tensor).

    Python floats give the default dtype (float32), ints int64, bools bool.
    """
    check_device(device, "tensor")
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, as in PyTorch
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype.from_numpy_dtype(data.dtype)
        return _finish(np.array(data, dtype=dt.np, copy=True), requires_grad, "tensor")
    if isinstance(data, Tensor):
        dt = _dtype.as_dtype(dtype) if dtype is not None else data.dtype
        return _finish(np.array(data._a, dtype=dt.np, copy=True), requires_grad, "tensor")
    dt = _dtype.as_dtype(dtype) if dtype is not None else (
        _dtype.get_default_dtype() if _is_empty(data) else _infer_dtype(data)
    )
    try:
        a = np.array(_unwrap(data), dtype=dt.np)
    except ValueError as e:
        raise ValueError(f"tensor(): expected a sequence of equal-length sequences (a rectangular array): {e}") from None
    except OverflowError:
        raise RuntimeError(f"tensor(): value cannot be converted to type {dt.name} without overflow") from None
    if a.dtype == object:
        raise TypeError("tensor(): could not convert data to a numeric tensor")
    return _finish(a, requires_grad, "tensor")


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like `tensor`, but shares memory with a NumPy array or tensor of the same dtype."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        if dtype is None or _dtype.as_dtype(dtype).np == data.dtype:
            return from_numpy(data)
    return tensor(data, dtype=dtype)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with `ndarray` (no copy)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)
    return Tensor._make(ndarray)


def _dt(dtype: Any, default: _dtype.dtype | None = None) -> np.dtype:
    if dtype is None:
        return (default or _dtype.get_default_dtype()).np
    return _dtype.as_dtype(dtype).np


def _size(api: str, size: Sequence[Any], kw: Any) -> tuple[int, ...]:
    if kw is not None:
        if size:
            raise TypeError(f"{api}() got multiple values for argument 'size'")
        size = (kw,)
    return shape_arg(api, size)


def zeros(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)`, `zeros((2, 3))` or `zeros(size=(2, 3))`."""
    check_device(device, "zeros")
    return _finish(np.zeros(_size("zeros", size, kw.get("size")), dtype=_dt(dtype)), requires_grad, "zeros")


def ones(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    check_device(device, "ones")
    return _finish(np.ones(_size("ones", size, kw.get("size")), dtype=_dt(dtype)), requires_grad, "ones")


def empty(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    check_device(device, "empty")
    # Zero-filled, not uninitialised: the cost is small and results stay deterministic.
    return _finish(np.zeros(_size("empty", size, kw.get("size")), dtype=_dt(dtype)), requires_grad, "empty")


def _scalar_dtype(value: Any) -> _dtype.dtype:
    if isinstance(value, (bool, np.bool_)):
        return _dtype.bool_
    if isinstance(value, (int, np.integer)):
        return _dtype.int64
    return _dtype.get_default_dtype()


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    check_device(device, "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = _dtype.as_dtype(dtype) if dtype is not None else _scalar_dtype(fill_value)
    return _finish(np.full(shape_arg("full", (size,)), fill_value, dtype=dt.np), requires_grad, "full")


def _like(input: Tensor, dtype: Any) -> np.dtype:
    return input._a.dtype if dtype is None else _dtype.as_dtype(dtype).np


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _finish(np.zeros(input._a.shape, dtype=_like(input, dtype)), requires_grad, "zeros_like")


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _finish(np.ones(input._a.shape, dtype=_like(input, dtype)), requires_grad, "ones_like")


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _finish(np.zeros(input._a.shape, dtype=_like(input, dtype)), requires_grad, "empty_like")


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    return _finish(np.full(input._a.shape, fill_value, dtype=_like(input, dtype)), requires_grad, "full_like")


def arange(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Values from `start` up to (not including) `end` by `step`; ints give int64."""
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError(
            f"arange(): upper bound and lower bound inconsistent with step sign (start={start}, end={end}, step={step})"
        )
    is_int = builtins.all(isinstance(v, (int, np.integer)) for v in vals)
    dt = _dtype.as_dtype(dtype) if dtype is not None else (_dtype.int64 if is_int else _dtype.get_default_dtype())
    n = builtins.max(0, math.ceil((end - start) / step))
    if n > 2**40:
        raise RuntimeError(f"arange(): the requested number of elements ({n}) is too large")
    if is_int and dt.np.kind in "iu":
        a = np.arange(start, end, step, dtype=np.int64).astype(dt.np)
    else:
        a = (np.arange(n, dtype=np.float64) * step + start).astype(dt.np)
    return _finish(a, requires_grad, "arange")


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from `start` to `end`, both included."""
    check_device(device, "linspace")
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    dt = _dtype.as_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if steps == 1:
        return _finish(np.array([start], dtype=dt.np), requires_grad, "linspace")
    i = np.arange(steps, dtype=np.float64)
    step = (end - start) / builtins.max(steps - 1, 1)
    # Symmetric formula (as PyTorch): the first half counts up from start, the second down from end.
    half = steps // 2
    a = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    return _finish(a.astype(dt.np), requires_grad, "linspace")


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    check_device(device, "eye")
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye(): n and m must be non-negative, got n={n}, m={m}")
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad, "eye")


# ---------------------------------------------------------------------------------------------
# Random factories: all draws go through weightwise.random's generators (PyTorch's streams).


def _gen(generator: Any) -> Any:
    from . import random as _random

    return generator if generator is not None else _random.default_generator


def rand(*size: Any, generator: Any = None, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """Uniform samples on [0, 1): the same numbers as PyTorch after the same seed."""
    check_device(device, "rand")
    dt = _dt(dtype)
    if dt.kind not in "fV":
        raise RuntimeError(f"\"check_uniform_bounds\" not implemented for '{_dtype.from_numpy_dtype(dt).name}'")
    return _finish(_gen(generator)._uniform(_size("rand", size, kw.get("size")), dt, 0.0, 1.0), requires_grad, "rand")


def randn(*size: Any, generator: Any = None, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """Standard normal samples: the same numbers as PyTorch after the same seed."""
    check_device(device, "randn")
    dt = _dt(dtype)
    if dt.kind not in "fV":
        raise NotImplementedError(f"\"normal_kernel_cpu\" not implemented for '{_dtype.from_numpy_dtype(dt).name}'")
    return _finish(_gen(generator)._normal(_size("randn", size, kw.get("size")), dt, 0.0, 1.0), requires_grad, "randn")


def randint(*args: Any, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """`randint(high, size)` or `randint(low, high, size)`: integers in [low, high)."""
    check_device(device, "randint")
    size = kw.pop("size", None)
    low = kw.pop("low", 0)
    high = kw.pop("high", None)
    rest = list(args)
    if size is None and rest and isinstance(rest[-1], (tuple, list)):
        size = rest.pop()
    args = tuple(rest)
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    if high is None or size is None:
        raise TypeError("randint() missing required arguments: expected randint(high, size) or randint(low, high, size)")
    low, high = int(low), int(high)
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _finish(_gen(generator)._randint(low, high, shape_arg("randint", (size,)), _dt(dtype, _dtype.int64)), requires_grad, "randint")


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1: the same as PyTorch after the same seed."""
    check_device(device, "randperm")
    if n < 0:
        raise RuntimeError(f"randperm(): n must be non-negative, got {n}")
    return _finish(_gen(generator)._randperm(int(n), _dt(dtype, _dtype.int64)), requires_grad, "randperm")


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    """0/1 samples with probabilities `input` (or a scalar `p`), in input's dtype."""
    a = input._a
    if p is not None:
        return Tensor._make(_gen(generator)._bernoulli_scalar(a.shape, float(p), a.dtype))
    if a.size and (np.nanmin(a) < 0 or np.nanmax(a) > 1):
        raise RuntimeError("bernoulli(): all elements of input should be between 0 and 1 (inclusive)")
    return Tensor._make(_gen(generator)._bernoulli(a, a.dtype))


def normal(mean: Any, std: Any, size: Sequence[int] | None = None, *, generator: Any = None, dtype: Any = None) -> Tensor:
    if size is None:
        raise TypeError("normal(): weightwise supports normal(mean: float, std: float, size)")
    return Tensor._make(_gen(generator)._normal(shape_arg("normal", (size,)), _dt(dtype), float(mean), float(std)))


def rand_like(input: Tensor, *, dtype: Any = None, generator: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    return rand(input._a.shape, dtype=dtype or input.dtype, generator=generator, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, generator: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    return randn(input._a.shape, dtype=dtype or input.dtype, generator=generator, requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None, generator: Any = None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input._a.shape, dtype=dtype or input.dtype, generator=generator)
