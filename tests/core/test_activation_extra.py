"""The extra activations (selu ... glu, and the composites relu6/softsign/tanhshrink/softmin):
values, grad_fn names and gradients against PyTorch and finite differences; their modules'
reprs, PReLU's parameter, and PyTorch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import weightwise as ww

from .helpers import check_op

torch = pytest.importorskip("torch")

OPS = {
    "selu": lambda lib, x: lib.nn.functional.selu(x),
    "celu": lambda lib, x: lib.nn.functional.celu(x, 0.5),
    "mish": lambda lib, x: lib.nn.functional.mish(x),
    "hardswish": lambda lib, x: lib.nn.functional.hardswish(x),
    "hardsigmoid": lambda lib, x: lib.nn.functional.hardsigmoid(x),
    "logsigmoid": lambda lib, x: lib.nn.functional.logsigmoid(x),
    "threshold": lambda lib, x: lib.nn.functional.threshold(x, 0.1, 20.0),
    "softshrink": lambda lib, x: lib.nn.functional.softshrink(x, 0.3),
    "hardshrink": lambda lib, x: lib.nn.functional.hardshrink(x, 0.3),
    "relu6": lambda lib, x: lib.nn.functional.relu6(x * 4),
    "softsign": lambda lib, x: lib.nn.functional.softsign(x),
    "tanhshrink": lambda lib, x: lib.nn.functional.tanhshrink(x),
    "softmin": lambda lib, x: lib.nn.functional.softmin(x, 1),
    "glu": lambda lib, x: lib.nn.functional.glu(x, 1),
}
# kinks (where the gradient jumps) are kept away from the sampled values for the finite differences
AWAY = {"hardswish": (-3.0, 3.0), "hardsigmoid": (-3.0, 3.0), "threshold": (0.1,), "softshrink": (-0.3, 0.3),
        "hardshrink": (-0.3, 0.3), "relu6": (0.0, 1.5), "selu": (0.0,), "celu": (0.0,)}


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_against_torch_and_finite_differences(name, dtype):
    fd = dtype == "float64"
    check_op(OPS[name], [(3, 4)], dtype, low=-4.0, high=4.0, away=AWAY.get(name, ()), fd=fd)


@pytest.mark.parametrize("shape, weight", [((2, 3, 4), 3), ((2, 3), 1), ((5,), 1), ((), 1), ((2, 3, 4), 1)])
def test_prelu(shape, weight):
    check_op(lambda lib, x, w: lib.nn.functional.prelu(x, w), [shape, (weight,)], "float64", away=(0.0,))


def test_extreme_inputs_stay_finite_and_quiet():
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("mish", "logsigmoid", "selu", "celu", "softsign"):
            a, b = OPS[name](ww, ww.tensor(x)), OPS[name](torch, torch.tensor(x))
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-40)
        g = ww.nn.functional.glu(ww.tensor(np.array([[1.0, 2.0, -1e4, 1e4]], np.float32)), 1)
        assert np.isfinite(g.numpy()).all()


@pytest.mark.parametrize("make", [
    lambda nn: nn.ReLU6(), lambda nn: nn.ReLU6(inplace=True), lambda nn: nn.Hardtanh(-2.0, 3.0),
    lambda nn: nn.SELU(), lambda nn: nn.CELU(0.5, inplace=True), lambda nn: nn.Mish(), lambda nn: nn.Hardswish(),
    lambda nn: nn.Hardsigmoid(), lambda nn: nn.Softsign(), lambda nn: nn.LogSigmoid(), lambda nn: nn.Tanhshrink(),
    lambda nn: nn.Threshold(0.1, 20), lambda nn: nn.Softmin(1), lambda nn: nn.Softshrink(0.3),
    lambda nn: nn.Hardshrink(), lambda nn: nn.Softplus(beta=2, threshold=10), lambda nn: nn.GLU(),
    lambda nn: nn.PReLU(3, 0.1),
])
def test_modules_print_and_compute_as_torch(make):
    mw, mt = make(ww.nn), make(torch.nn)
    assert repr(mw) == repr(mt)
    x = np.random.default_rng(0).uniform(-4, 4, (2, 3, 4)).astype(np.float32)
    out_w, out_t = mw(ww.tensor(x)), mt(torch.tensor(x))
    np.testing.assert_allclose(out_w.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert [n for n, _ in mw.named_parameters()] == [n for n, _ in mt.named_parameters()]


def test_inplace_modules_write_into_their_input():
    x = ww.tensor([-1.0, 0.5, 7.0])
    out = ww.nn.ReLU6(inplace=True)(x)
    assert out is x and x.tolist() == [0.0, 0.5, 6.0]


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.functional.prelu(lib.ones(2, 4), lib.ones(3)),
    lambda lib: lib.nn.functional.prelu(lib.ones(5), lib.ones(5)),
    lambda lib: lib.nn.functional.glu(lib.ones(3), 0),
    lambda lib: lib.nn.functional.glu(lib.ones(2, 4), 2),
    lambda lib: lib.nn.functional.softshrink(lib.ones(2), -1.0),
    lambda lib: lib.nn.Hardtanh(1.0, 0.0),
])
def test_errors_as_torch(call):
    with pytest.raises(Exception) as et:
        call(torch)
    with pytest.raises(Exception) as ew:
        call(ww)
    assert type(ew.value) is type(et.value)


def test_softmin_without_dim_warns_and_picks_as_torch():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        a = ww.nn.functional.softmin(ww.tensor(x))
    with pytest.warns(UserWarning):
        b = torch.nn.functional.softmin(torch.tensor(x))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
