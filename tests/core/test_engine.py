"""The backward engine: hooks on tied uses, freeing saved state, None gradients; deepcopy sharing;
lazy SciPy; scalar fast paths keep their scalar."""

from __future__ import annotations

import copy
import gc
import subprocess
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import weightwise as ww
from weightwise import autograd
from weightwise.autograd import Function

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------
# Hooks see the gradient of the whole pass, once


def _tied_hook_calls(lib):  # type: ignore[no-untyped-def]
    w = lib.tensor(1.0, requires_grad=True)
    seen: list[float] = []
    w.register_hook(lambda g: seen.append(float(g)))
    (w * 6 + w * 4).backward()
    (w * 6 + w * 4).backward()  # a second pass: the hook sees this pass only, not the old .grad
    return seen, float(w.grad)


def test_leaf_hook_runs_once_on_the_summed_gradient() -> None:
    assert _tied_hook_calls(ww) == _tied_hook_calls(torch) == ([10.0, 10.0], 20.0)


def test_leaf_hook_replacement_applies_to_the_total() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        calls = []

        def hook(g):  # type: ignore[no-untyped-def]
            calls.append(g.tolist())
            return g * 2

        w.register_hook(hook)
        lin = lib.tensor([3.0, 5.0])
        ((w * lin).sum() + (w * w).sum() + w.sum()).backward()
        return calls, w.grad.tolist()

    assert run(ww) == run(torch)


def test_tied_leaf_hook_in_autograd_grad_runs_once() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        w = lib.tensor(1.0, requires_grad=True)
        seen: list[float] = []
        w.register_hook(lambda g: seen.append(float(g)))
        (g,) = lib.autograd.grad(w * 6 + w * 4, [w])
        return seen, float(g), w.grad

    assert run(ww) == run(torch)


def test_non_leaf_hook_and_retain_grad_see_the_sum() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        w = lib.tensor(1.0, requires_grad=True)
        h = w * 2
        h.retain_grad()
        seen: list[float] = []
        h.register_hook(lambda g: seen.append(float(g)))
        (h * 6 + h * 4 + h.exp() * 0).backward()
        return seen, float(h.grad), float(w.grad)

    assert run(ww) == run(torch)


def test_tied_linear_hook_with_module_backward_hook() -> None:
    from weightwise import nn

    lin = nn.Linear(3, 3)
    seen: list[np.ndarray] = []
    lin.weight.register_hook(lambda g: seen.append(g.numpy().copy()))
    calls = []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append(len(gi)))
    x = ww.randn(2, 3)
    lin(lin(x)).sum().backward()
    assert len(seen) == 1 and len(calls) == 2
    np.testing.assert_allclose(seen[0], lin.weight.grad.numpy())


# ---------------------------------------------------------------------------------------------
# Saved state is released as backward proceeds


def test_backward_releases_intermediates_while_output_is_alive() -> None:
    x = ww.randn(4, 5)
    w = ww.randn(5, 3, requires_grad=True)
    h = (x @ w).relu()
    ref = weakref.ref(h)
    arr = weakref.ref(h._a)
    loss = (h * h).sum()
    del h
    loss.backward()
    gc.collect()
    assert ref() is None and arr() is None  # the graph no longer holds it, `loss` still alive
    assert loss.grad_fn.next_functions[0][0].name() == "MulBackward0"  # edges are kept
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_retain_graph_keeps_saved_state() -> None:
    w = ww.randn(3, requires_grad=True)
    loss = (w.exp() * w).sum()
    loss.backward(retain_graph=True)
    g1 = w.grad.clone()
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * g1.numpy(), rtol=1e-6)


def test_backward_peak_memory_does_not_keep_every_gradient() -> None:
    n, depth = 64 * 1024, 30  # 256 KiB float32 arrays
    x = ww.randn(n, requires_grad=True)
    y = x
    for _ in range(depth):
        y = (y * 0.5).exp()
    loss = y.sum()
    del y
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    loss.backward()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    # The saved outputs are freed as backward goes and no gradient outlives its use: a few
    # arrays at a time, not `depth` of them.
    assert peak < 8 * n * 4, peak


# ---------------------------------------------------------------------------------------------
# None gradients for a non-leaf input


class _FirstOnly(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a.copy()

    def backward(self, g: np.ndarray):  # type: ignore[no-untyped-def]
        return g, None


def test_none_gradient_for_a_non_leaf_with_no_other_consumer() -> None:
    a = ww.tensor([1.0, 2.0], requires_grad=True)
    _FirstOnly.apply(a, a * 3).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_none_gradient_for_a_node_that_also_has_a_real_gradient() -> None:
    a = ww.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    (_FirstOnly.apply(a, b).sum() + b.sum()).backward()
    assert a.grad.tolist() == [4.0, 4.0]


def test_leaf_gradient_is_not_shared_between_tied_uses() -> None:
    a = ww.tensor([1.0, 2.0], requires_grad=True)
    b = ww.tensor([1.0, 2.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    (a + b).sum().backward()
    assert a.grad.tolist() == b.grad.tolist() == [2.0, 2.0]


def test_user_gradient_is_not_aliased() -> None:
    a = ww.tensor([1.0, 2.0], requires_grad=True)
    g = ww.tensor([1.0, 1.0])
    (a * 1).backward(g)
    (a * 1).backward(g)
    assert g.tolist() == [1.0, 1.0] and a.grad.tolist() == [2.0, 2.0]


# ---------------------------------------------------------------------------------------------
# deepcopy keeps memory sharing


def test_deepcopy_keeps_sharing_between_tensors_and_views() -> None:
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    t1, t2 = ww.from_numpy(base), ww.from_numpy(base)
    view, tr = ww.from_numpy(base[1:, ::2]), ww.from_numpy(base.T)
    other = ww.ones(2)
    new = copy.deepcopy({"a": t1, "b": [t2, view, tr, other]})
    n1, (n2, nv, nt, no) = new["a"], new["b"]
    assert not np.shares_memory(n1.numpy(), base)
    n1[1, 0] = 100.0
    assert n2[1, 0].item() == 100.0 and nv[0, 0].item() == 100.0 and nt[0, 1].item() == 100.0
    assert nv.shape == view.shape and nt.tolist() != tr.tolist()
    assert not np.shares_memory(no.numpy(), n1.numpy())
    assert base[1, 0] == 4.0


# ---------------------------------------------------------------------------------------------
# Import cost, scalar fast paths


def test_import_does_not_load_scipy() -> None:
    code = "import sys, weightwise; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_gelu_without_scipy_matches_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    from weightwise.ops import activation

    x = np.linspace(-4, 4, 41, dtype=np.float32)

    def run():  # type: ignore[no-untyped-def]
        w = ww.tensor(x, requires_grad=True)
        y = ww.nn.functional.gelu(w)
        y.sum().backward()
        return y.detach().numpy(), w.grad.numpy()

    with_scipy = run()
    monkeypatch.setattr(activation, "_erf_impl", [activation._erf])
    without = run()
    t = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.gelu(t)
    yt.sum().backward()
    for a, b, c in zip(with_scipy, without, (yt.detach().numpy(), t.grad.numpy())):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=0)
        np.testing.assert_allclose(b, c, rtol=1e-5, atol=1e-6)  # torch rounds in float32


@pytest.mark.parametrize("op, name", [(lambda t: t + 2.5, "AddBackward0"), (lambda t: t - 2.5, "SubBackward0"),
                                      (lambda t: t * 2.5, "MulBackward0")])
def test_scalar_fast_paths_keep_their_scalar(op, name) -> None:  # type: ignore[no-untyped-def]
    fn = op(ww.ones(2, requires_grad=True)).grad_fn
    assert fn.name() == name and fn.s == 2.5


def test_engine_module_api_unchanged() -> None:
    assert callable(autograd.backward) and callable(autograd.grad)
