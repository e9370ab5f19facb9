"""The monitor's fast paths give the figures of the plain NumPy computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import weightwise as torch
from weightwise import nn
from weightwise.diagnostics.monitor import TrainingMonitor, _hist_job, _histograms, fast_stats


def _reference_hist(a: np.ndarray, bins: int, sample: int) -> dict | None:
    """What the monitor records: np.histogram of a strided sample over the tensor's finite range."""
    f = a.reshape(-1)
    finite = f[np.isfinite(f)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    if f.size > sample:
        f = f[:: -(-f.size // sample)]
    f = f.astype(np.float32) if f.dtype.itemsize < 4 else f
    f = f[np.isfinite(f)]
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    bins = min(bins, max(4, math.ceil(math.sqrt(a.size))))
    return {"range": [lo, hi], "counts": np.histogram(f, bins=bins, range=(lo, hi))[0].tolist()}


def _monitor_hists(arrays: list[np.ndarray], bins: int, sample: int) -> list[dict | None]:
    jobs = []
    for a in arrays:
        s = fast_stats(a)
        jobs.append(_hist_job(a, s["min"], s["max"], bins, sample))
    return _histograms(jobs)


def test_histograms_equal_numpy_bin_for_bin() -> None:
    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal((300, 70)).astype(np.float32),        # strided sample
        rng.standard_normal(10).astype(np.float32),               # 4 bins
        np.arange(-15, 16, dtype=np.float32),                     # every value on a bin edge
        np.round(rng.standard_normal(5000) * 4).astype(np.float32) / 4,
        np.full(12, 0.25, np.float32),                            # constant: lo == hi
        rng.standard_normal(777),                                 # float64 (binned apart)
        rng.standard_normal(64).astype(np.float16),
        np.array([1.0, np.nan, -np.inf, 3.0, 2.0, np.inf], np.float32),
        np.full(5, np.nan, np.float32),                           # no finite value: no histogram
        (rng.random(2000) * 1e-30).astype(np.float32),            # tiny range
    ]
    got = _monitor_hists(arrays, 30, 1000)
    assert got == [_reference_hist(a, 30, 1000) for a in arrays]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=60), min_size=1, max_size=5),
       st.integers(1, 40), st.integers(4, 50))
def test_histograms_equal_numpy_hypothesis(values: list[list[float]], bins: int, sample: int) -> None:
    arrays = [np.array(v, np.float32) for v in values]
    assert _monitor_hists(arrays, bins, sample) == [_reference_hist(a, bins, sample) for a in arrays]


def test_nearly_constant_tensor_does_not_break_the_histogram() -> None:
    a = np.array([1.0, np.nextafter(np.float32(1), np.float32(2))] * 50, np.float32)  # range of one ULP
    (h,) = _monitor_hists([a], 30, 4096)
    assert h is not None and sum(h["counts"]) == 100


@pytest.mark.parametrize("shape", [(3000,), (512, 784), (7, 1025)])
def test_fast_stats_large_tensors_match_float64(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    for loc, scale in ((0.0, 1.0), (0.25, 1e-3)):  # the second: |mean| >> std, the variance cancels
        a = (loc + scale * rng.standard_normal(shape)).astype(np.float32)
        a.reshape(-1)[::7] = 0
        f = a.astype(np.float64)
        s = fast_stats(a)
        assert s["mean"] == pytest.approx(f.mean(), rel=1e-6, abs=1e-9)
        assert s["std"] == pytest.approx(f.std(), rel=1e-5)
        assert s["norm"] == pytest.approx(np.linalg.norm(f), rel=1e-6)
        assert (s["min"], s["max"]) == (f.min(), f.max())
        assert s["zeros"] == np.mean(a == 0)


def test_update_ratio_every_step_and_snapshot_buffers_reused() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(50, 40), nn.ReLU(), nn.Linear(40, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    mon = TrainingMonitor(net, opt, every=1)
    buffers = {k: id(v) for k, v in mon._snapshot.items()}
    x = torch.randn(16, 50)
    for _ in range(3):
        before = {k: v.detach().numpy().astype(np.float64) for k, v in net.named_parameters()}
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        grads = {k: v.grad.numpy().astype(np.float64) for k, v in net.named_parameters()}
        opt.step()  # the monitor steps with it
        rec = mon.records[-1]
        for k, w in before.items():
            expected = 0.5 * np.linalg.norm(grads[k]) / np.linalg.norm(w)
            assert rec["params"][k]["update_ratio"] == pytest.approx(expected, rel=1e-4)
    assert {k: id(v) for k, v in mon._snapshot.items()} == buffers
    mon.close()


def test_relu_hooks_only_around_recorded_steps() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    mon = TrainingMonitor(net, opt, every=3)
    x = torch.randn(5, 4)
    hooked = []
    for _ in range(6):
        hooked.append(bool(net[1]._forward_hooks))
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()
    assert hooked == [True, False, True, False, False, True]  # forward passes of steps 1, 3, 6
    assert [r["step"] for r in mon.records] == [1, 3, 6]
    assert all("1" in r["activations"] for r in mon.records)
    mon.close()
    assert not net[1]._forward_hooks


def _ratios_by_hand(opt_factory, steps: int = 3) -> tuple[list[dict], list[dict], TrainingMonitor]:
    """(the monitor's update ratios, ||W_after - W_before|| / ||W_before|| computed by hand) per step."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(300, 40), nn.ReLU(), nn.Linear(40, 3))
    opt = opt_factory(net.parameters())
    mon = TrainingMonitor(net, opt, every=1)
    x = torch.randn(16, 300)
    got, want = [], []
    for _ in range(steps):
        before = {k: v.detach().numpy().astype(np.float64) for k, v in net.named_parameters()}
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
        after = {k: v.detach().numpy().astype(np.float64) for k, v in net.named_parameters()}
        got.append({k: e["update_ratio"] for k, e in mon.records[-1]["params"].items()})
        want.append({k: np.linalg.norm(after[k] - before[k]) / np.linalg.norm(before[k]) for k in before})
    return got, want, mon


@pytest.mark.parametrize("make", [
    lambda ps: torch.optim.Adam(ps, lr=1e-2),
    lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True),
    lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.0),
    lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: torch.optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
    lambda ps: torch.optim.Adagrad(ps, lr=0.1, weight_decay=1e-2),
], ids=["adam", "adam-options", "adamw-no-decay", "sgd-nesterov", "rmsprop-centered", "adagrad"])
def test_optimizer_reports_the_update_without_a_weight_copy(make) -> None:
    got, want, mon = _ratios_by_hand(make)
    assert mon._snapshot == {}  # the optimizer measured every update: no copy of the weights
    for g, w in zip(got, want):
        for k in w:
            assert g[k] == pytest.approx(w[k], rel=1e-4), k
    # between recorded steps (and once closed) the optimizer updates without measuring
    mon.every = 5
    mon.step_count = 1
    mon._stop_update_record()
    mon.optimizer.step()
    assert mon.optimizer._update_record is None
    mon.close()
    assert mon.optimizer._update_record is None


def test_adamw_decay_falls_back_to_the_weight_copy() -> None:
    # AdamW decays the weights before the update it could report: the monitor copies them instead
    got, want, mon = _ratios_by_hand(lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.5))
    assert set(mon._snapshot) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for g, w in zip(got, want):
        for k in w:
            assert g[k] == pytest.approx(w[k], rel=1e-4), k
    mon.close()


def test_reported_update_of_a_parameter_without_gradient_is_zero() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    net[0].requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    with TrainingMonitor(net, opt, every=1) as mon:
        opt.zero_grad()
        net(torch.randn(3, 4)).sum().backward()
        opt.step()
    params = mon.records[0]["params"]
    assert params["0.weight"]["update_ratio"] == 0.0 and params["0.weight"]["grad"] is None
    assert params["1.weight"]["update_ratio"] > 0


def test_update_rules_record_update_and_weight_norms() -> None:
    from weightwise.optim import _functional as F

    rng = np.random.default_rng(0)
    p = rng.standard_normal(300_000).astype(np.float32)  # three slices
    g = rng.standard_normal(300_000).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    before, rec = p.astype(np.float64), []
    F.adam(p, g, m, v, None, step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0,
           amsgrad=False, maximize=False, decoupled_weight_decay=False, record=rec)
    assert len(rec) == 3
    u, w = sum(r[0] for r in rec), sum(r[1] for r in rec)
    assert w == pytest.approx(float(before @ before), rel=1e-5)
    assert u == pytest.approx(float(((p - before) ** 2).sum()), rel=1e-4)
