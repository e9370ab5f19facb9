"""Every loss, forward and backward, against PyTorch: reductions, weights, ignore_index,
label smoothing, class-probability targets, pos_weight; and the errors for bad targets."""

from __future__ import annotations

import numpy as np
import pytest

import weightwise as ww
from weightwise.nn import functional as WF

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def _pair(a: np.ndarray, grad: bool = True):
    return ww.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def check(fw, ft, arrays, grad_mask=None, rtol=1e-5, atol=1e-6, name=None):
    """Run fw on weightwise tensors and ft on torch tensors; compare value, grads, grad_fn name."""
    grad_mask = grad_mask or [a.dtype.kind == "f" for a in arrays]
    ws = [ww.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_mask)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad_mask)]
    lw, lt = fw(*ws), ft(*ts)
    np.testing.assert_allclose(lw.detach().numpy(), lt.detach().numpy(), rtol=rtol, atol=atol)
    assert lw.grad_fn.name() == (name or lt.grad_fn.name())
    gout = np.random.default_rng(0).standard_normal(lt.shape).astype(arrays[0].dtype)
    lw.backward(ww.tensor(gout))
    lt.backward(torch.tensor(gout))
    for w, t, g in zip(ws, ts, grad_mask):
        if g:
            np.testing.assert_allclose(w.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


rng = np.random.default_rng(1)
X = rng.standard_normal((5, 4)).astype(np.float32)
T = rng.standard_normal((5, 4)).astype(np.float32)
Y = np.array([0, 3, 1, 2, 3])
W = np.array([0.5, 2.0, 1.0, 0.25], dtype=np.float32)
P = rng.random((5, 4)).astype(np.float32)
P /= P.sum(1, keepdims=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression(loss, reduction):
    check(lambda a, b: getattr(WF, loss)(a, b, reduction=reduction),
          lambda a, b: getattr(TF, loss)(a, b, reduction=reduction), [X, T])


@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_smooth_l1_beta_and_huber_delta(beta):
    check(lambda a, b: WF.smooth_l1_loss(a, b, beta=beta), lambda a, b: TF.smooth_l1_loss(a, b, beta=beta), [X, T])
    d = beta or 0.3
    check(lambda a, b: WF.huber_loss(a, b, delta=d), lambda a, b: TF.huber_loss(a, b, delta=d), [X, T])


def test_mse_broadcast_warns_and_matches():
    t = T[:1]
    with pytest.warns(UserWarning, match="target size"):
        check(lambda a, b: WF.mse_loss(a, b), lambda a, b: TF.mse_loss(a, b), [X, t])


def test_mse_float64():
    check(WF.mse_loss, TF.mse_loss, [X.astype(np.float64), T.astype(np.float64)], rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [-100, 3])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_indices(reduction, weighted, ignore, smoothing):
    def run(mod, a, y, w):
        return mod.cross_entropy(a, y, weight=w if weighted else None, ignore_index=ignore,
                                 reduction=reduction, label_smoothing=smoothing)

    check(lambda a, y, w: run(WF, a, y, w), lambda a, y, w: run(TF, a, y, w), [X, Y, W], [True, False, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_probabilities(reduction, weighted, smoothing):
    def run(mod, a, p, w):
        return mod.cross_entropy(a, p, weight=w if weighted else None, reduction=reduction, label_smoothing=smoothing)

    check(lambda a, p, w: run(WF, a, p, w), lambda a, p, w: run(TF, a, p, w), [X, P, W], [True, True, False])


def test_cross_entropy_graph_is_nll_over_log_softmax():
    x = ww.randn(3, 4, requires_grad=True)
    loss = WF.cross_entropy(x, ww.tensor([0, 1, 2]))
    assert loss.grad_fn.name() == "NllLossBackward0"
    assert loss.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_1d(reduction):
    x = rng.standard_normal((2, 4, 3, 2)).astype(np.float32)
    y = rng.integers(0, 4, (2, 3, 2))
    y[0, 0, 0] = -100
    check(lambda a, t: WF.cross_entropy(a, t, reduction=reduction),
          lambda a, t: TF.cross_entropy(a, t, reduction=reduction), [x, y], [True, False])
    check(lambda a, t: WF.cross_entropy(a, t, reduction=reduction, label_smoothing=0.3),
          lambda a, t: TF.cross_entropy(a, t, reduction=reduction, label_smoothing=0.3), [x, y], [True, False])
    check(lambda a, t: WF.cross_entropy(a, t, reduction=reduction),
          lambda a, t: TF.cross_entropy(a, t, reduction=reduction), [X[0], np.array(2)], [True, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(reduction, weighted):
    lp = np.log(P)
    y = Y.copy()
    y[1] = -100
    check(lambda a, t, w: WF.nll_loss(a, t, weight=w if weighted else None, reduction=reduction),
          lambda a, t, w: TF.nll_loss(a, t, weight=w if weighted else None, reduction=reduction),
          [lp, y, W], [True, False, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    x = rng.uniform(0.01, 0.99, (5, 4)).astype(np.float32)
    t = rng.random((5, 4)).astype(np.float32)
    check(lambda a, b, w: WF.binary_cross_entropy(a, b, weight=w if weighted else None, reduction=reduction),
          lambda a, b, w: TF.binary_cross_entropy(a, b, weight=w if weighted else None, reduction=reduction),
          [x, t, W], [True, True, False])


def test_binary_cross_entropy_clamps_log():
    x = np.array([0.0, 1.0, 0.5], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.5], dtype=np.float32)
    lw = WF.binary_cross_entropy(ww.tensor(x), ww.tensor(t))
    lt = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t))
    np.testing.assert_allclose(lw.numpy(), lt.numpy(), rtol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos", [False, True])
def test_bce_with_logits(reduction, weighted, pos):
    x = (rng.standard_normal((5, 4)) * 30).astype(np.float32)  # large logits: stability
    t = rng.random((5, 4)).astype(np.float32)
    pw = np.array([1.0, 3.0, 0.5, 2.0], dtype=np.float32)
    check(lambda a, b, w, p: WF.binary_cross_entropy_with_logits(a, b, weight=w if weighted else None,
                                                                 pos_weight=p if pos else None, reduction=reduction),
          lambda a, b, w, p: TF.binary_cross_entropy_with_logits(a, b, weight=w if weighted else None,
                                                                 pos_weight=p if pos else None, reduction=reduction),
          [x, t, W, pw], [True, True, False, False], rtol=1e-5, atol=1e-5)


def test_dropout_matches_torch_after_same_seed():
    x = np.ones((6, 7), dtype=np.float32)
    ww.manual_seed(3)
    torch.manual_seed(3)
    w, t = _pair(x)
    yw, yt = WF.dropout(w, 0.3), TF.dropout(t, 0.3)
    np.testing.assert_allclose(yw.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    assert yw.grad_fn.name() == yt.grad_fn.name() == "MulBackward0"
    assert WF.dropout(w, 0.3, training=False) is w


def test_one_hot():
    y = torch.tensor([0, 2, 1])
    np.testing.assert_array_equal(WF.one_hot(ww.tensor([0, 2, 1])).numpy(), TF.one_hot(y).numpy())
    np.testing.assert_array_equal(WF.one_hot(ww.tensor([0, 2, 1]), 5).numpy(), TF.one_hot(y, 5).numpy())


# --------------------------------------------------------------------------------------------- bad input

BAD = [
    (lambda m, x: m.cross_entropy(x, m_t(m, [0, 1, 4])), IndexError, "Target 4 is out of bounds"),
    (lambda m, x: m.cross_entropy(x, m_t(m, [0, 1, -2])), IndexError, "Target -2 is out of bounds"),
    (lambda m, x: m.cross_entropy(x, m_t(m, [0.0, 1.0, 2.0])), RuntimeError, "expected target dtype to be Long or Byte, but got Float"),
    (lambda m, x: m.cross_entropy(x, m_t(m, [0, 1])), ValueError, r"Expected input batch_size \(3\) to match target batch_size \(2\)"),
    (lambda m, x: m.cross_entropy(x, m_t(m, np.zeros((3, 5), np.float32))), RuntimeError, "multi-target not supported"),
    (lambda m, x: m.cross_entropy(x, m_t(m, np.zeros((3, 4), np.int64))), RuntimeError, "Expected floating point type for target with class probabilities, got Long"),
    (lambda m, x: m.cross_entropy(x, m_t(m, np.zeros((3, 4), np.float32)), ignore_index=1), RuntimeError, "ignore_index is not supported for floating point target"),
    (lambda m, x: m.cross_entropy(x, m_t(m, [0, 1, 2]), label_smoothing=1.5), RuntimeError, "label_smoothing must be between 0.0 and 1.0"),
    (lambda m, x: m.nll_loss(x, m_t(m, [0, 1, 2]), weight=m_t(m, [1.0, 1.0, 1.0])), RuntimeError, "weight tensor should be defined either for all 4 classes"),
    (lambda m, x: m.mse_loss(x, x, reduction="avg"), ValueError, "avg is not a valid value for reduction"),
    (lambda m, x: m.huber_loss(x, x, delta=-1.0), RuntimeError, "huber_loss does not support non-positive values for delta"),
    (lambda m, x: m.smooth_l1_loss(x, x, beta=-1.0), RuntimeError, "smooth_l1_loss does not support negative values for beta"),
    (lambda m, x: m.binary_cross_entropy(x * 0 + 2, x), RuntimeError, "all elements of input should be between 0 and 1"),
    (lambda m, x: m.binary_cross_entropy(x, x[0]), ValueError, "that is different to the input size"),
    (lambda m, x: m.binary_cross_entropy_with_logits(x, x[0]), ValueError, "must be the same as input size"),
]


def m_t(m, v):
    lib = ww if m is WF else torch
    a = np.asarray(v)
    return lib.tensor(a.astype(np.float32) if a.dtype == np.float64 else a)


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input_same_exception_as_torch(case):
    fn, exc, msg = BAD[case]
    x = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    with pytest.raises(exc, match=msg):
        fn(TF, torch.tensor(x))
    with pytest.raises(exc, match=msg):
        fn(WF, ww.tensor(x))


def test_bad_input_messages_name_the_loss_and_shapes():
    with pytest.raises(IndexError, match=r"cross_entropy\(\).*\[0, 3\].*\[3, 4\]"):
        WF.cross_entropy(ww.zeros(3, 4), ww.tensor([0, 1, 9]))
    with pytest.raises(RuntimeError, match=r"nll_loss\(\): Expected target size \[2, 4\], got \[2, 5\]"):
        WF.nll_loss(ww.zeros(2, 3, 4), ww.zeros(2, 5, dtype=ww.int64))


WE = rng.random((5, 4)).astype(np.float32)  # elementwise weights, input's shape


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_weight_is_differentiable(loss, reduction):
    # PyTorch composes these from ops: the grad_fn, the "mean" (by weight.sum() for mse/l1, a
    # plain mean for huber) and the weight's gradient all follow
    check(lambda a, b, w: getattr(WF, loss)(a, b, reduction=reduction, weight=w),
          lambda a, b, w: getattr(TF, loss)(a, b, reduction=reduction, weight=w), [X, T, WE])


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_weight_errors_as_torch(loss):
    for kwargs in ({"weight": W}, {"weight": WE, "reduction": "avg"}):
        a = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        b = {k: (ww.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        with pytest.raises(ValueError) as et:
            getattr(TF, loss)(torch.tensor(X), torch.tensor(T), **a)
        with pytest.raises(ValueError) as ew:
            getattr(WF, loss)(ww.tensor(X), ww.tensor(T), **b)
        assert str(ew.value) == str(et.value)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probabilities_weight_gets_a_gradient(reduction, smoothing):
    check(lambda a, p, w: WF.cross_entropy(a, p, weight=w, reduction=reduction, label_smoothing=smoothing),
          lambda a, p, w: TF.cross_entropy(a, p, weight=w, reduction=reduction, label_smoothing=smoothing),
          [X, P, W])


@pytest.mark.parametrize("call", [
    lambda F, lib, w: F.nll_loss(lib.tensor(X).log_softmax(1), lib.tensor(Y), weight=w),
    lambda F, lib, w: F.cross_entropy(lib.tensor(X), lib.tensor(Y), weight=w),
    lambda F, lib, w: F.cross_entropy(lib.tensor(X), lib.tensor(Y), weight=w, label_smoothing=0.1),
    lambda F, lib, w: F.binary_cross_entropy(lib.tensor(P), lib.tensor(P), weight=w),
    lambda F, lib, w: F.binary_cross_entropy_with_logits(lib.tensor(X), lib.tensor(P), weight=w),
    lambda F, lib, w: F.binary_cross_entropy_with_logits(lib.tensor(X), lib.tensor(P), pos_weight=w),
], ids=["nll", "ce", "ce-smoothing", "bce", "bcewl-weight", "bcewl-pos_weight"])
def test_weights_without_derivative_refuse_requires_grad(call):
    with pytest.raises(RuntimeError) as et:
        call(TF, torch, torch.tensor(W, requires_grad=True))
    with pytest.raises(RuntimeError) as ew:
        call(WF, ww, ww.tensor(W, requires_grad=True))
    assert str(ew.value) == str(et.value)
    with ww.no_grad():  # no graph, no error (as in PyTorch)
        call(WF, ww, ww.tensor(W, requires_grad=True))


def test_broadcast_tensors():
    a, b = _pair(X[:, :1]), _pair(T[0], grad=False)
    (xw, yw), (xt, yt) = ww.broadcast_tensors(a[0], b[0]), torch.broadcast_tensors(a[1], b[1])
    assert xw.shape == xt.shape and yw.shape == yt.shape and xw.grad_fn.name() == xt.grad_fn.name()
    same = ww.tensor(X)
    assert ww.broadcast_tensors(same, same)[0] is same
    with pytest.raises(RuntimeError) as et:
        torch.broadcast_tensors(torch.tensor(X), torch.tensor(T[:2]))
    with pytest.raises(RuntimeError) as ew:
        ww.broadcast_tensors(ww.tensor(X), ww.tensor(T[:2]))
    assert str(ew.value) == str(et.value)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("targets, ignore", [
    (np.array([0, 3, 1, 2, 3]), -100),      # nothing ignored: the plain path
    (np.array([0, -100, 1, 2, 3]), -100),   # a negative ignore_index hit
    (np.array([0, 3, 1, 2, 3]), 1),         # an in-range ignore_index hit
    (np.array([0, 7, 1, 2, 3]), 7),         # an ignore_index beyond the classes, hit
    (np.array([0, 3, 1, 2, 3]), 7),         # ... and not hit
    (np.array([1, 1, 1, 1, 1]), 1),         # every target ignored: mean is 0/0 = nan
])
def test_nll_ignore_index_regimes(reduction, targets, ignore):
    def run(mod, a, y):
        return mod.nll_loss(a.log_softmax(1), y, ignore_index=ignore, reduction=reduction)

    check(lambda a, y: run(WF, a, y), lambda a, y: run(TF, a, y), [X, targets], [True, False])


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_every_target_ignored_is_nan_without_warning(smoothing):
    y = np.array([2, 2, 2, 2, 2])
    check(lambda a, t: WF.cross_entropy(a, t, ignore_index=2, label_smoothing=smoothing),
          lambda a, t: TF.cross_entropy(a, t, ignore_index=2, label_smoothing=smoothing), [X, y], [True, False])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits", "cross_entropy-indices",
                                  "cross_entropy-probabilities", "nll_loss"])
def test_empty_batch_as_torch(loss, reduction):
    # a mean over nothing is nan, silently; sums are 0; gradients are empty
    name, _, kind = loss.partition("-")
    x = np.zeros((0, 4), np.float32)
    if kind == "indices" or name == "nll_loss":
        t, mask = np.zeros(0, np.int64), [True, False]
    else:
        t, mask = np.zeros((0, 4), np.float32), [True, True]
    check(lambda a, b: getattr(WF, name)(a, b, reduction=reduction),
          lambda a, b: getattr(TF, name)(a, b, reduction=reduction), [x, t], mask)


def test_bce_target_gradient_uses_unclamped_logs():
    # the loss clamps each log at -100, but the target's gradient is log(1 - x) - log(x): +-inf at 0 and 1
    x = np.array([0.0, 1.0, 0.5, 0.2], np.float32)
    t = np.array([1.0, 0.0, 1.0, 0.3], np.float32)
    check(lambda a, b: WF.binary_cross_entropy(a, b, reduction="sum"),
          lambda a, b: TF.binary_cross_entropy(a, b, reduction="sum"), [x, t])
