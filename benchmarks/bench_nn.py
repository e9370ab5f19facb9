"""Parameter management at scale, side by side with PyTorch in the same process.

A model of 1,000 `Linear(16, 16)` modules in nested `Sequential`s (10 x 10 x 10, 2,000
parameters). Times `named_parameters()`, `state_dict()`, `apply(init)` and `load_state_dict()`;
prints medians (the two libraries measured alternately, the garbage collector paused
during each call) and the ratio weightwise / PyTorch (below 1 is faster).

Run: `python benchmarks/bench_nn.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any, Callable


def build(lib: Any) -> Any:
    nn = lib.nn
    lib.manual_seed(0)
    return nn.Sequential(*[nn.Sequential(*[nn.Sequential(*[nn.Linear(16, 16) for _ in range(10)])
                                           for _ in range(10)]) for _ in range(10)])


def cases(lib: Any) -> dict[str, Callable[[], Any]]:
    nn = lib.nn
    model = build(lib)
    sd = build(lib).state_dict()

    def init_constant(m: Any) -> None:
        if type(m) == nn.Linear:  # noqa: E721 (the chapter's code)
            nn.init.constant_(m.weight, 1)
            nn.init.zeros_(m.bias)

    def init_normal(m: Any) -> None:
        if type(m) == nn.Linear:  # noqa: E721 (the chapter's code)
            nn.init.normal_(m.weight, mean=0, std=0.01)
            nn.init.zeros_(m.bias)

    return {
        "named_parameters()": lambda: list(model.named_parameters()),
        "state_dict()": lambda: model.state_dict(),
        "apply(init_constant)": lambda: model.apply(init_constant),
        "apply(init_normal)": lambda: model.apply(init_normal),
        "load_state_dict()": lambda: model.load_state_dict(sd),
    }


def median_times(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """Median seconds per call of each function, measured alternately (one call of each per
    round, so that load on the machine hits both libraries alike), with the garbage collector
    paused during each call as `timeit` does."""
    for fn in fns:
        fn()  # warm up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                fn()
                times[i].append(time.perf_counter() - t0)
            finally:
                gc.enable()
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    import weightwise

    try:
        import torch
    except ImportError:  # pragma: no cover - the comparison needs PyTorch
        torch = None
    ours = cases(weightwise)
    theirs = cases(torch) if torch is not None else {}
    print(f"{'operation (1,000 x Linear(16, 16))':<36} {'weightwise':>12} {'PyTorch':>12} {'ratio':>7}")
    for name, fn in ours.items():
        if name in theirs:
            w, t = median_times([fn, theirs[name]], args.repeat)
            print(f"{name:<36} {w * 1e3:>9.2f} ms {t * 1e3:>9.2f} ms {w / t:>7.2f}")
        else:
            (w,) = median_times([fn], args.repeat)
            print(f"{name:<36} {w * 1e3:>9.2f} ms {'-':>12} {'-':>7}")


if __name__ == "__main__":
    main()
