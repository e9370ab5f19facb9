"""Layers against PyTorch: same init after the same seed, forward values, gradients, grad_fn names."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from nn_compare import libs, same_error, same_output

import weightwise as ww


def _run(make: Callable[[Any, Any], Any], inputs: Callable[[Any], tuple], train: bool = True,
         atol: float = 1e-5, check_name: bool = True, exact_params: bool = True) -> None:
    """Build the layer on both libraries after the same seed; compare params, output, grads."""
    torch, _ = libs()
    outs = []
    for lib in (torch, ww):
        lib.manual_seed(0)
        m = make(lib, lib.nn)
        m.train(train)
        xs = inputs(lib)
        y = m(*xs)
        (y * y).sum().backward() if y.requires_grad else None
        params = {n: p.detach().numpy().copy() for n, p in m.named_parameters()}
        grads = {n: p.grad.numpy().copy() for n, p in m.named_parameters() if p.grad is not None}
        xg = [x.grad.numpy().copy() for x in xs if getattr(x, "grad", None) is not None]
        bufs = {n: b.numpy().copy() for n, b in m.named_buffers()}
        outs.append((params, y.detach().numpy().copy(), grads, xg, bufs, type(y.grad_fn).__name__ if lib is torch
                     else (y.grad_fn.name() if y.grad_fn is not None else "NoneType")))
    (tp, ty, tg, txg, tb, tname), (wp, wy, wg, wxg, wb, wname) = outs
    assert list(tp) == list(wp) and list(tb) == list(wb)
    for k in tp:
        if exact_params:
            np.testing.assert_array_equal(wp[k], tp[k], err_msg=k)
        else:
            np.testing.assert_allclose(wp[k], tp[k], rtol=1e-6, err_msg=k)
    np.testing.assert_allclose(wy, ty, rtol=1e-5, atol=atol)
    assert wname == tname or not check_name
    assert list(tg) == list(wg)
    for k in tg:
        np.testing.assert_allclose(wg[k], tg[k], rtol=1e-4, atol=atol, err_msg=k)
    for a, b in zip(wxg, txg):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol)
    for k in tb:
        np.testing.assert_allclose(wb[k], tb[k], rtol=1e-5, atol=atol, err_msg=k)


def _x(*shape: int) -> Callable[[Any], tuple]:
    def make(lib: Any) -> tuple:
        lib.manual_seed(1)
        return (lib.randn(*shape, requires_grad=True),)
    return make


LAYERS = [
    ("Identity", lambda t, nn: nn.Identity(3, foo=1), _x(2, 3)),
    ("Linear", lambda t, nn: nn.Linear(5, 3), _x(4, 5)),
    ("Linear3d", lambda t, nn: nn.Linear(5, 3), _x(2, 4, 5)),
    ("LinearNoBias", lambda t, nn: nn.Linear(5, 3, bias=False), _x(4, 5)),
    ("Flatten", lambda t, nn: nn.Flatten(), _x(2, 3, 4)),
    ("Unflatten", lambda t, nn: nn.Unflatten(1, (2, 3)), _x(2, 6)),
    ("ReLU", lambda t, nn: nn.ReLU(), _x(3, 4)),
    ("LeakyReLU", lambda t, nn: nn.LeakyReLU(0.2), _x(3, 4)),
    ("ELU", lambda t, nn: nn.ELU(0.5), _x(3, 4)),
    ("GELU", lambda t, nn: nn.GELU(), _x(3, 4)),
    ("GELUtanh", lambda t, nn: nn.GELU("tanh"), _x(3, 4)),
    ("SiLU", lambda t, nn: nn.SiLU(), _x(3, 4)),
    ("Sigmoid", lambda t, nn: nn.Sigmoid(), _x(3, 4)),
    ("Tanh", lambda t, nn: nn.Tanh(), _x(3, 4)),
    ("Softmax", lambda t, nn: nn.Softmax(dim=1), _x(3, 4)),
    ("LogSoftmax", lambda t, nn: nn.LogSoftmax(dim=0), _x(3, 4)),
    ("LayerNorm", lambda t, nn: nn.LayerNorm(4), _x(3, 4)),
    ("LayerNorm2d", lambda t, nn: nn.LayerNorm([3, 4]), _x(2, 3, 4)),
    ("LayerNormNoAffine", lambda t, nn: nn.LayerNorm(4, elementwise_affine=False), _x(3, 4)),
    ("BatchNorm1d", lambda t, nn: nn.BatchNorm1d(4), _x(5, 4)),
    ("BatchNorm1d3d", lambda t, nn: nn.BatchNorm1d(3), _x(2, 3, 5)),
    ("BatchNorm1dCumulative", lambda t, nn: nn.BatchNorm1d(4, momentum=None), _x(5, 4)),
    ("BatchNorm1dNoStats", lambda t, nn: nn.BatchNorm1d(4, affine=False, track_running_stats=False), _x(5, 4)),
    ("Dropout", lambda t, nn: nn.Dropout(0.3), _x(40, 7)),
    ("Dropout0", lambda t, nn: nn.Dropout(0.0), _x(4, 7)),
    ("Dropout1", lambda t, nn: nn.Dropout(1.0), _x(4, 7)),
    ("LazyLinear", lambda t, nn: nn.LazyLinear(3), _x(4, 6)),
    ("Seq", lambda t, nn: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)), _x(6, 4)),
]


@pytest.mark.parametrize("name,make,inputs", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_matches_pytorch(name: str, make: Any, inputs: Any) -> None:
    # NOTE: functional.linear on a 3-D input ends in AddBackward0 where PyTorch has ViewBackward0.
    _run(make, inputs, check_name=name != "Linear3d")


def test_batchnorm_eval_uses_running_stats() -> None:
    def make(t: Any, nn: Any) -> Any:
        bn = nn.BatchNorm1d(4)
        t.manual_seed(5)
        with t.no_grad():
            bn(t.randn(8, 4) * 3 + 1)
            bn(t.randn(8, 4) * 3 + 1)
        return bn

    _run(make, _x(5, 4), train=False)


def test_dropout_eval_returns_input_itself() -> None:
    x = ww.randn(3, 3)
    d = ww.nn.Dropout()
    d.eval()
    assert d(x) is x


def test_embedding() -> None:
    def inputs(lib: Any) -> tuple:
        return (lib.tensor([[0, 2, 2], [4, 1, 0]]),)

    _run(lambda t, nn: nn.Embedding(5, 3), inputs)
    _run(lambda t, nn: nn.Embedding(5, 3, padding_idx=2), inputs)
    _run(lambda t, nn: nn.Embedding(5, 3, scale_grad_by_freq=True), inputs)
    # max_norm renormalises rows in place; PyTorch's vectorised row norm rounds differently (1 ulp).
    _run(lambda t, nn: nn.Embedding(5, 3, max_norm=0.5), inputs, exact_params=False)

    def pretrained(torch: Any, nn: Any) -> None:
        e = nn.Embedding.from_pretrained(torch.arange(6.0).reshape(3, 2))
        print(e, e.weight.requires_grad, e(torch.tensor([2, 0])))

    same_output(pretrained)
    same_error(lambda torch, nn: nn.Embedding(3, 2, padding_idx=3))
    same_error(lambda torch, nn: nn.Embedding(3, 2)(torch.tensor([1.0])), lambda s: s.split(" instead")[0])


def test_bilinear() -> None:
    torch, _ = libs()
    res = []
    for lib in (torch, ww):
        lib.manual_seed(0)
        m = lib.nn.Bilinear(3, 4, 2)
        lib.manual_seed(1)
        a = lib.randn(5, 3, requires_grad=True)
        b = lib.randn(5, 4, requires_grad=True)
        y = m(a, b)
        (y * y).sum().backward()
        res.append([m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy(), y.detach().numpy().copy(),
                    a.grad.numpy().copy(), b.grad.numpy().copy(), m.weight.grad.numpy().copy(),
                    m.bias.grad.numpy().copy()])
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])
    for t, w in zip(res[0][2:], res[1][2:]):
        np.testing.assert_allclose(w, t, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", [
    lambda torch, nn: nn.Dropout(1.5),
    lambda torch, nn: nn.BatchNorm1d(3)(torch.zeros(2, 3, 4, 5)),
    lambda torch, nn: nn.BatchNorm1d(3)(torch.zeros(1, 3)),
    lambda torch, nn: nn.Unflatten(1, 3),
])
def test_layer_errors(case: Any) -> None:
    same_error(case)


def test_layer_norm_shape_error_names_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[4\].*\[2, 3\]"):
        ww.nn.LayerNorm(4)(ww.zeros(2, 3))


def test_full_state_dict_of_layers_matches_pytorch_keys() -> None:
    def cell(torch: Any, nn: Any) -> None:
        m = nn.Sequential(nn.BatchNorm1d(2), nn.LayerNorm(2), nn.Embedding(3, 2), nn.Bilinear(2, 2, 1))
        sd = m.state_dict()
        print([(k, tuple(v.shape), v.dtype) for k, v in sd.items()])
        print(sd._metadata)

    same_output(cell)
