"""Shape, indexing and matrix-product ops on edge inputs, against PyTorch.

Each case once differed from PyTorch: empty and 0-d tensors, negative dims and starts,
index arrays beside ints, dtype mixes, non-finite values. `_same` runs one lambda on both
libraries and compares values, dtypes, grad_fn names and the leaves' `.grad` (None included);
pytest turns warnings into errors, so a NumPy RuntimeWarning from an op fails its case.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import weightwise as ww

torch = pytest.importorskip("torch")

inf, nan = float("inf"), float("nan")


def _flat(out: Any) -> list[Any]:
    return [y for x in out for y in _flat(x)] if isinstance(out, (tuple, list)) else [out]


def _np(t: Any) -> np.ndarray:
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return np.asarray(t.numpy())


def _same(fn: Callable[..., Any], *arrays: Any, grad: bool = True) -> list[Any]:
    """fn(lib, *tensors) on both libraries: values, dtypes, grad_fn names, then leaf grads."""
    tin = [torch.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind == "f") for a in arrays]
    win = [ww.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind == "f") for a in arrays]
    tout, wout = _flat(fn(torch, *tin)), _flat(fn(ww, *win))
    assert len(tout) == len(wout)
    for t, w in zip(tout, wout):
        assert str(w.dtype) == str(t.dtype) and tuple(w.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(w).astype(np.float64), _np(t).astype(np.float64), rtol=1e-5, atol=1e-6)
        tn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
        assert (w.grad_fn.name() if w.grad_fn is not None else None) == tn
    outs = [(t, w) for t, w in zip(tout, wout) if t.requires_grad]
    if outs:
        rng = np.random.default_rng(0)
        ups = [rng.uniform(-1, 1, tuple(t.shape)) for t, _ in outs]
        sum(((t * torch.tensor(u, dtype=t.dtype)).sum() for (t, _), u in zip(outs, ups)), torch.zeros(())).backward()
        sum(((w * ww.tensor(u, dtype=w.dtype)).sum() for (_, w), u in zip(outs, ups)), ww.zeros(())).backward()
        for t, w in zip(tin, win):
            assert (w.grad is None) == (t.grad is None)
            if t.grad is not None:
                np.testing.assert_allclose(_np(w.grad), _np(t.grad), rtol=1e-5, atol=1e-6, equal_nan=True)
    return wout


def _raises_as_torch(fn: Callable[..., Any], *arrays: Any) -> None:
    tin = [torch.tensor(a) for a in arrays]
    with pytest.raises(Exception) as te:
        fn(torch, *tin)
    with pytest.raises(type(te.value)):
        fn(ww, *[ww.tensor(a) for a in arrays])


R = np.random.default_rng(1)
X23 = R.standard_normal((2, 3)).astype(np.float32)
X234 = R.standard_normal((2, 3, 4)).astype(np.float32)
V5 = R.standard_normal(5).astype(np.float32)
S0 = np.float32(1.5)

SAME = {
    # movement: PyTorch's node names, 0-d dims
    "squeeze_dims": (lambda L, x: x.squeeze((0, -1)), [X23[None, :, :1]]),
    "transpose_0d": (lambda L, x: x.transpose(0, -1), [S0]),
    "t_0d": (lambda L, x: x.t(), [S0]),
    "t_1d": (lambda L, x: x.t(), [V5]),
    "flip_0d": (lambda L, x: x.flip(0), [S0]),
    # narrow: negative starts, always a slice node
    "narrow_neg": (lambda L, x: x.narrow(0, -2, 2), [V5]),
    "narrow_full": (lambda L, x: x.narrow(0, 0, 5), [V5]),
    # split with a 0-d tensor size
    "split_tensor_size": (lambda L, x: x.split(L.tensor(2)), [V5]),
    # cat: empty inputs get empty gradients, 1-D empties are skipped whatever the dim
    "cat_empty_rows": (lambda L, x, y: L.cat([x, y]), [X23, np.zeros((0, 3), np.float32)]),
    "cat_legacy_empty_dim1": (lambda L, x, y: L.cat([x, y], 1), [np.zeros(0, np.float32), X23]),
    "cat_all_legacy_empty": (lambda L, x, y: L.cat([x, y], 3), [np.zeros(0, np.float32)] * 2),
    # gather: an index smaller than the input off `dim`, int32, 0-d
    "gather_small_index": (lambda L, x, i: x.gather(1, i), [X23, np.array([[2, 0, 0, 1]])]),
    "gather_int32": (lambda L, x, i: x.gather(1, i), [X23, np.array([[1], [2]], np.int32)]),
    "gather_0d_input": (lambda L, x, i: x.gather(0, i), [S0, np.array([0, 0, 0])]),
    "gather_0d_index": (lambda L, x, i: x.gather(0, i), [V5, np.array(3)]),
    "gather_empty": (lambda L, x, i: x.gather(1, i), [X23, np.zeros((0, 0), np.int64)]),
    "index_select_0d": (lambda L, x, i: x.index_select(0, i), [S0, np.array([0])]),
    # masked_fill: a mask may broadcast the input up
    "masked_fill_bigger_mask": (lambda L, x, m: x.masked_fill(m, 2.0), [X23[0], X23 > 0]),
    "masked_fill_bigger_mask_tensor": (lambda L, x, m, v: x.masked_fill(m, v), [X23[0], X23 > 0, S0]),
    # indexing: ints go before index arrays; a tuple inside the key is an index array
    "index_int_slice_array": (lambda L, x: x[0, :, L.tensor([1, 1, 3])], [X234]),
    "index_tuple_in_key": (lambda L, x: x[((0, 0),)], [X23]),
    # matmul: the node names of PyTorch's folding
    "matmul_2d_3d_col": (lambda L, x, y: x @ y, [X23, X234[:, :, :1].copy()]),
    "matmul_batch1_3d": (lambda L, x, y: x @ y, [X23[None], X234]),
    "matmul_2d_3d_nograd": (lambda L, x, y: x.detach() @ y, [X23, X234]),
    # addmm: beta == 0 ignores the bias, alpha == 0 the product
    "addmm_beta0_nan": (lambda L, b, x, y: L.addmm(b, x, y, beta=0), [np.full((2, 4), nan, np.float32), X23, X234[0]]),
    "addmm_alpha0_nan": (lambda L, b, x, y: L.addmm(b, x, y, alpha=0), [X23[:, :2], np.full((2, 3), nan, np.float32), np.ones((3, 2), np.float32)]),
    "addmm_int_float_beta": (lambda L, b, x, y: L.addmm(b, x, y, beta=1.7, alpha=2.9), [np.ones((2, 2), np.int64), np.eye(2, dtype=np.int64), np.eye(2, dtype=np.int64)]),
    # linear: 0-d and (1,) biases, a non-contiguous input, a 1-D weight
    "linear_bias_0d": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [X23, X234[0].T.copy(), S0]),
    "linear_bias_1": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [X23, X234[0].T.copy(), np.ones(1, np.float32)]),
    "linear_bias_0d_3d": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [X234.transpose(0, 2, 1).copy(), X234[0].T.copy(), S0]),
    "linear_noncontig": (lambda L, x, w, b: L.nn.functional.linear(x.mT, w, b), [X234, X234[0].T.copy(), V5[:4]]),
    "linear_weight_1d": (lambda L, x, w: L.nn.functional.linear(x, w), [X23, V5[:3]]),
    # non-finite values: the IEEE result, no NumPy warning, forward and backward
    "matmul_inf": (lambda L, x, y: x @ y, [np.array([[inf, 1.0], [0.0, -inf]], np.float32)] * 2),
    "matmul_batched_inf": (lambda L, x, y: x @ y, [np.array([[[inf, 1.0], [0.0, -inf]]] * 2, np.float32), np.eye(2, dtype=np.float32)]),
    "linear_inf": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [np.array([[inf, -inf]] * 2, np.float32), np.ones((3, 2), np.float32), np.zeros(3, np.float32)]),
    "addmm_overflow_grad_sign": (lambda L, b, x, y: L.addmm(b, x, y, alpha=1e30), [np.zeros(2, np.float32), np.full((2, 2), 1e20, np.float32), np.full((2, 2), 1e20, np.float32)]),
}


@pytest.mark.parametrize("name", list(SAME))
def test_same_as_torch(name: str) -> None:
    fn, arrays = SAME[name]
    _same(fn, *arrays)


def test_matmul_bfloat16_keeps_its_dtype() -> None:
    x = ww.ones(2, 3, dtype=ww.bfloat16, requires_grad=True)
    y = x @ ww.ones(3, 2, dtype=ww.bfloat16)
    y.sum().backward()
    assert y.dtype == ww.bfloat16 and x.grad is not None and x.grad.dtype == ww.bfloat16


RAISES = {
    "view_float_size": (lambda L, x: x.view(2.0, 3), [X23]),
    "unflatten_minus1_beside_0": (lambda L, x: x.unflatten(0, (0, -1)), [np.zeros(0, np.float32)]),
    "mT_1d": (lambda L, x: x.mT, [V5]),
    "narrow_past_end": (lambda L, x: x.narrow(0, 3, 3), [V5]),
    "narrow_start_out_of_range": (lambda L, x: x.narrow(0, -6, 1), [V5]),
    "narrow_negative_length": (lambda L, x: x.narrow(0, 1, -1), [V5]),
    "narrow_0d": (lambda L, x: x.narrow(0, 0, 1), [S0]),
    "chunk_0d": (lambda L, x: x.chunk(1), [S0]),
    "split_0d": (lambda L, x: x.split(1), [S0]),
    "split_negative_size": (lambda L, x: x.split([6, -1]), [V5]),
    "cat_no_tensors": (lambda L: L.cat([]), []),
    "cat_a_tensor": (lambda L, x: L.cat(x), [X23]),
    "stack_dim_before_shapes": (lambda L, x, y: L.stack([x, y], 5), [V5, V5[:3]]),
    "gather_negative": (lambda L, x, i: x.gather(1, i), [X23, np.array([[-1]])]),
    "gather_past_end": (lambda L, x, i: x.gather(1, i), [X23, np.array([[3]])]),
    "gather_index_too_big": (lambda L, x, i: x.gather(1, i), [X23, np.zeros((3, 1), np.int64)]),
    "index_select_negative": (lambda L, x, i: x.index_select(0, i), [X23, np.array([-1])]),
    "index_select_float": (lambda L, x, i: x.index_select(0, i), [X23, np.array([0.0])]),
    "index_int8": (lambda L, x, i: x[i], [X23, np.array([1], np.int8)]),
    "index_negative_step": (lambda L, x: x[::-1], [X23]),
    "masked_fill_overflow": (lambda L, x, m: x.masked_fill(m, 1e6), [X23.astype(np.float16), X23 > 0]),
    "masked_fill_inplace_bigger_mask": (lambda L, x, m: x.masked_fill_(m, 0.0), [X23[0], X23 > 0]),
    "matmul_mixed_dtypes": (lambda L, x, y: x @ y, [X23, X234[0].astype(np.float64)]),
    "matmul_bool": (lambda L, x, y: x @ y, [X23 > 0, X234[0] > 0]),
    "matmul_number": (lambda L, x: x @ 2.0, [X23]),
    "dot_mixed_dtypes": (lambda L, x, y: L.dot(x, y), [V5, V5.astype(np.float64)]),
    "addmm_mixed_dtypes": (lambda L, b, x, y: L.addmm(b, x, y), [np.zeros(4), X23, X234[0]]),
    "linear_bias_dtype": (lambda L, x, w, b: L.nn.functional.linear(x, w, b), [X23, X234[0].T.copy(), np.zeros(4)]),
}


@pytest.mark.parametrize("name", list(RAISES))
def test_raises_as_torch(name: str) -> None:
    fn, arrays = RAISES[name]
    _raises_as_torch(fn, *arrays)


def test_nonzero_of_0d_has_no_coordinates() -> None:
    for v in (True, False):
        assert tuple(ww.tensor(v).nonzero().shape) == tuple(torch.tensor(v).nonzero().shape)


def test_uint8_index_is_a_mask() -> None:
    m = np.array([1, 0], np.uint8)
    with pytest.warns(UserWarning, match="uint8"):
        got = ww.tensor(X23)[ww.tensor(m)]
    np.testing.assert_array_equal(got.numpy(), X23[m.astype(bool)])


def _setitem(key: Callable[[Any], Any], value: Any = None) -> Callable[..., Any]:
    def fn(lib: Any, x: Any, *v: Any) -> Any:
        y = x * 1
        y[key(lib)] = v[0] if v else value
        return y

    return fn


SETITEM = {
    "advanced_is_index_put": (_setitem(lambda L: L.tensor([0, 0])), [X23, V5[:3]]),
    "mask_is_index_put": (_setitem(lambda L: L.tensor([True, False])), [X23, V5[:3]]),
    "int_then_array_is_copy_slices": (_setitem(lambda L: (0, slice(None), L.tensor([1, 3]))), [X234, X23.T.copy()]),
    "value_with_leading_ones": (_setitem(lambda L: 0), [X23, X23[None, :1]]),
    "float16_overflow_is_inf": (_setitem(lambda L: 0, 1e6), [X23.astype(np.float16)]),
}


@pytest.mark.parametrize("name", list(SETITEM))
def test_setitem_as_torch(name: str) -> None:
    fn, arrays = SETITEM[name]
    _same(fn, *arrays)


@pytest.mark.parametrize("dtype, value", [(np.int64, nan), (np.int64, inf), (np.int8, 1000), (np.float32, 1e39)])
def test_setitem_number_that_does_not_fit(dtype: Any, value: Any) -> None:
    _raises_as_torch(lambda L, x: x.__setitem__(0, value), np.zeros(3, dtype))
