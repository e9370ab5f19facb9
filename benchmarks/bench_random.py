"""weightwise.random vs PyTorch: time per call for the samplers, as ratios (ours / torch).

Run: python benchmarks/bench_random.py
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import numpy as np

import weightwise.random as wr


def _best(fn: Callable[[], object], repeat: int = 5) -> float:
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def main() -> None:
    import torch

    g = wr.Generator().manual_seed(0)
    torch.manual_seed(0)
    cases = [
        ("rand float32", lambda n: g._uniform((n,), np.float32), lambda n: torch.rand(n)),
        ("randn float32", lambda n: g._normal((n,), np.float32), lambda n: torch.randn(n)),
        ("randn float64", lambda n: g._normal((n,), np.float64),
         lambda n: torch.randn(n, dtype=torch.float64)),
        ("randint int64", lambda n: g._randint(0, 100, (n,), np.int64),
         lambda n: torch.randint(0, 100, (n,))),
        ("randperm", lambda n: g._randperm(n, np.int64), lambda n: torch.randperm(n)),
        ("bernoulli_(0.5)", lambda n: g._bernoulli_scalar((n,), 0.5, np.float32),
         lambda n: torch.empty(n).bernoulli_(0.5)),
    ]
    for n in (1_000, 1_000_000):
        for name, ours, theirs in cases:
            t_ours = _best(lambda: ours(n))  # noqa: B023
            t_torch = _best(lambda: theirs(n))  # noqa: B023
            print(f"{name:16s} n={n:>9,d}  ours {t_ours * 1e3:8.2f} ms  torch "
                  f"{t_torch * 1e3:8.2f} ms  ratio {t_ours / t_torch:6.1f}x")


if __name__ == "__main__":
    main()
