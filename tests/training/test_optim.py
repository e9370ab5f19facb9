"""Every optimizer and scheduler step for step against torch.optim on the chapter's tied net.

The net is the chapter's: Linear(4, 8), ReLU, a shared Linear(8, 8) used twice, Linear(8, 1),
written on raw leaf tensors so that only the optimizers are under test. 100 steps each; the
parameters must agree to a relative error of 1e-5.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import weightwise as ww
from weightwise import optim
from weightwise.nn import functional as WF
from weightwise.optim import lr_scheduler as wls

torch = pytest.importorskip("torch")
TF = torch.nn.functional

STEPS = 100
RTOL = 1e-5


def _init(tied: bool, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [(8, 4), (8,), (8, 8), (8,)] + ([] if tied else [(8, 8), (8,)]) + [(1, 8), (1,)]
    return [(rng.standard_normal(s) * 0.4).astype(np.float32) for s in shapes]


def _data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((16, 4)).astype(np.float32)
    y = (x.sum(1, keepdims=True) - 1.5).astype(np.float32)
    return x, y


def _forward(F, lib, params, x, tied):
    if tied:
        w1, b1, ws, bs, w2, b2 = params
        ws2, bs2 = ws, bs
    else:
        w1, b1, ws, bs, ws2, bs2, w2, b2 = params
    h = lib.relu(F.linear(x, w1, b1))
    h = lib.relu(F.linear(h, ws, bs))
    h = lib.relu(F.linear(h, ws2, bs2))
    return F.linear(h, w2, b2)


def _run(lib, F, make_opt, tied, make_sched=None, steps=STEPS, closure=False, groups=False, sign=1.0):
    arrays = _init(tied)
    params = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    x, y = (lib.tensor(a) for a in _data())
    if groups:
        spec = [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]
        opt = make_opt(spec)
    else:
        opt = make_opt(params)
    sched = make_sched(opt) if make_sched else None
    lrs = []

    def loss_fn():
        opt.zero_grad()
        loss = F.mse_loss(_forward(F, lib, params, x, tied), y) * sign  # maximize: ascend on -loss
        loss.backward()
        return loss

    for _ in range(steps):
        if closure:
            opt.step(loss_fn)
        else:
            loss_fn()
            opt.step()
        if sched is not None:
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
    return [p.detach().numpy().copy() for p in params], lrs, opt


def check(name, kwargs, tied=True, closure=False, groups=False, sched=None):
    sw = (lambda o: getattr(wls, sched[0])(o, **sched[1])) if sched else None
    st = (lambda o: getattr(torch.optim.lr_scheduler, sched[0])(o, **sched[1])) if sched else None
    sign = -1.0 if kwargs.get("maximize") else 1.0
    pw, lw, _ = _run(ww, WF, lambda p: getattr(optim, name)(p, **kwargs), tied, sw, closure=closure, groups=groups, sign=sign)
    pt, lt, _ = _run(torch, TF, lambda p: getattr(torch.optim, name)(p, **kwargs), tied, st, closure=closure, groups=groups,
                     sign=sign)
    for a, b in zip(pw, pt):
        err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)
        assert err <= RTOL, (name, kwargs, err)
    np.testing.assert_allclose(lw, lt, rtol=1e-12)


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), maximize=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.005)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.005, alpha=0.9, maximize=True)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
]


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied"])
@pytest.mark.parametrize("case", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_optimizer_matches_torch(case, tied):
    check(*case, tied=tied)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_and_closure(name):
    kw = dict(lr=0.01, momentum=0.9) if name != "Adam" else dict(lr=0.01)
    check(name, kw, groups=True, closure=True)


SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[10, 30, 30, 60], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.97)),
    ("CosineAnnealingLR", dict(T_max=30, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
    ("OneCycleLR", dict(max_lr=0.05, total_steps=100)),
    ("OneCycleLR", dict(max_lr=0.05, total_steps=100, three_phase=True, anneal_strategy="linear")),
]


@pytest.mark.parametrize("opt", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01))], ids=["SGD", "Adam"])
@pytest.mark.parametrize("sched", SCHEDULERS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(SCHEDULERS)])
def test_scheduler_matches_torch(sched, opt):
    check(*opt, sched=sched)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.94, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    out = []
    for lib, mod in ((ww, optim), (torch, torch.optim)):
        p = lib.zeros(2, requires_grad=True)
        o = mod.SGD([p], lr=1.0)
        s = mod.lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5, cooldown=1, min_lr=0.1)
        lrs = []
        for m in metrics:
            s.step(m)
            lrs.append(s.get_last_lr()[0])
        out.append(lrs)
    assert out[0] == out[1]


# --------------------------------------------------------------------------------------------- state


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True)), ("Adagrad", dict(lr=0.05)),
                                     ("AdamW", dict(lr=0.01))])
def test_state_dict_layout_like_torch_and_resume(name, kw):
    pw, _, ow = _run(ww, WF, lambda p: getattr(optim, name)(p, **kw), True, steps=3)
    pt, _, ot = _run(torch, TF, lambda p: getattr(torch.optim, name)(p, **kw), True, steps=3)
    sw, st = ow.state_dict(), ot.state_dict()
    assert sw["param_groups"] == st["param_groups"]
    assert list(sw["state"]) == list(st["state"])
    for i in st["state"]:
        assert list(sw["state"][i]) == list(st["state"][i])
        for k in st["state"][i]:
            np.testing.assert_allclose(sw["state"][i][k].numpy(), st["state"][i][k].numpy(), rtol=1e-5, atol=1e-7)
            assert sw["state"][i][k].dtype.name == str(st["state"][i][k].dtype).replace("torch.", "")

    # Resume: run 6 steps straight vs 3 + save/load into a fresh optimizer + 3.
    straight, _, _ = _run(ww, WF, lambda p: getattr(optim, name)(p, **kw), True, steps=6)
    arrays = _init(True)
    params = [ww.tensor(a.copy(), requires_grad=True) for a in arrays]
    x, y = (ww.tensor(a) for a in _data())
    opt = getattr(optim, name)(params, **kw)

    def step(o):
        o.zero_grad()
        WF.mse_loss(_forward(WF, ww, params, x, True), y).backward()
        o.step()

    for _ in range(3):
        step(opt)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    opt2 = getattr(optim, name)(params, **kw)
    opt2.load_state_dict(saved)
    for _ in range(3):
        step(opt2)
    for a, b in zip([p.detach().numpy() for p in params], straight):
        np.testing.assert_array_equal(a, b)


def test_load_torch_state_dict_into_weightwise():
    _, _, ot = _run(torch, TF, lambda p: torch.optim.Adam(p, lr=0.01), True, steps=2)
    params = [ww.tensor(a, requires_grad=True) for a in _init(True)]
    o = optim.Adam(params, lr=0.5)
    o.load_state_dict(ot.state_dict())
    assert o.param_groups[0]["lr"] == 0.01
    assert o.state[params[0]]["exp_avg"].shape == (8, 4)


def test_tied_parameter_is_one_parameter():
    w = ww.ones(2, requires_grad=True)
    o = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    o.step()
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 0.5])
    assert o.state_dict()["param_groups"][0]["params"] == [0]


def test_zero_grad_and_repr():
    w = ww.ones(2, requires_grad=True)
    o = optim.SGD([w], lr=0.1)
    t = torch.optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1)
    assert repr(o) == repr(t)
    (w * 2).sum().backward()
    o.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), [0, 0])
    o.zero_grad()
    assert w.grad is None


def test_add_param_group_and_defaults():
    a, b = ww.ones(2, requires_grad=True), ww.ones(3, requires_grad=True)
    o = optim.Adam([a], lr=0.1)
    o.add_param_group({"params": b, "lr": 0.01})
    assert [g["lr"] for g in o.param_groups] == [0.1, 0.01]
    assert o.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        o.add_param_group({"params": [a]})


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("build,exc,msg", [
    (lambda m, p: m.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
    (lambda m, p: m.SGD([p], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda m, p: m.Adam([p], lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    (lambda m, p: m.Adam([p], betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda m, p: m.SGD([p], momentum=-1), ValueError, "Invalid momentum value: -1"),
    (lambda m, p: m.SGD([p], nesterov=True), ValueError, "Nesterov momentum requires a momentum and zero dampening"),
    (lambda m, p: m.SGD(p, lr=0.1), TypeError, "params argument given to the optimizer should be an iterable"),
    (lambda m, p: m.SGD([{"params": [p]}, {"params": [p]}], lr=0.1), ValueError, "some parameters appear in more than one parameter group"),
    (lambda m, p: m.SGD([p * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
    (lambda m, p: m.lr_scheduler.StepLR(object(), 3), TypeError, "object is not an Optimizer"),
    (lambda m, p: m.Adagrad([p], lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    (lambda m, p: m.RMSprop([p], alpha=-1), ValueError, "Invalid alpha value: -1"),
])
def test_bad_input_like_torch(build, exc, msg):
    with pytest.raises(exc, match=msg):
        build(torch.optim, torch.ones(2, requires_grad=True))
    with pytest.raises(exc, match=msg) as info:
        build(optim, ww.ones(2, requires_grad=True))
    if "Optimizer" not in msg:
        assert any(n in str(info.value) for n in ("SGD", "Adam", "Adagrad", "RMSprop"))


def test_duplicate_parameter_in_one_group_warns():
    p = ww.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


def test_load_state_dict_mismatch():
    p = ww.ones(2, requires_grad=True)
    o = optim.SGD([p], lr=0.1)
    sd = copy.deepcopy(o.state_dict())
    sd["param_groups"][0]["params"] = [0, 1]
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        o.load_state_dict(sd)
