"""group_norm and rms_norm (and their modules) against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import weightwise as ww

from .helpers import check_op

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape, groups", [((2, 4, 3), 2), ((2, 4), 4), ((3, 6, 2, 2), 3), ((2, 4, 5), 1)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_group_norm(shape, groups, affine):
    c = shape[1]
    if affine == "both":
        check_op(lambda lib, x, w, b: lib.nn.functional.group_norm(x, groups, w, b), [shape, (c,), (c,)], "float64")
    elif affine == "weight":
        check_op(lambda lib, x, w: lib.nn.functional.group_norm(x, groups, w, eps=1e-3), [shape, (c,)], "float64")
    else:
        check_op(lambda lib, x: lib.nn.functional.group_norm(x, groups), [shape], "float64")


@pytest.mark.parametrize("shape, normalized", [((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), (5,))])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm(shape, normalized, weighted, eps):
    if weighted:
        check_op(lambda lib, x, w: lib.nn.functional.rms_norm(x, normalized, w, eps), [shape, normalized], "float64")
    else:
        check_op(lambda lib, x: lib.nn.functional.rms_norm(x, normalized, eps=eps), [shape], "float32", fd=False)


@pytest.mark.parametrize("make", [
    lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.GroupNorm(1, 4, eps=1e-3, affine=False),
    lambda nn: nn.GroupNorm(4, 4, bias=False), lambda nn: nn.RMSNorm(5), lambda nn: nn.RMSNorm([4, 5], eps=1e-3),
    lambda nn: nn.RMSNorm(5, elementwise_affine=False),
])
def test_modules_as_torch(make):
    mw, mt = make(ww.nn), make(torch.nn)
    assert repr(mw) == repr(mt)
    assert [(n, tuple(p.shape)) for n, p in mw.named_parameters()] == [(n, tuple(p.shape)) for n, p in mt.named_parameters()]
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(mw(ww.tensor(x)).detach().numpy(), mt(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.GroupNorm(3, 4),
    lambda lib: lib.nn.functional.group_norm(lib.ones(2, 4, 3), 3),
    lambda lib: lib.nn.functional.group_norm(lib.ones(4), 2),
    lambda lib: lib.nn.functional.group_norm(lib.ones(2, 4), 2, lib.ones(3)),
    lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 3), (4,)),
])
def test_errors_as_torch(call):
    with pytest.raises(Exception) as et:
        call(torch)
    with pytest.raises(Exception) as ew:
        call(ww)
    assert type(ew.value) is type(et.value)
