"""Training steps side by side with PyTorch in the same process: medians and ratios.

Cases:
- MLP 784-512-512-10, batch 128: forward, cross-entropy, backward, Adam step, zero_grad;
- the chapter's tied net (Linear(4, 8), ReLU, a shared Linear(8, 8) twice, Linear(8, 1)),
  batch 2 as in the chapter: forward, MSE, backward, SGD step, zero_grad;
- the optimizer alone on many small parameters: Adam over 200 Linear(16, 16) layers (target: at
  most half PyTorch's time, which loops over parameters in Python, as weightwise did);
- the peak memory one training step allocates beyond what it started with (weightwise:
  tracemalloc, which sees NumPy's buffers; PyTorch: the profiler's CPU memory events).

Ratio = weightwise / PyTorch (below 1: weightwise is faster or smaller); for times, the median of
the ratios of alternating rounds. Targets: <= 0.8 on the
MLP step, <= 0.5 on the tied net, <= 1.0 on peak memory.

Run: `python benchmarks/bench_train.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from typing import Any, Callable


def mlp_step(lib: Any) -> Callable[[], Any]:
    nn = lib.nn
    lib.manual_seed(0)
    net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = lib.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x, y = lib.rand(128, 784), lib.randint(0, 10, (128,))

    def step() -> Any:
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    step.opt = opt  # type: ignore[attr-defined]
    return step


def tied_step(lib: Any) -> Callable[[], Any]:
    nn = lib.nn
    lib.manual_seed(0)
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    opt = lib.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    x, y = lib.rand(2, 4), lib.rand(2, 1)

    def step() -> Any:
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def many_small_step(lib: Any) -> Callable[[], Any]:
    """Only the optimizer: Adam over 200 Linear(16, 16) layers (400 small parameters), fixed grads."""
    nn = lib.nn
    lib.manual_seed(0)
    net = nn.Sequential(*[nn.Linear(16, 16) for _ in range(200)])
    opt = lib.optim.Adam(net.parameters(), lr=1e-3)
    net(lib.rand(4, 16)).sum().backward()
    return opt.step


def paired_times(fw: Callable[[], Any], ft: Callable[[], Any], repeat: int, inner: int) -> tuple[float, float, float]:
    """Median time of each and median of the per-round ratios: rounds alternate between the two
    libraries, so a change in machine speed hits both. Each round first runs untimed for a quarter
    of a second: the other library's BLAS/OpenMP threads keep spinning for a while after its last
    call and would otherwise take a core from the first timed steps."""
    tw, tt = [], []
    for _ in range(repeat):
        for fn, times in ((fw, tw), (ft, tt)):
            settle = time.perf_counter() + 0.25
            while time.perf_counter() < settle:
                fn()
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - t0) / inner)
    return statistics.median(tw), statistics.median(tt), statistics.median(a / b for a, b in zip(tw, tt))


# Both peaks start from the same state: after a warm-up step and `zero_grad()`, so the step
# allocates its gradients afresh and frees nothing that was allocated before the measurement.


def peak_weightwise(fn: Any) -> int:
    fn()
    fn.opt.zero_grad()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def peak_torch(fn: Any) -> int:
    import torch

    fn()
    fn.opt.zero_grad()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    # Allocations (positive) and frees (negative) of leaf events only, in time order (a parent's
    # "self" memory would be placed at its start time, before the children that it frees).
    events = sorted((e for e in prof.events() if e.self_cpu_memory_usage and not e.cpu_children),
                    key=lambda e: e.time_range.start)
    current = peak = 0
    for e in events:
        current += e.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    import torch

    import weightwise
    import weightwise.optim  # noqa: F401  (until the top level re-exports it)

    if not hasattr(weightwise, "optim"):
        weightwise.optim = __import__("weightwise.optim", fromlist=["optim"])  # type: ignore[attr-defined]
    torch.set_num_threads(torch.get_num_threads())
    rows = []
    for name, make, inner, target in (("MLP 784-512-512-10 b128, CE + Adam", mlp_step, 25, 0.8),
                                      ("tied net b2, MSE + SGD", tied_step, 1000, 0.5),
                                      ("Adam step, 400 small parameters", many_small_step, 50, 0.5)):
        tw, tt, ratio = paired_times(make(weightwise), make(torch), args.repeat, inner)
        rows.append((name + " (time)", f"{tw * 1e3:.3f} ms", f"{tt * 1e3:.3f} ms", ratio, target))
    mw, mt = peak_weightwise(mlp_step(weightwise)), peak_torch(mlp_step(torch))
    rows.append(("MLP step peak memory", f"{mw / 2**20:.2f} MiB", f"{mt / 2**20:.2f} MiB", mw / max(mt, 1), 1.0))
    print(f"{'case':<44} {'weightwise':>12} {'pytorch':>12} {'ratio':>7} {'target':>7}")
    for name, a, b, ratio, target in rows:
        flag = "" if round(ratio, 2) <= target else "  (over target)"
        print(f"{name:<44} {a:>12} {b:>12} {ratio:>7.2f} {target:>7.2f}{flag}")


if __name__ == "__main__":
    main()
