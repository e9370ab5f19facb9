"""NumPy's floating-point warnings, silenced where PyTorch is silent.

PyTorch returns the IEEE result of an overflow, `0 / 0`, `inf - inf` or `sqrt(-1)` (inf or nan)
without a word; NumPy warns, and under `-W error` (or `np.seterr(all="raise")`) the warning is an
exception that escapes from the op. `np.errstate` costs about 2 us a call, more than many small
ops themselves, so the hot ops run NumPy directly and only when it objects recompute the same
expression under `np.errstate` (`FP_ERRORS` and `quiet`); the others wrap their arithmetic in
`np.errstate` directly.

NOTE: with warnings left at Python's default, a hot op that overflows still lets NumPy print its
warning once per call site; silencing that too would put `np.errstate` on every call.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

# What NumPy raises for a floating-point error: the warning made an error by the warnings
# filter, or FloatingPointError under np.seterr(..., "raise").
FP_ERRORS = (RuntimeWarning, FloatingPointError)


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` with NumPy's floating-point errors ignored: the IEEE inf/nan result."""
    with np.errstate(all="ignore"):
        return fn(*args, **kwargs)


def finish_inplace(ufunc: Any, a: np.ndarray, b: Any) -> None:
    """Complete `ufunc(a, b, out=a, casting="unsafe")` after it raised one of `FP_ERRORS`.

    NumPy raises once the loop has written its result (the inf or nan that PyTorch gives
    silently), so there is nothing to redo; unless the error came from fitting a Python number
    `b` into a's dtype (1e38 into float16), which happens before anything is computed.
    """
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        with np.errstate(all="ignore"):
            fitted = np.asarray(b).astype(a.dtype)
        if np.isinf(fitted) and not np.isinf(b):
            quiet(ufunc, a, b, out=a, casting="unsafe")
