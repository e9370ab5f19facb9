"""Autograd semantics, in-place ops and the version counter, grad modes, anomaly mode."""

from __future__ import annotations

import numpy as np
import pytest

import weightwise as ww
from weightwise import autograd

from .helpers import check_op

torch = pytest.importorskip("torch")


def both(fn):  # type: ignore[no-untyped-def]
    return fn(ww), fn(torch)


def close(a, b, tol=1e-6):  # type: ignore[no-untyped-def]
    np.testing.assert_allclose(np.asarray(a.detach().numpy(), dtype=np.float64),
                               np.asarray(b.detach().numpy(), dtype=np.float64), rtol=tol, atol=tol)


# ---------------------------------------------------------------------------------------------
# backward()


def test_backward_gradient_for_non_scalar() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = x * x
        y.backward(gradient=lib.tensor([[1.0, 0.5], [0.0, -1.0]]))
        return x.grad

    close(*both(run))


def test_backward_non_scalar_without_gradient_raises() -> None:
    x = ww.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_tied_use_sums_gradients() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        w = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        x = lib.tensor([[1.0, 2.0]])
        y = (x @ w.t()) @ w.t()  # the same parameter used twice (tied)
        (y.sum() + (w * w).sum()).backward()
        return w.grad

    close(*both(run))


def test_grads_accumulate_across_backward_calls() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x * 3).sum().backward()
        g = x.grad
        (x * x).sum().backward()
        assert x.grad is g  # accumulated in place, the same tensor object
        return x.grad

    close(*both(run))


def test_retain_graph_and_second_backward_error() -> None:
    x = ww.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = (tx.exp() * tx).sum()
    ty.backward(retain_graph=True)
    ty.backward()
    close(x.grad, tx.grad)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        ty.backward()


def test_retain_grad() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = x * 2
        h.retain_grad()
        assert h.retains_grad
        (h.relu() ** 2).sum().backward()
        return h.grad

    close(*both(run))
    x = ww.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):  # as PyTorch
        assert (x * 2).grad is None


def test_autograd_grad_allow_unused() -> None:
    x = ww.tensor([1.0, 2.0], requires_grad=True)
    z = ww.tensor([3.0], requires_grad=True)
    y = (x**2).sum()
    gx, gz = autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gz is None
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])
    assert x.grad is None  # grad() does not touch .grad
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        autograd.grad(y, [x, z])


def test_autograd_grad_non_leaf_input() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x.sin()
        y = (h * h).sum()
        return lib.autograd.grad(y, h)[0]

    close(*both(run))


def test_backward_inputs_argument() -> None:
    x = ww.tensor([1.0, 2.0], requires_grad=True)
    z = ww.tensor([3.0, 4.0], requires_grad=True)
    (x * z).sum().backward(inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    assert z.grad is None


def test_grad_of_int_tensor_and_no_grad_output() -> None:
    for lib in (ww, torch):
        with pytest.raises(RuntimeError, match="floating point"):
            lib.tensor([1, 2], requires_grad=True)
        with pytest.raises(RuntimeError, match="floating point"):
            lib.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            lib.tensor([1.0, 2.0]).sum().backward()


def test_hooks() -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * 10)
        h = x * 3
        h.register_hook(lambda g: g + 1)
        (h * h).sum().backward()
        return x.grad

    close(*both(run))


def test_deep_chain_no_recursion_error() -> None:
    x = ww.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad is not None and x.grad.item() == 1.0


def test_fan_out_fan_in_graph() -> None:
    check_op(lambda lib, x: sum([(x * i).sin() for i in range(1, 6)], x.cos()), [(3,)], "float64")


# ---------------------------------------------------------------------------------------------
# Grad modes


def test_grad_modes_as_context_managers() -> None:
    x = ww.ones(2, requires_grad=True)
    with ww.no_grad():
        assert not (x * 2).requires_grad
        assert not ww.is_grad_enabled()
        with ww.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with ww.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ww.is_grad_enabled()
    with ww.inference_mode():
        assert not (x * 2).requires_grad
    with ww.inference_mode(False):
        assert (x * 2).requires_grad
    ww.set_grad_enabled(False)
    assert not ww.is_grad_enabled()
    ww.set_grad_enabled(True)
    assert ww.is_grad_enabled()


def test_grad_modes_as_decorators() -> None:
    x = ww.ones(2, requires_grad=True)

    @ww.no_grad()
    def f() -> object:
        return x * 2

    @ww.enable_grad()
    def g() -> object:
        return x * 2

    @ww.inference_mode()
    def h() -> object:
        return x * 2

    @ww.set_grad_enabled(False)
    def k() -> object:
        return x * 2

    assert not f().requires_grad  # type: ignore[attr-defined]
    assert not h().requires_grad  # type: ignore[attr-defined]
    assert not k().requires_grad  # type: ignore[attr-defined]
    assert ww.is_grad_enabled()
    with ww.no_grad():
        assert g().requires_grad  # type: ignore[attr-defined]
    assert ww.no_grad()(lambda: 1)() == 1


def test_grad_mode_restored_after_exception() -> None:
    with pytest.raises(ValueError):
        with ww.no_grad():
            raise ValueError
    assert ww.is_grad_enabled()


# ---------------------------------------------------------------------------------------------
# .data, detach


def test_data_shares_memory_outside_graph() -> None:
    x = ww.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5.0  # allowed: outside the graph, no version bump on x
    assert x[0].item() == 5.0
    y = (x * x).sum()
    x.data.mul_(2)  # changing .data does not invalidate saved tensors (as in PyTorch)
    y.backward()
    det = x.detach()
    assert np.shares_memory(det._a, x._a) and not det.requires_grad
    x.data = ww.tensor([7.0, 8.0])
    assert x.tolist() == [7.0, 8.0] and x.requires_grad


# ---------------------------------------------------------------------------------------------
# In-place ops and the version counter


def test_inplace_on_leaf_requiring_grad_raises() -> None:
    msg = "a leaf Variable that requires grad is being used in an in-place operation."
    for op in (lambda t: t.add_(1), lambda t: t.mul_(2), lambda t: t.__iadd__(1), lambda t: t.zero_(),
               lambda t: t.fill_(1.0), lambda t: t.clamp_(0, 1), lambda t: t.copy_(ww.zeros(3)),
               lambda t: t.__setitem__(0, 1.0), lambda t: t.uniform_(), lambda t: t.normal_()):
        x = ww.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            op(x)
        assert str(e.value) == msg
    tx = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as te:
        tx.add_(1)
    assert str(te.value) == msg
    # A view of such a leaf
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        ww.ones(3, requires_grad=True)[:2].mul_(2)
    # Under no_grad it is allowed (the optimizer's step)
    x = ww.ones(3, requires_grad=True)
    with ww.no_grad():
        x -= 0.5 * ww.ones(3)
        x.mul_(2).add_(1).clamp_(0, 1.5).zero_()
        x[0] = 3.0
    assert x.tolist() == [3.0, 0.0, 0.0] and x.is_leaf and x.requires_grad


def test_modified_saved_tensor_raises_at_backward() -> None:
    for lib in (ww, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        y = h * h  # saves h
        h.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    # Saved output (exp saves its result)
    x = ww.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # Modifying a view bumps the base's version
    x = ww.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h.sin()
    h[0:1].mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_version_counter() -> None:
    x = ww.zeros(3)
    v = x[1:]
    assert x._version == 0
    x.add_(1)
    v.mul_(2)
    x[0] = 2.0
    assert x._version == v._version == 3
    assert x.tolist() == [2.0, 2.0, 2.0]


INPLACE = {
    "add_": (lambda t, o: t.add_(o), lambda x, o: x + o),
    "sub_": (lambda t, o: t.sub_(o), lambda x, o: x - o),
    "mul_": (lambda t, o: t.mul_(o), lambda x, o: x * o),
    "div_": (lambda t, o: t.div_(o), lambda x, o: x / o),
    "iadd": (lambda t, o: t.__iadd__(o), lambda x, o: x + o),
    "isub": (lambda t, o: t.__isub__(o), lambda x, o: x - o),
    "imul": (lambda t, o: t.__imul__(o), lambda x, o: x * o),
    "itruediv": (lambda t, o: t.__itruediv__(o), lambda x, o: x / o),
}


@pytest.mark.parametrize("name", list(INPLACE))
@pytest.mark.parametrize("other", ["scalar", "tensor", "broadcast"])
def test_inplace_values_and_gradients(name: str, other: str) -> None:
    op, _ = INPLACE[name]

    def fn(lib, x, w):  # type: ignore[no-untyped-def]
        h = x * 1.0  # a non-leaf, so in-place is allowed and recorded
        o = 1.5 if other == "scalar" else (w if other == "tensor" else w[0])
        r = op(h, o)
        assert r is h
        return h

    check_op(fn, [(2, 3), (2, 3)], "float64", away=(0.0,), check_names=False)


def test_inplace_grad_fn_names() -> None:
    def names(lib):  # type: ignore[no-untyped-def]
        x = lib.ones(3, requires_grad=True)
        out = []
        for op in (lambda h: h.add_(1), lambda h: h.mul_(2), lambda h: h.clamp_(0, 1),
                   lambda h: h.__setitem__(0, 1.0), lambda h: h.copy_(lib.zeros(3)), lambda h: h.zero_()):
            h = x * 1
            op(h)
            out.append(type(h.grad_fn).__name__ if lib is torch else h.grad_fn.name())
        return out

    ours, theirs = both(names)
    assert ours == theirs


def test_setitem_with_gradients() -> None:
    def fn(lib, x, v):  # type: ignore[no-untyped-def]
        h = x * 1.0
        h[0, 1:] = v[0, 1:] * 2
        h[h > 1.5] = 0.0
        return h

    check_op(fn, [(3, 4), (3, 4)], "float64", away=(1.5,), check_names=False)


def test_inplace_int_float_cast_error() -> None:
    for lib in (ww, torch):
        x = lib.tensor([1, 2])
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            x += lib.tensor([0.5, 0.5])
        with pytest.raises(RuntimeError, match="can't be cast"):
            x /= 2
    x = ww.tensor([1, 2])
    x += 1
    x *= ww.tensor([2, 3])
    assert x.tolist() == [4, 9] and x.dtype == ww.int64


def test_inplace_shape_error() -> None:
    for lib in (ww, torch):
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            lib.zeros(3).add_(lib.ones(2, 3))
        with pytest.raises(RuntimeError, match="must match the size"):
            lib.zeros(3).add_(lib.ones(2))


# ---------------------------------------------------------------------------------------------
# Anomaly mode


def test_anomaly_names_forward_op() -> None:
    x = ww.tensor([-1.0, 1.0], requires_grad=True)
    with autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="'SqrtBackward0' returned nan"):
            x.sqrt()
    assert not autograd.is_anomaly_enabled()
    x.sqrt()  # without anomaly mode: NaN flows silently


def test_anomaly_names_backward_op() -> None:
    x = ww.tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt()  # finite forward, infinite gradient at 0
    with autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="'SqrtBackward0' returned inf"):
            y.sum().backward()
    autograd.set_detect_anomaly(True)
    try:
        with pytest.raises(RuntimeError, match="LogBackward0"):
            (ww.tensor([0.0, 1.0], requires_grad=True) - 1).log()
    finally:
        autograd.set_detect_anomaly(False)


@pytest.mark.parametrize("value", ["a", "int64", "shape", "float64"])
def test_assigning_a_wrong_grad_raises_as_torch(value) -> None:
    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.ones(2, requires_grad=True)
        v = {"a": "a", "int64": lib.ones(2, dtype=lib.int64), "shape": lib.ones(2, 2),
             "float64": lib.ones(2, dtype=lib.float64)}[value]
        try:
            x.grad = v
        except (TypeError, RuntimeError) as e:
            return type(e), str(e)
        return None

    assert run(ww) == run(torch)


def test_grad_attribute_of_leaves_and_retained_non_leaves_is_quiet() -> None:
    import warnings

    x = ww.ones(2, requires_grad=True)
    y = x * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None
        y.retain_grad()
        assert y.grad is None
        y.grad = ww.ones(2)  # a non-leaf may be given a gradient, as in PyTorch
        assert (x * 2).detach().grad is None  # detached: a leaf again
    x.grad = ww.full((2,), 5.0)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]  # accumulated into the assigned gradient


def test_float_of_a_tensor_in_the_graph_warns_as_torch() -> None:
    x = ww.ones(1, requires_grad=True)
    with pytest.warns(UserWarning, match="requires_grad=True to a scalar"):
        assert float(x * 2) == 2.0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(x) == 1.0 and (x * 2).item() == 2.0 and int(x * 2) == 2  # quiet, as in PyTorch


@pytest.mark.parametrize("convert", [float, int, bool, lambda t: t.item()])
def test_converting_a_many_element_tensor_raises_as_torch(convert) -> None:
    with pytest.raises(Exception) as et:
        convert(torch.ones(2))
    with pytest.raises(Exception) as ew:
        convert(ww.ones(2))
    assert type(ew.value) is type(et.value) and str(ew.value) == str(et.value)


def _consumer_before_inplace(lib):  # type: ignore[no-untyped-def]
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    w = y * 3  # recorded before the in-place op: its gradient must not pass through mul_
    y.mul_(5)
    (w + y).sum().backward()
    return [x.grad]


def _setitem_through_view(lib):  # type: ignore[no-untyped-def]
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], requires_grad=True)
    v = lib.tensor([10.0, 20.0], requires_grad=True)
    y = x * 2
    z = y[1:3]
    z[:, 0] = v * 3
    (y * lib.tensor([[1.0], [2.0], [3.0], [4.0]])).sum().backward()
    return [y.detach(), x.grad, v.grad]


def _inplace_on_narrow(lib):  # type: ignore[no-untyped-def]
    x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 1
    y.narrow(0, 1, 2).mul_(2)
    (y * lib.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    return [y.detach(), x.grad]


def _inplace_on_transposed_view_of_no_grad_base(lib):  # type: ignore[no-untyped-def]
    x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = lib.zeros(3, 2)
    y.t()[0].copy_(x[1] * x[0])  # the base had no grad: it gains one through the view
    (y * lib.arange(6.0).reshape(3, 2)).sum().backward()
    return [y.detach(), x.grad]


@pytest.mark.parametrize("case", [_consumer_before_inplace, _setitem_through_view, _inplace_on_narrow,
                                  _inplace_on_transposed_view_of_no_grad_base])
def test_inplace_ops_keep_gradients_as_torch(case) -> None:
    for a, b in zip(case(ww), case(torch)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_base_written_through_a_view_records_copyslices() -> None:
    for lib in (ww, torch):
        x = lib.ones(4, requires_grad=True)
        y = x * 2
        y[1:3].mul_(3)
        assert type(y.grad_fn).__name__ == "CopySlices" if lib is torch else y.grad_fn.name() == "CopySlices"


def test_summing_gradients_of_several_uses_is_quiet_for_inf_minus_inf() -> None:
    import warnings

    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 1  # a non-leaf used twice: its node sums the two gradients
        plus, minus = lib.tensor([float("inf"), 1.0]), lib.tensor([float("-inf"), 1.0])
        ((h * plus).sum() + (h * minus).sum() + (x * plus).sum() + (x * minus).sum()).backward()
        return x.grad

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run(ww)
    np.testing.assert_array_equal(got.numpy(), run(torch).numpy())  # [nan, 2.]


def test_casts_out_of_range_are_quiet_as_torch() -> None:
    import warnings

    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.tensor([1e5, 1.0], requires_grad=True)
        y = x.half()  # 1e5 overflows float16: inf
        (y.float() * 1e6).sum().backward()  # the gradient 1e6 overflows float16 on its way back
        return [y.float(), x.grad]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run(ww)
    for a, b in zip(got, run(torch)):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_broadcast_gradients_sum_in_float32_for_bfloat16_and_quietly() -> None:
    import warnings

    def run(lib):  # type: ignore[no-untyped-def]
        x = lib.ones(1, dtype=lib.bfloat16, requires_grad=True)
        (x * lib.ones(1000, dtype=lib.bfloat16)).sum().backward()  # 1000, not bfloat16's 256
        b = lib.tensor([1.0], requires_grad=True)
        (b * lib.tensor([float("inf"), float("-inf")])).sum().backward()  # nan, without a warning
        return [x.grad.float(), b.grad]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run(ww)
    for a, b in zip(got, run(torch)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
