"""Overhead of the TrainingMonitor on the 784-512-512-10 MLP (batch 128, cross-entropy, Adam).

Run: ``python benchmarks/bench_monitor.py [--blocks 30] [--every 10]``. Two identical models
train side by side, one watched by a monitor recording every ``--every`` steps (statistics,
histograms, update ratios, ReLU activity, JSON Lines to a temporary file). Blocks of ``--every``
steps alternate between them, so each watched block holds exactly one record and one weight
snapshot, and drifts in machine speed hit both. Prints the median and best time per step of each
and their ratio. Target: at most 1.05 (5% overhead) with ``--every 10``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import weightwise as torch
from weightwise import nn
from weightwise.diagnostics.monitor import TrainingMonitor
from weightwise.nn import functional as F


def _setup() -> tuple[Any, Any, Any, Any]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(128, 784)
    y = torch.randint(0, 10, (128,))
    return model, opt, x, y


def _steps(model: Any, opt: Any, x: Any, y: Any, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--blocks", type=int, default=30, help="blocks of `every` steps per variant")
    ap.add_argument("--every", type=int, default=10)
    args = ap.parse_args()
    plain_setup, watched_setup = _setup(), _setup()
    _steps(*plain_setup, 10)  # warm up BLAS and the allocator
    _steps(*watched_setup, 10)
    plain, watched = [], []
    with tempfile.TemporaryDirectory() as tmp:
        with TrainingMonitor(watched_setup[0], watched_setup[1], every=args.every,
                             path=os.path.join(tmp, "run.jsonl")) as mon:
            inside = _time_inside(mon)
            rec_in, snap_in = _time_parts(mon)
            for _ in range(args.blocks):  # alternate: machine-speed drifts hit both variants
                plain.append(_steps(*plain_setup, args.every))
                watched.append(_steps(*watched_setup, args.every))
            records = len(mon.records)
            _untime_parts(mon)
            rec_t, snap_t = _isolated(mon)  # while open: the record includes its JSON line
    print(f"784-512-512-10 MLP, batch 128, cross-entropy, Adam; {args.blocks} alternating blocks of "
          f"{args.every} steps; monitor every {args.every} steps ({records} records)")
    for label, f in (("median", statistics.median), ("best", min)):
        p, w = f(plain), f(watched)
        print(f"{label:6} step: unmonitored {p * 1e3:7.2f} ms, monitored {w * 1e3:7.2f} ms, "
              f"ratio {w / p:.3f}x (target <= 1.05)")
    best = min(plain)
    print(f"isolated (best of 30): one record {rec_t * 1e3:.2f} ms + one weight snapshot {snap_t * 1e3:.2f} ms "
          f"per {args.every} steps = {(rec_t + snap_t) / args.every / best:.1%} of the best unmonitored step")
    print(f"during training (median): one record {statistics.median(rec_in) * 1e3:.2f} ms + one weight snapshot "
          f"{statistics.median(snap_in) * 1e3:.2f} ms (the data is no longer in cache after the optimizer step)")
    per_step = sum(inside) / (args.blocks * args.every)
    print(f"time inside the monitor: {per_step * 1e3:.3f} ms per step = "
          f"{per_step / min(plain):.1%} of the best unmonitored step, "
          f"{per_step / statistics.median(plain):.1%} of the median")


def _isolated(mon: TrainingMonitor) -> tuple[float, float]:
    """Best-of times of what a recorded period adds: one record, one weight snapshot."""
    rec, snap = [], []
    for _ in range(30):
        t0 = time.perf_counter()
        mon._record()
        rec.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        mon._prepare(mon.every)
        snap.append(time.perf_counter() - t0)
    mon.records.clear()
    return min(rec), min(snap)


def _time_parts(mon: TrainingMonitor) -> tuple[list[float], list[float]]:
    """Time each record and each weight snapshot the monitor makes while the model trains."""
    rec: list[float] = []
    snap: list[float] = []
    record, prepare = mon._record, mon._prepare

    def timed_record() -> Any:
        t0 = time.perf_counter()
        out = record()
        rec.append(time.perf_counter() - t0)
        return out

    def timed_prepare(step: int) -> None:
        t0 = time.perf_counter()
        prepare(step)
        if mon._records_at(step):  # the other steps return at once
            snap.append(time.perf_counter() - t0)
    mon._record = timed_record  # type: ignore[method-assign]
    mon._prepare = timed_prepare  # type: ignore[method-assign]
    return rec, snap


def _untime_parts(mon: TrainingMonitor) -> None:
    del mon._record, mon._prepare  # back to the class's methods


def _time_inside(mon: TrainingMonitor) -> list[float]:
    """Wrap the monitor's step (which records and snapshots) to sum the time spent in it."""
    spent: list[float] = []
    original = mon.step

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = original(*args, **kwargs)
        spent.append(time.perf_counter() - t0)
        return out
    mon.step = timed  # type: ignore[method-assign]
    return spent


if __name__ == "__main__":
    main()
