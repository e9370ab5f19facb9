"""Parameter management at scale, side by side with PyTorch in the same process.

A model of 1,000 `Linear(16, 16)` modules in nested `Sequential`s (10 x 10 x 10, 2,000
parameters). Times `named_parameters()`, `state_dict()`, `apply(init)` and `load_state_dict()`;
prints medians and the ratio weightwise / PyTorch (below 1 is faster).

Run: `python benchmarks/bench_nn.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
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


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
        w = median_time(fn, args.repeat)
        if name in theirs:
            t = median_time(theirs[name], args.repeat)
            print(f"{name:<36} {w * 1e3:>9.2f} ms {t * 1e3:>9.2f} ms {w / t:>7.2f}")
        else:
            print(f"{name:<36} {w * 1e3:>9.2f} ms {'-':>12} {'-':>7}")


if __name__ == "__main__":
    main()
