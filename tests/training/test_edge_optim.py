"""Optimizers and schedulers on edge inputs, step for step against torch.optim.

0-d parameters, bfloat16 and float16 parameters, inf/nan gradients and eps=0 (IEEE results, no
NumPy warnings), betas/alpha of 0 (where PyTorch's lerp gives the gradient exactly), a group
added to Adagrad after construction, and a scheduler whose optimizer gained a group.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import weightwise as ww

torch = pytest.importorskip("torch")


def _to(lib, a: np.ndarray, dtype: str):
    t = lib.tensor(a.astype(np.float32))
    return t.to(getattr(lib, dtype))


def _numpy(t) -> np.ndarray:
    return t.detach().float().numpy().copy()  # the optimizer updates in place


def _trajectory(lib, name: str, kwargs: dict, inits: list[np.ndarray], grads: list[list[np.ndarray | None]],
                dtype: str = "float32"):
    """Parameters and optimizer state after each step, as float32 arrays; gradients set directly."""
    params = [_to(lib, a, dtype).requires_grad_(True) for a in inits]
    opt = getattr(lib.optim, name)(params, **kwargs)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarning may escape a step
        for step in grads:
            for p, g in zip(params, step):
                p.grad = None if g is None else _to(lib, g, dtype)
            opt.step()
            out.append([_numpy(p) for p in params])
            out.append([_numpy(v) for p in params for k, v in sorted(opt.state[p].items()) if k != "step"])
    return out, params, opt


def _assert_same(name, kwargs, inits, grads, dtype="float32", rtol=1e-6):
    ours, wp, wo = _trajectory(ww, name, kwargs, inits, grads, dtype)
    theirs, tp, to = _trajectory(torch, name, kwargs, inits, grads, dtype)
    for a_list, b_list in zip(ours, theirs):
        assert len(a_list) == len(b_list)
        for a, b in zip(a_list, b_list):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, equal_nan=True)
    for p, q in zip(wp, tp):  # dtypes of the parameter and of every state tensor
        assert str(p.dtype) == str(q.dtype)
        for (k, v), (k2, v2) in zip(sorted(wo.state[p].items()), sorted(to.state[q].items())):
            assert k == k2 and str(v.dtype) == str(v2.dtype), k


OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=1.0, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, maximize=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)]


def _grads(shapes, steps, rng, special=None):
    out = []
    for s in range(steps):
        row = []
        for shape in shapes:
            g = rng.standard_normal(shape).astype(np.float32)
            if special is not None and g.size:
                g.reshape(-1)[0] = special[s % len(special)]
            row.append(g)
        out.append(row)
    return out


@pytest.mark.parametrize("case", OPTIMIZERS, ids=IDS)
def test_zero_dim_parameters(case):
    # fewer than four small parameters: each is updated on its own, through 1-element views
    rng = np.random.default_rng(0)
    shapes = [(), (3,)]
    inits = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _assert_same(*case, inits, _grads(shapes, 3, rng))


@pytest.mark.parametrize("case", OPTIMIZERS, ids=IDS)
def test_non_finite_gradients_give_torch_values_silently(case):
    rng = np.random.default_rng(1)
    shapes = [(5,), (2, 3)]
    inits = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _assert_same(*case, inits, _grads(shapes, 4, rng, special=[np.inf, -np.inf, np.nan, 0.0]))


@pytest.mark.parametrize("name,kwargs", [
    ("Adam", dict(lr=0.01, eps=0.0)), ("Adam", dict(lr=0.01, eps=0.0, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, eps=0.0, centered=True)), ("RMSprop", dict(lr=0.01, eps=0.0, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, eps=0.0)), ("SGD", dict(lr=0.0)),
])
def test_eps_zero_and_zero_gradients_give_nan_silently(name, kwargs):
    inits = [np.array([1.0, -2.0], np.float32)]
    grads = [[np.zeros(2, np.float32)], [np.array([np.inf, 1.0], np.float32)]]
    _assert_same(name, kwargs, inits, grads)


@pytest.mark.parametrize("name,kwargs", [
    ("Adam", dict(lr=0.01, betas=(0.0, 0.0))), ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),
    ("RMSprop", dict(lr=0.01, alpha=0.0, centered=True)),
])
def test_lerp_weight_at_least_half_follows_torch(name, kwargs):
    # The running average exp_avg (grad_avg) moves with weight 1 - beta1 (1 - alpha); from 0.5 on,
    # PyTorch's lerp works from the gradient, so weight 1 gives the gradient bit for bit (an inf
    # one gives nan). A large previous average and a small gradient show m + (g - m) != g.
    n = 64
    inits = [np.zeros(n, np.float32)]
    grads = [[np.full(n, 1000.0, np.float32)], [np.linspace(1e-4, 1e-3, n, dtype=np.float32)],
             [np.full(n, np.inf, np.float32)]]
    ours, *_ = _trajectory(ww, name, kwargs, inits, grads)
    theirs, *_ = _trajectory(torch, name, kwargs, inits, grads)
    for step in range(3):
        avg, expected = ours[2 * step + 1][0], theirs[2 * step + 1][0]  # exp_avg or grad_avg
        np.testing.assert_allclose(avg, expected, rtol=2e-6, equal_nan=True)
        if name == "Adam":  # (centered RMSprop with alpha=0 takes sqrt(g^2 - g^2): rounding decides)
            np.testing.assert_allclose(ours[2 * step][0], theirs[2 * step][0], rtol=2e-6, equal_nan=True)
    if kwargs.get("betas", (1.0,))[0] == 0.0 or kwargs.get("alpha") == 0.0:
        assert np.array_equal(ours[3][0], grads[1][0])


@pytest.mark.parametrize("case", OPTIMIZERS, ids=IDS)
def test_bfloat16_parameters_keep_their_dtype_and_match(case):
    rng = np.random.default_rng(2)
    shapes = [(4, 3), (), (5,)]
    inits = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _assert_same(*case, inits, _grads(shapes, 3, rng), dtype="bfloat16", rtol=2e-2)


def test_float16_adam_second_moment_of_large_gradients_stays_finite():
    # (1 - beta2) g g as PyTorch orders it: g * g alone overflows float16 above 256
    inits = [np.zeros(4, np.float32)]
    grads = [[np.array([300.0, -1000.0, 2000.0, 1.0], np.float32)]]
    ours, *_ = _trajectory(ww, "Adam", dict(lr=0.01), inits, grads, "float16")
    theirs, *_ = _trajectory(torch, "Adam", dict(lr=0.01), inits, grads, "float16")
    assert np.isfinite(ours[1][1]).all()
    np.testing.assert_allclose(ours[1][1], theirs[1][1], rtol=2e-3)
    np.testing.assert_allclose(ours[0][0], theirs[0][0], rtol=2e-3)


def test_adagrad_group_added_after_construction():
    out = []
    for lib in (ww, torch):
        p, q = lib.tensor([1.0, -2.0], requires_grad=True), lib.tensor([3.0], requires_grad=True)
        opt = lib.optim.Adagrad([p], lr=0.1)
        opt.add_param_group({"params": [q], "lr": 0.5})
        for _ in range(2):
            p.grad, q.grad = lib.tensor([1.0, 1.0]), lib.tensor([2.0])
            opt.step()
        out.append(np.concatenate([p.detach().numpy(), q.detach().numpy()]))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6)


def test_scheduler_refuses_a_group_added_after_it():
    for lib in (ww, torch):
        p = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        sched = lib.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)
        opt.step()
        sched.step()
        opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.3})
        opt.step()
        with pytest.raises(ValueError):
            sched.step()
