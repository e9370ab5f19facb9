"""weightwise.random vs PyTorch: time per call for the samplers, as ratios (ours / torch).

Both sides run in the same process, alternately (ours, torch, ours, torch, ...), and each time
reported is the median over the repeats of the mean over a batch of calls sized to take about
5 ms, so small, overhead-bound sizes are measured as precisely as large ones.

Run: python benchmarks/bench_random.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import weightwise.random as wr

Case = tuple[str, int, Callable[[], object], Callable[[], object]]


def _calls_per_batch(fn: Callable[[], object], target: float = 5e-3) -> int:
    """How many calls of ``fn`` take about ``target`` seconds (at least one)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= target / 4 or number >= 1 << 16:
            return max(1, int(number * target / max(elapsed, 1e-9)))
        number *= 4


def _batch(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def _compare(ours: Callable[[], object], theirs: Callable[[], object],
             repeat: int) -> tuple[float, float]:
    """Median seconds per call of ``ours`` and ``theirs``, measured alternately."""
    n_ours, n_theirs = _calls_per_batch(ours), _calls_per_batch(theirs)
    t_ours: list[float] = []
    t_theirs: list[float] = []
    for _ in range(repeat):
        t_ours.append(_batch(ours, n_ours))
        t_theirs.append(_batch(theirs, n_theirs))
    return statistics.median(t_ours), statistics.median(t_theirs)


def _cases() -> list[Case]:
    import torch

    g = wr.Generator().manual_seed(0)
    torch.manual_seed(0)
    w_torch = torch.empty(16, 16)
    cases: list[Case] = [
        ("normal_ 16x16 float32", 256, lambda: g._normal((16, 16), np.float32, 0.0, 0.02),
         lambda: w_torch.normal_(0.0, 0.02)),
        ("uniform_ 16x16 float32", 256, lambda: g._uniform((16, 16), np.float32, -0.1, 0.1),
         lambda: w_torch.uniform_(-0.1, 0.1)),
        ("randn float32 (n<16)", 7, lambda: g._normal((7,), np.float32),
         lambda: torch.randn(7)),
    ]
    for n in (1_000, 1_000_000):
        cases += [
            ("rand float32", n, lambda n=n: g._uniform((n,), np.float32),
             lambda n=n: torch.rand(n)),
            ("rand float64", n, lambda n=n: g._uniform((n,), np.float64),
             lambda n=n: torch.rand(n, dtype=torch.float64)),
            ("randn float32", n, lambda n=n: g._normal((n,), np.float32),
             lambda n=n: torch.randn(n)),
            ("randn float64", n, lambda n=n: g._normal((n,), np.float64),
             lambda n=n: torch.randn(n, dtype=torch.float64)),
            ("randn bfloat16", n, lambda n=n: g._normal((n,), wr._BFLOAT16),
             lambda n=n: torch.randn(n, dtype=torch.bfloat16)),
            ("randint int64", n, lambda n=n: g._randint(0, 100, (n,), np.int64),
             lambda n=n: torch.randint(0, 100, (n,))),
            ("randperm", n, lambda n=n: g._randperm(n, np.int64),
             lambda n=n: torch.randperm(n)),
            ("bernoulli_(0.5)", n, lambda n=n: g._bernoulli_scalar((n,), 0.5, np.float32),
             lambda n=n: torch.empty(n).bernoulli_(0.5)),
        ]
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="alternating rounds per case")
    args = parser.parse_args()
    print(f"{'case':24s} {'n':>9s}  {'ours':>11s}  {'torch':>11s}  {'ratio':>7s}")
    for name, n, ours, theirs in _cases():
        t_ours, t_torch = _compare(ours, theirs, args.repeat)
        print(f"{name:24s} {n:>9,d}  {_fmt(t_ours)}  {_fmt(t_torch)}  {t_ours / t_torch:6.1f}x")


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} µs"
    return f"{seconds * 1e3:8.2f} ms"


if __name__ == "__main__":
    main()
