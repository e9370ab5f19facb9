"""The large-array paths of relu, sigmoid, softmax, log_softmax, sum over the last dim and the
transposed gradient copy agree with PyTorch (the small shapes of test_ops do not reach them)."""

from __future__ import annotations

import numpy as np
import pytest

import weightwise as ww

torch = pytest.importorskip("torch")


def _pair(shape: tuple[int, ...], dtype: np.dtype, seed: int = 0, scale: float = 3.0) -> tuple:
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    return ww.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["relu", "sigmoid", "softmax", "log_softmax", "sum_last", "t"])
def test_large_paths_match_torch(op: str, dtype: np.dtype) -> None:
    x, tx = _pair((256, 512), dtype)
    gnp = np.random.default_rng(1).standard_normal((256, 512)).astype(dtype)
    f = {
        "relu": lambda lib, v: lib.relu(v),
        "sigmoid": lambda lib, v: v.sigmoid(),
        "softmax": lambda lib, v: v.softmax(-1),
        "log_softmax": lambda lib, v: v.log_softmax(-1),
        "sum_last": lambda lib, v: v.sum(1, keepdim=True) * 1.5,
        "t": lambda lib, v: v.t(),
    }[op]
    y, ty = f(ww, x), f(torch, tx)
    # float32: summation order differs from PyTorch (sums of 512 terms of size ~3).
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
    g = gnp[:, :1] if op == "sum_last" else (gnp.T.copy() if op == "t" else gnp)
    y.backward(ww.tensor(g))
    ty.backward(torch.tensor(g))
    assert x.grad is not None and x.grad.numpy().flags.c_contiguous
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)


def test_sigmoid_tails_keep_relative_precision() -> None:
    a = np.array([-200, -100, -87, -30, -20, -5, 0, 5, 20, 100, np.inf, -np.inf, np.nan], np.float32)
    a = np.tile(a, 400)  # large enough for the in-place path
    y = ww.tensor(a).sigmoid().numpy()
    ty = torch.tensor(a).sigmoid().numpy()
    assert np.array_equal(np.isnan(y), np.isnan(ty))
    ok = ~np.isnan(ty)
    np.testing.assert_allclose(y[ok], ty[ok], rtol=1e-6, atol=0)
