"""Small parameters are updated together as one flat array: bit for bit what the one-by-one
loop gives, with the per-parameter state still readable, replaceable, savable and loadable."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import weightwise as torch
from weightwise import nn
from weightwise.optim import optimizer as optimizer_module

CONFIGS = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=1e-2),
    "adam-options": lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.5),
    "sgd-momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd-dampening": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True, weight_decay=0.01),
    "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=1e-2),
}


def _net() -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Linear(300, 256)]  # 76,800 weights: updated on its own
    for _ in range(6):
        layers += [nn.Tanh(), nn.Linear(256 if len(layers) == 1 else 5, 5)]
    return nn.Sequential(*layers)


def _train(make, steps: int, batched: bool, monkeypatch, drop_grad_at: int | None = None):
    monkeypatch.setattr(optimizer_module, "_MIN_BATCH", 4 if batched else 10**9)
    net = _net()
    opt = make(net.parameters())
    x = torch.randn(8, 300)
    for i in range(steps):
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        if i == drop_grad_at:
            net[4].weight.grad = None  # this parameter sits out one step
        opt.step()
    return net, opt


def _assert_same(a, b) -> None:
    for (name, p), q in zip(a[0].named_parameters(), b[0].parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy()), name
    for sa, sb in zip(a[1].state.values(), b[1].state.values()):
        assert sa.keys() == sb.keys()
        for k in sa:
            assert np.array_equal(np.asarray(sa[k]._a), np.asarray(sb[k]._a)), k


@pytest.mark.parametrize("name", list(CONFIGS))
def test_batched_update_is_bit_identical_to_one_by_one(name, monkeypatch) -> None:
    make = CONFIGS[name]
    batched = _train(make, 5, True, monkeypatch, drop_grad_at=2)
    single = _train(make, 5, False, monkeypatch, drop_grad_at=2)
    _assert_same(batched, single)
    opt = batched[1]
    assert opt._flat_cache  # the small parameters were in fact batched
    tensors = [t for st in opt.state.values() for t in st.values()]
    views = max(sum(getattr(t._a, "base", None) is flat for t in tensors) for flat in opt._flat_cache.values())
    assert views >= 4  # per-parameter state tensors are views of a flat buffer


def test_state_dict_round_trip_and_replaced_state(monkeypatch) -> None:
    make = CONFIGS["adam"]
    net, opt = _train(make, 3, True, monkeypatch)
    saved = copy.deepcopy(opt.state_dict())
    params_then = copy.deepcopy(net.state_dict())
    x = torch.randn(8, 300)

    def more(n, net, opt):
        for _ in range(n):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()

    more(2, net, opt)
    net2 = _net()
    net2.load_state_dict(params_then)
    opt2 = make(net2.parameters())
    opt2.load_state_dict(saved)
    more(2, net2, opt2)
    _assert_same((net, opt), (net2, opt2))
    # a state tensor replaced by hand is the one the next step uses
    p = net[2].weight
    opt.state[p]["exp_avg"] = torch.zeros_like(p)
    opt2.state[net2[2].weight]["exp_avg"] = torch.zeros_like(p)
    monkeypatch.setattr(optimizer_module, "_MIN_BATCH", 10**9)
    more(1, net2, opt2)
    monkeypatch.setattr(optimizer_module, "_MIN_BATCH", 4)
    more(1, net, opt)
    _assert_same((net, opt), (net2, opt2))


def test_duplicate_parameter_keeps_the_sequential_order(monkeypatch) -> None:
    runs = []
    for batched in (True, False):
        monkeypatch.setattr(optimizer_module, "_MIN_BATCH", 2 if batched else 10**9)
        torch.manual_seed(0)
        a, b, c = (nn.Parameter(torch.randn(3)) for _ in range(3))
        with pytest.warns(UserWarning, match="duplicate parameters"):
            opt = torch.optim.Adam([a, b, a, c], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (a * a + b * c).sum().backward()
            opt.step()
        runs.append([t.detach().numpy().copy() for t in (a, b, c)])
    for x, y in zip(*runs):
        assert np.array_equal(x, y)


def test_mixed_layouts_dtypes_and_empty_parameters(monkeypatch) -> None:
    # Fortran-ordered, float64, empty and views all go through the right path, with the same numbers
    runs = []
    for batched in (True, False):
        monkeypatch.setattr(optimizer_module, "_MIN_BATCH", 2 if batched else 10**9)
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        base = rng.standard_normal(12).astype(np.float32)
        ps = [nn.Parameter(torch.from_numpy(np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)))),
              nn.Parameter(torch.from_numpy(rng.standard_normal(5))),  # float64
              nn.Parameter(torch.from_numpy(rng.standard_normal(7))),  # float64
              nn.Parameter(torch.zeros(0)),
              nn.Parameter(torch.from_numpy(base[:6])), nn.Parameter(torch.from_numpy(base[6:])),  # views
              nn.Parameter(torch.randn(4)), nn.Parameter(torch.randn(3, 2))]  # views of private buffers
        opt = torch.optim.Adam(ps, lr=0.1, weight_decay=0.01)
        for _ in range(3):
            opt.zero_grad()
            sum(((p.double() if p.dtype != torch.float64 else p) ** 2).sum() for p in ps).backward()
            opt.step()
        runs.append([p.detach().numpy().copy() for p in ps])
    for x, y in zip(*runs):
        assert x.dtype == y.dtype and np.array_equal(x, y)
