"""Tiny runs of the examples (so they cannot rot), the training helper, the digits data, loss modules."""

from __future__ import annotations

import importlib.util
import io
import pathlib

import numpy as np
import pytest

import weightwise as ww
from weightwise import nn, optim
from weightwise.data import digits_description, digits_split, load_digits
from weightwise.training import ProgressBar, evaluate, fit
from weightwise.utils.data import DataLoader, TensorDataset

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_digits_mlp_example_learns():
    acc = _load("digits_mlp").main(epochs=2, progress=False)
    assert acc > 0.85


def test_exercise3_records_every_layer_and_keeps_the_tie():
    acc, monitor = _load("exercise3_shared_layer").main(epochs=1, progress=False, every=5)
    assert acc > 0.2
    assert [r["step"] for r in monitor.records] == [1, 5, 10, 15, 20]  # 23 steps in one epoch
    params = monitor.records[-1]["params"]
    assert list(params) == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]  # tied once
    assert params["2.weight"]["grad"]["norm"] > 0 and params["2.weight"]["update_ratio"] > 0
    assert set(monitor.records[-1]["activations"]) == {"1", "3", "5"}


def test_load_digits_and_split():
    x, y = load_digits()
    assert tuple(x.shape) == (1797, 64) and x.dtype.name == "float32" and y.dtype.name == "int64"
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    a, b, c, d = digits_split()
    assert tuple(a.shape) == (1437, 64) and tuple(c.shape) == (360, 64)
    a2, *_ = digits_split()
    np.testing.assert_array_equal(a.numpy(), a2.numpy())
    assert "Alpaydin" in digits_description()
    torch = pytest.importorskip("torch")
    perm = torch.randperm(1797, generator=torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_array_equal(d.numpy(), y.numpy()[perm[-360:]])


def test_fit_is_quiet_off_a_terminal_and_draws_on_request():
    ww.manual_seed(0)
    x, y = ww.randn(40, 3), ww.randint(0, 2, (40,))
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    quiet, shown = io.StringIO(), io.StringIO()
    hist = fit(net, DataLoader(TensorDataset(x, y), batch_size=8), optim.SGD(net.parameters(), lr=0.1),
               nn.CrossEntropyLoss(), epochs=2, stream=quiet)
    assert quiet.getvalue() == ""
    assert [h["epoch"] for h in hist] == [1, 2] and hist[0]["samples"] == 40
    bar = ProgressBar(5, "train", enabled=True, stream=shown, use_rich=False, min_interval=0)
    for _ in range(5):
        bar.update(1, 8, 0.5)
    bar.close()
    assert "5/5" in shown.getvalue() and "loss 0.5000" in shown.getvalue() and "samples/s" in shown.getvalue()
    assert 0.0 <= evaluate(net, x, y) <= 1.0


def test_loss_modules_match_torch():
    torch = pytest.importorskip("torch")
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    for name, kw in [("CrossEntropyLoss", dict(label_smoothing=0.1)), ("NLLLoss", {}), ("MSELoss", {}), ("L1Loss", {}),
                     ("HuberLoss", dict(delta=0.5)), ("SmoothL1Loss", dict(beta=0.5)), ("BCEWithLogitsLoss", {}),
                     ("BCELoss", {})]:
        lw, lt = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
        assert repr(lw) == repr(lt)
        x = np.random.default_rng(0).random((4, 3)).astype(np.float32)
        if name in ("CrossEntropyLoss", "NLLLoss"):
            t = np.array([0, 2, 1, 2])
        else:
            t = np.random.default_rng(1).random((4, 3)).astype(np.float32)
        np.testing.assert_allclose(lw(ww.tensor(x), ww.tensor(t)).numpy(), lt(torch.tensor(x), torch.tensor(t)).numpy(), rtol=1e-6)
    cw, ct = nn.CrossEntropyLoss(weight=ww.tensor(w)), torch.nn.CrossEntropyLoss(weight=torch.tensor(w))
    assert list(cw.state_dict()) == list(ct.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        nn.MSELoss(reduction="avg")


def test_param_groups_from_patterns_drive_the_optimizer():
    from weightwise.nn.select import param_groups

    ww.manual_seed(0)
    shared = nn.Linear(8, 8)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1))
    opt = optim.SGD(param_groups(net, [{"params": "**.bias", "weight_decay": 0.0}, {"params": "**"}]),
                    lr=0.1, weight_decay=1e-2)
    assert [len(g["params"]) for g in opt.param_groups] == [3, 3]  # the tied layer counted once
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 1e-2]
    nn.MSELoss()(net(ww.rand(2, 4)), ww.rand(2, 1)).backward()
    opt.step()
    assert opt.state_dict()["param_groups"][1]["params"] == [3, 4, 5]
