"""A tiny timing harness: weightwise and PyTorch timed alternately in one process, medians.

Alternating rounds (ww, torch, ww, torch, ...) spread machine noise (frequency changes, other
processes) evenly over both libraries; medians of many short samples ignore outliers.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Callable, Sequence

# Settings some machines export that make current NumPy's OpenBLAS slower; the benchmarks (and
# only they) run without them. Call before NumPy is imported.
_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_blas_env() -> None:
    """Re-execute this script without the OpenBLAS overrides when they are set."""
    if any(v in os.environ for v in _BLAS_VARS) and "numpy" not in sys.modules:
        env = {k: v for k, v in os.environ.items() if k not in _BLAS_VARS}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _sample(fn: Callable[[], object], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def _settle(fn: Callable[[], object], seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        fn()


def compare(ww_fn: Callable[[], object], torch_fn: Callable[[], object], *, budget_s: float = 0.4,
            min_samples: int = 15, rounds: int = 3, settle_s: float = 0.1) -> tuple[float, float]:
    """Median seconds per call of each function, measured in alternating rounds.

    Each round of one library starts with `settle_s` untimed: the other library's idle BLAS or
    OpenMP threads go on spinning for a while after its last call (OpenBLAS's for about 0.1 s)
    and would take a core from the first timed samples.
    """
    for _ in range(3):  # warm-up (caches, lazy imports)
        ww_fn()
        torch_fn()
    one = max(_sample(ww_fn, 1), _sample(torch_fn, 1), 1e-7)
    number = max(1, int(0.002 / one))  # each sample takes about 2 ms
    samples = max(min_samples, int(budget_s / (2 * number * one)))
    per_round = -(-samples // rounds)
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        for fn, out in ((ww_fn, a), (torch_fn, b)):
            _settle(fn, settle_s)
            out.extend(_sample(fn, number) for _ in range(per_round))
    return statistics.median(a), statistics.median(b)


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:8.1f} us"
    return f"{s * 1e3:8.2f} ms"


def print_table(title: str, rows: Sequence[tuple[str, float, float]]) -> None:
    """rows: (name, weightwise seconds, torch seconds); prints the ratio weightwise/torch."""
    width = max([len(r[0]) for r in rows] + [10])
    print(f"\n{title}")
    print(f"{'case':<{width}}  {'weightwise':>11}  {'torch':>11}  {'ratio':>6}")
    print("-" * (width + 36))
    for name, w, t in rows:
        print(f"{name:<{width}}  {fmt_time(w):>11}  {fmt_time(t):>11}  {w / t:6.2f}")
    sys.stdout.flush()
