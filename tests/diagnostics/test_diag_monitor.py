"""The training monitor's figures against a hand computation on a tiny net."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import weightwise as torch
from weightwise import nn
from weightwise.diagnostics.monitor import TrainingMonitor, fast_stats


def _tiny() -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 2.0], [-1.0, -1.0]]))
        net[0].bias.copy_(torch.tensor([0.0, 0.5, -3.0]))  # unit 2 is dead on these inputs
        net[2].weight.copy_(torch.tensor([[1.0, 2.0, 3.0]]))
        net[2].bias.copy_(torch.tensor([0.25]))
    return net


X = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
Y = np.array([[1.0], [0.0]], np.float32)


def _by_hand(net: nn.Sequential) -> dict[str, np.ndarray]:
    """Gradients of mean((net(X) - Y)^2) written out with NumPy."""
    w1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    w2, b2 = net[2].weight.detach().numpy(), net[2].bias.detach().numpy()
    z = X @ w1.T + b1
    h = np.maximum(z, 0)
    out = h @ w2.T + b2
    g_out = 2 * (out - Y) / out.size
    g_h = g_out @ w2
    g_z = g_h * (z > 0)
    return {"0.weight": g_z.T @ X, "0.bias": g_z.sum(0), "2.weight": g_out.T @ h, "2.bias": g_out.sum(0),
            "h": h}


def test_records_match_hand_computation(tmp_path) -> None:
    net = _tiny()
    before = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    expected = _by_hand(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    path = tmp_path / "run.jsonl"
    mon = TrainingMonitor(net, opt, every=1, path=path, bins=4)
    opt.zero_grad()
    loss = ((net(torch.from_numpy(X)) - torch.from_numpy(Y)) ** 2).mean()
    loss.backward()
    mon.log(loss=loss)
    opt.step()
    mon.close()
    rec = mon.records[0]
    assert rec["step"] == 1 and rec["loss"] == pytest.approx(loss.item())
    assert rec["lr"] == [0.1]
    for name, g in expected.items():
        if name == "h":
            continue
        e = rec["params"][name]
        w = before[name].astype(np.float64)
        after = w - 0.1 * g
        p, gs = e["param"], e["grad"]
        # the record is taken after the step: values are the updated weights
        assert p["mean"] == pytest.approx(after.mean(), abs=1e-6)
        assert p["std"] == pytest.approx(after.std(), abs=1e-6)
        assert (p["min"], p["max"]) == pytest.approx((after.min(), after.max()), abs=1e-6)
        assert p["norm"] == pytest.approx(np.linalg.norm(after), rel=1e-6)
        assert p["zeros"] == pytest.approx(np.mean(after == 0))
        assert gs["norm"] == pytest.approx(np.linalg.norm(g), rel=1e-5)
        assert gs["mean"] == pytest.approx(g.mean(), abs=1e-6)
        assert gs["zeros"] == pytest.approx(np.mean(g == 0))
        # plain SGD: ||dW|| / ||W|| = lr * ||g|| / ||W_before||
        assert e["update_ratio"] == pytest.approx(0.1 * np.linalg.norm(g) / np.linalg.norm(w), rel=1e-5)
        counts, _ = np.histogram(after.astype(np.float32), bins=4, range=(after.min(), after.max()))
        assert e["hist"]["param"]["counts"] == counts.tolist()
    dead = float(np.mean(~(expected["h"] > 0).any(axis=0)))
    assert rec["activations"]["1"] == {"dead_fraction": pytest.approx(dead), "units": 3}
    assert dead == pytest.approx(1 / 3)
    assert rec["flags"] == []  # 1/3 dead is under the 0.5 threshold
    line = json.loads(path.read_text().splitlines()[0])
    assert line["params"]["0.weight"]["grad"]["norm"] == pytest.approx(rec["params"]["0.weight"]["grad"]["norm"])


def test_records_every_n_steps_and_counts_ties_once() -> None:
    torch.manual_seed(0)
    shared = nn.Linear(4, 4)
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), shared, nn.ReLU(), shared)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    mon = TrainingMonitor(net, opt, every=3)
    x = torch.rand(8, 4)
    for _ in range(7):
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()
    mon.close()
    assert [r["step"] for r in mon.records] == [1, 3, 6]
    assert list(mon.records[0]["params"]) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert mon.records[0]["params"]["2.weight"]["shared_with"] == ["4.weight"]
    steps, norms = mon.series("2.weight", "grad.norm")
    assert steps == [1, 3, 6] and all(n > 0 for n in norms)
    # closing removed every hook: the next forward runs hook-free
    assert not any(m._forward_hooks for m in net.modules())


def test_manual_step_without_optimizer() -> None:
    net = _tiny()
    mon = TrainingMonitor(net, every=2)
    for i in range(4):
        net.zero_grad()
        net(torch.from_numpy(X)).sum().backward()
        rec = mon.step(loss=float(i))
        assert (rec is not None) == (i + 1 in (1, 2, 4))
    assert [r["loss"] for r in mon.records] == [0.0, 1.0, 3.0]
    assert mon.records[1]["params"]["0.weight"]["update_ratio"] == 0.0  # nothing changed the weights


def test_flags_dead_relu_vanishing_exploding_and_nan(tmp_path) -> None:
    net = _tiny()
    with torch.no_grad():
        net[0].bias.fill_(-100.0)  # every unit dead: gradients of layer 0 vanish
    mon = TrainingMonitor(net, every=1, path=tmp_path / "nan.jsonl")
    net(torch.from_numpy(X)).sum().backward()
    rec = mon.step()
    kinds = {(f["kind"], f["name"]) for f in rec["flags"]}
    assert ("dead_relu", "1") in kinds and ("vanishing_gradient", "0.weight") in kinds
    net.zero_grad()
    with torch.no_grad():
        net[2].weight.mul_(1e6)
        net[0].bias.fill_(0.0)
    net(torch.from_numpy(X) * 1e3).sum().backward()
    kinds = {(f["kind"], f["name"]) for f in mon.step()["flags"]}
    assert ("exploding_gradient", "0.weight") in kinds
    with torch.no_grad():
        net[2].bias.fill_(float("nan"))
    rec = mon.step(loss=float("nan"))
    kinds = {(f["kind"], f["name"]) for f in rec["flags"]}
    assert ("nan", "2.bias") in kinds and ("nan", "loss") in kinds
    assert rec["params"]["2.bias"]["param"]["nans"] == 1
    mon.close()
    last = json.loads((tmp_path / "nan.jsonl").read_text().splitlines()[-1])  # strict JSON, no NaN
    assert last["loss"] is None and last["params"]["2.bias"]["param"]["mean"] is None


def test_fast_stats_edge_cases() -> None:
    a = np.array([1.0, np.nan, np.inf, 0.0, -1.0], np.float32)
    s = fast_stats(a)
    assert (s["nans"], s["infs"]) == (1, 1)
    assert s["mean"] == 0.0 and s["zeros"] == pytest.approx(0.2) and s["norm"] == pytest.approx(math.sqrt(2))
    assert fast_stats(np.zeros(0, np.float32))["mean"] is None
    assert fast_stats(np.array([1, 2, 3], np.int64))["mean"] == 2.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="every must be a positive int"):
        TrainingMonitor(_tiny(), every=0)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        TrainingMonitor(object())
