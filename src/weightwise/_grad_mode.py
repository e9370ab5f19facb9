"""Grad modes and anomaly detection: the switches the ops and the backward engine read.

`_state` is the one place they live; `Function.apply` and the engine read it directly.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

_state = {"grad": True, "anomaly": False}


def is_grad_enabled() -> bool:
    return _state["grad"]


class _GradMode:
    """Base of the grad-mode context managers; each also works as a decorator."""

    _mode: bool = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_state["grad"])
        _state["grad"] = self._mode

    def __exit__(self, *exc: object) -> None:
        _state["grad"] = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager and decorator that turns off graph recording."""

    _mode = False


class enable_grad(_GradMode):
    """Context manager and decorator that turns graph recording back on."""

    _mode = True


class inference_mode(_GradMode):
    """Like `no_grad` (weightwise has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self._mode = not mode

    def __call__(self, fn: Callable) -> Callable:  # type: ignore[override]
        mode = not self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):
    """Set grad mode on or off; works as a function, a context manager and a decorator."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self._mode = bool(mode)
        self._prev.append(_state["grad"])
        _state["grad"] = self._mode

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: Callable) -> Callable:  # type: ignore[override]
        _state["grad"] = self._prev.pop()
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class detect_anomaly:
    """Raise as soon as an op produces NaN or Inf, forward or backward, naming the op."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._prev = False

    def __enter__(self) -> None:
        self._prev = _state["anomaly"]
        _state["anomaly"] = self.check_nan

    def __exit__(self, *exc: object) -> None:
        _state["anomaly"] = self._prev


def set_detect_anomaly(mode: bool) -> None:
    _state["anomaly"] = bool(mode)


def is_anomaly_enabled() -> bool:
    return _state["anomaly"]


def _check_finite(name: str, arr: np.ndarray, where: str, index: int = 0) -> None:
    if arr.dtype.kind in "fV" and arr.size and not np.isfinite(arr).all():
        what = "nan" if np.isnan(arr).any() else "inf"
        raise RuntimeError(f"Function '{name}' returned {what} values in its {index}th output ({where}).")
