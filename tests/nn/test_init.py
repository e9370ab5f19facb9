"""nn.init: the same numbers as PyTorch after the same seed, PyTorch's errors, and the right
distributions (a KS test on many samples)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from nn_compare import libs, same_error

import weightwise as ww
from weightwise.nn import init

CASES = [
    ("uniform_", (5, 7), {}),
    ("uniform_", (5, 7), {"a": -3.0, "b": 2.0}),
    ("normal_", (40, 3), {"mean": 1.0, "std": 0.5}),
    ("normal_", (3,), {}),
    ("trunc_normal_", (50, 20), {}),
    ("trunc_normal_", (50, 20), {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 1.0}),
    ("trunc_normal_", (31, 7), {"mean": 0.0, "std": 1.0, "a": 1.0, "b": 1.2}),
    ("constant_", (2, 3), {"val": 0.25}),
    ("ones_", (2, 3), {}),
    ("zeros_", (2, 3), {}),
    ("eye_", (3, 5), {}),
    ("dirac_", (4, 2, 3), {}),
    ("dirac_", (4, 4, 3, 3), {"groups": 2}),
    ("dirac_", (2, 2, 3, 3, 3), {}),
    ("xavier_uniform_", (8, 4), {}),
    ("xavier_uniform_", (6, 3, 2, 2), {"gain": 2.0}),
    ("xavier_normal_", (8, 4), {"gain": 0.5}),
    ("kaiming_uniform_", (8, 4), {}),
    ("kaiming_uniform_", (8, 4), {"a": math.sqrt(5)}),
    ("kaiming_uniform_", (8, 4, 3), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", (20, 4), {}),
    ("kaiming_normal_", (20, 4), {"a": 0.2, "mode": "FAN_OUT", "nonlinearity": "leaky_relu"}),
    ("sparse_", (10, 6), {"sparsity": 0.3}),
    ("sparse_", (10, 6), {"sparsity": 0.5, "std": 2.0}),
]


@pytest.mark.parametrize("name,shape,kw", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_numbers_as_pytorch(name: str, shape: tuple, kw: dict, dtype: str) -> None:
    torch, _ = libs()
    torch.manual_seed(7)
    t = torch.empty(shape, dtype=getattr(torch, dtype))
    r = getattr(torch.nn.init, name)(t, **kw)
    ww.manual_seed(7)
    w = ww.empty(*shape, dtype=getattr(ww, dtype))
    wr = getattr(init, name)(w, **kw)
    assert wr is w and r is t
    np.testing.assert_array_equal(w.numpy(), t.numpy())
    # the stream is left where PyTorch leaves it
    assert ww.rand(3).tolist() == torch.rand(3).tolist()


@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "kaiming_normal_", "trunc_normal_",
                                  "orthogonal_"])
def test_generator_argument(name: str) -> None:
    torch, _ = libs()
    tg = torch.Generator().manual_seed(3)
    wg = ww.Generator().manual_seed(3)
    t = getattr(torch.nn.init, name)(torch.empty(6, 5), generator=tg)
    w = getattr(init, name)(ww.empty(6, 5), generator=wg)
    np.testing.assert_allclose(w.numpy(), t.numpy(), rtol=0, atol=2e-6)


@pytest.mark.parametrize("shape", [(6, 6), (3, 7), (7, 3), (4, 2, 3), (2, 50)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal_matches_pytorch_to_float_rounding(shape: tuple, gain: float) -> None:
    torch, _ = libs()
    torch.manual_seed(11)
    t = torch.nn.init.orthogonal_(torch.empty(shape), gain=gain)
    ww.manual_seed(11)
    w = init.orthogonal_(ww.empty(*shape), gain=gain)
    # NumPy's QR runs in float64; PyTorch's float32 LAPACK QR differs in the last bits.
    np.testing.assert_allclose(w.numpy(), t.numpy(), rtol=0, atol=5e-6 * gain)
    flat = w.numpy().reshape(shape[0], -1)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-5)


def test_runs_under_no_grad_in_place_on_parameters() -> None:
    p = ww.nn.Parameter(ww.empty(4, 3))
    v = p._version
    for fn in (init.xavier_uniform_, init.zeros_, init.orthogonal_, init.eye_, lambda t: init.sparse_(t, 0.5)):
        r = fn(p)
        assert r is p and p.grad_fn is None and p.requires_grad
    assert p._version > v


def test_calculate_gain() -> None:
    torch, _ = libs()
    for nl, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                      ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)]:
        assert init.calculate_gain(nl, param) == torch.nn.init.calculate_gain(nl, param)


@pytest.mark.parametrize("case", [
    lambda torch, nn: nn.init.xavier_uniform_(torch.empty(3)),
    lambda torch, nn: nn.init.kaiming_normal_(torch.empty(3)),
    lambda torch, nn: nn.init.kaiming_uniform_(torch.empty(3, 2), mode="fan_avg"),
    lambda torch, nn: nn.init.calculate_gain("swish"),
    lambda torch, nn: nn.init.calculate_gain("leaky_relu", "x"),
    lambda torch, nn: nn.init.eye_(torch.empty(2, 2, 2)),
    lambda torch, nn: nn.init.dirac_(torch.empty(2, 2)),
    lambda torch, nn: nn.init.dirac_(torch.empty(3, 2, 2), groups=2),
    lambda torch, nn: nn.init.orthogonal_(torch.empty(3)),
    lambda torch, nn: nn.init.sparse_(torch.empty(3), 0.1),
])
def test_errors_match_pytorch(case: Any) -> None:
    same_error(case)


def test_warnings_match_pytorch() -> None:
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(ww.empty(0, 3))
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(ww.empty(10), mean=10.0)
    with pytest.warns(FutureWarning, match="`nn.init.normal` is now deprecated in favor of `nn.init.normal_`"):
        init.normal(ww.empty(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.kaiming_uniform_(ww.empty(2, 3))


# ------------------------------------------------------------------ distributions (KS tests)

N = 20_000


def _ks(sample: np.ndarray, cdf: Any) -> float:
    from scipy import stats

    return float(stats.kstest(sample.astype(np.float64).ravel(), cdf).pvalue)


def test_ks_uniform_normal_xavier_kaiming() -> None:
    stats = pytest.importorskip("scipy.stats")
    ww.manual_seed(0)
    assert _ks(init.uniform_(ww.empty(N), -2, 3).numpy(), stats.uniform(-2, 5).cdf) > 1e-3
    assert _ks(init.normal_(ww.empty(N), 1, 2).numpy(), stats.norm(1, 2).cdf) > 1e-3
    w = init.xavier_uniform_(ww.empty(200, 100)).numpy()
    a = math.sqrt(6 / 300)
    assert _ks(w, stats.uniform(-a, 2 * a).cdf) > 1e-3
    w = init.xavier_normal_(ww.empty(200, 100)).numpy()
    assert _ks(w, stats.norm(0, math.sqrt(2 / 300)).cdf) > 1e-3
    w = init.kaiming_normal_(ww.empty(200, 100), nonlinearity="relu").numpy()
    assert _ks(w, stats.norm(0, math.sqrt(2 / 100)).cdf) > 1e-3
    w = init.kaiming_uniform_(ww.empty(200, 100), a=math.sqrt(5)).numpy()
    b = 1 / math.sqrt(100)
    assert _ks(w, stats.uniform(-b, 2 * b).cdf) > 1e-3


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, 1.0, 1.5), (1.0, 0.5, 0.0, 3.0)])
def test_ks_trunc_normal(mean: float, std: float, a: float, b: float) -> None:
    stats = pytest.importorskip("scipy.stats")
    ww.manual_seed(1)
    w = init.trunc_normal_(ww.empty(N), mean, std, a, b).numpy()
    assert w.min() >= a and w.max() <= b
    dist = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert _ks(w, dist.cdf) > 1e-3


def test_sparse_zero_fraction_per_column() -> None:
    ww.manual_seed(2)
    w = init.sparse_(ww.empty(10, 50), 0.25).numpy()
    assert ((w == 0).sum(0) == math.ceil(0.25 * 10)).all()
