"""Elementwise, comparison, activation, reduction and softmax ops on edge inputs, against PyTorch.

Each case once differed from PyTorch: NaN/Inf/-0 values, 0-d and empty tensors, int, bool,
float16 and bfloat16 dtypes, broadcasting errors. `same` runs one lambda on both libraries and
compares values, dtypes, shapes, `grad_fn` names and the gradients of float inputs. Warnings are
errors in this suite, so a NumPy RuntimeWarning where PyTorch is silent fails the case.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import pytest

import weightwise as ww

torch = pytest.importorskip("torch")

inf, nan = float("inf"), float("nan")
SPECIAL = [0.0, -0.0, 1.0, -1.5, inf, -inf, nan, 3e38, -3e38, 1e-30]


def _make(lib: Any, v: Any, dt: str, grad: bool) -> Any:
    if dt in ("float32", "float64", "float16", "bfloat16"):
        t = lib.tensor(np.asarray(v, dtype=np.float64)).to(getattr(lib, dt))
    else:
        t = lib.tensor(np.asarray(v).astype(dt))
    return t.requires_grad_(True) if grad and t.is_floating_point() else t


def _np(t: Any) -> np.ndarray:
    t = t.detach()
    if t.is_floating_point():
        t = t.double()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _flat(out: Any) -> list:
    return [o for x in out for o in _flat(x)] if isinstance(out, (tuple, list)) else [out]


def same(fn: Callable[..., Any], *args: tuple, grad: bool = True, rtol: float = 1e-6) -> None:
    """`fn(lib, *tensors)` on both libraries; each arg is (values, dtype)."""
    tin = [_make(torch, v, dt, grad) for v, dt in args]
    win = [_make(ww, v, dt, grad) for v, dt in args]
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        touts = _flat(fn(torch, *tin))
    with warnings.catch_warnings(record=True) as ours:  # only warnings that PyTorch gives too
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)  # NumPy's, as under -W error
        wouts = _flat(fn(ww, *win))
    assert {type(w.message) for w in ours} <= {type(w.message) for w in theirs}, [str(w.message) for w in ours]
    assert len(touts) == len(wouts)
    for t, w in zip(touts, wouts):
        assert str(w.dtype) == str(t.dtype) and tuple(w.shape) == tuple(t.shape), (w, t)
        if t.is_floating_point():
            np.testing.assert_allclose(_np(w), _np(t), rtol=rtol, atol=1e-30, equal_nan=True)
        else:
            np.testing.assert_array_equal(_np(w), _np(t))
        tn = type(t.grad_fn).__name__ if t.grad_fn is not None else None
        assert (w.grad_fn.name() if w.grad_fn is not None else None) == tn
    diff = [(w, t) for w, t in zip(wouts, touts) if t.requires_grad]
    if not diff:
        return
    # Upstream gradients of both signs, none zero.
    ups = [(np.linspace(0.5, 1.5, t.numel()) * (-1.0) ** np.arange(t.numel())).reshape(tuple(t.shape)) for _, t in diff]
    ti = [x for x in tin if x.requires_grad]
    wi = [x for x in win if x.requires_grad]
    tg = torch.autograd.grad([t for _, t in diff], ti, [torch.tensor(u).to(t.dtype) for u, (_, t) in zip(ups, diff)],
                             allow_unused=True)
    wg = ww.autograd.grad([w for w, _ in diff], wi, [ww.tensor(u).to(w.dtype) for u, (w, _) in zip(ups, diff)],
                          allow_unused=True)
    for a, b in zip(wg, tg):
        np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=1e-30, equal_nan=True)


def raises_like(fn: Callable[..., Any], *args: tuple) -> None:
    """PyTorch raises: so must we, with the same exception type (or a subclass)."""
    with pytest.raises(Exception) as te:
        fn(torch, *[_make(torch, v, dt, False) for v, dt in args])
    with pytest.raises(type(te.value)):
        fn(ww, *[_make(ww, v, dt, False) for v, dt in args])


# ---------------------------------------------------------------------------------------------
# Silent inf and nan: PyTorch gives them without a word, NumPy warns (an error here)

QUIET = {
    "add": lambda L, x: x + x.flip(0), "sub": lambda L, x: x - x, "mul": lambda L, x: x * L.tensor(SPECIAL[4:] + SPECIAL[:4]),
    "add_inf": lambda L, x: x + inf, "mul_num": lambda L, x: x * 2, "div_num": lambda L, x: x / 1e-30,
    "rdiv": lambda L, x: 0 / x, "square": lambda L, x: x**2, "pow_t": lambda L, x: x ** x.flip(0),
    "sin": lambda L, x: L.sin(x), "cos": lambda L, x: L.cos(x), "floor_div": lambda L, x: L.div(x, x, rounding_mode="floor"),
    "mod": lambda L, x: x % x.flip(0), "sum": lambda L, x: x.sum(), "mean": lambda L, x: x.mean(),
    "cumsum": lambda L, x: x.cumsum(0), "softmax": lambda L, x: L.softmax(x[:6], 0), "log_softmax": lambda L, x: L.log_softmax(x[:6], 0),
    "var": lambda L, x: x[7:9].var(), "norm": lambda L, x: x.norm(), "norm3": lambda L, x: x.norm(3), "lse": lambda L, x: L.logsumexp(x, 0),
    "prod": lambda L, x: x.detach()[7:].prod(),  # NOTE: the gradient differs on purpose (see ProdBackward0) "max": lambda L, x: x.max(), "amax": lambda L, x: x.amax(),
    "silu": lambda L, x: L.nn.functional.silu(x), "softplus": lambda L, x: L.nn.functional.softplus(x, beta=2),
    "gelu_tanh": lambda L, x: L.nn.functional.gelu(x[:7], approximate="tanh"),
}


@pytest.mark.parametrize("name", list(QUIET))
def test_inf_and_nan_are_silent(name: str) -> None:
    same(QUIET[name], (SPECIAL, "float32"))


@pytest.mark.parametrize("name", ["lt", "eq", "maximum", "clamp", "sigmoid", "max", "leaky_relu", "relu_grad"])
def test_bfloat16_nan_is_silent(name: str) -> None:
    # eq: 0.1 is compared as bfloat16, as PyTorch does (not as float32, where they differ)
    fn = {"lt": lambda L, x: x < x.flip(0), "eq": lambda L, x: x == 0.1, "maximum": lambda L, x: L.maximum(x, x.flip(0)),
          "clamp": lambda L, x: x.clamp(0, 1), "sigmoid": lambda L, x: L.sigmoid(x),
          "max": lambda L, x: x.max(), "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x),
          "relu_grad": lambda L, x: L.relu(x)}[name]
    same(fn, ([1.0, nan, -2.0, 0.1], "bfloat16"), rtol=1e-2)


def test_inplace_without_graph_is_silent() -> None:
    same(lambda L, x: (x.clone().mul_(inf), x.clone().div_(0.0), x.clone().sub_(inf)), ([0.0, 1.0, inf], "float32"), grad=False)
    same(lambda L, x: x.clone().add_(1e38), ([0.0, 1.0], "float16"), grad=False)


# ---------------------------------------------------------------------------------------------
# Values, dtypes, grad_fn names and gradients at the corners

CASES: dict[str, tuple[Callable[..., Any], list[tuple]]] = {
    # sign(nan) is 0 and sign(-0) is +0; abs has gradient 0 at nan
    "sign": (lambda L, x: L.sign(x), [(SPECIAL, "float32")]),
    "abs_grad": (lambda L, x: L.abs(x), [(SPECIAL, "float32")]),
    "sign_bool": (lambda L, x: L.sign(x), [([True, False], "bool")]),
    # a Python float never turns bfloat16 into float32
    "rsqrt_bf16": (lambda L, x: L.rsqrt(x), [([4.0, 0.25], "bfloat16")]),
    "hardtanh_bf16": (lambda L, x: L.nn.functional.hardtanh(x, -0.5, 0.5), [([-2.0, 0.25, 3.0], "bfloat16")]),
    "sub_alpha_bf16": (lambda L, x: L.sub(x, x, alpha=0.5), [([1.0, 2.0], "bfloat16")]),
    "add_alpha_bool": (lambda L, x: L.add(x, x, alpha=2), [([True, False], "bool")]),
    # NaN passes the gradient of relu and of float32 elu; maximum/minimum give it to both inputs
    "relu_nan": (lambda L, x: L.relu(x), [([nan, -1.0, 2.0, 0.0], "float32")]),
    "elu_nan": (lambda L, x: L.nn.functional.elu(x), [([nan, -1.0, 2.0, 0.0], "float32")]),
    "maximum_nan": (lambda L, x, y: L.maximum(x, y), [([nan, 1.0, 2.0], "float32"), ([0.0, nan, 2.0], "float32")]),
    "minimum_nan": (lambda L, x, y: L.minimum(x, y), [([nan, 1.0, 2.0], "float32"), ([0.0, nan, 2.0], "float32")]),
    "max_nan_grad": (lambda L, x: x.max(), [([1.0, nan, 3.0, nan], "float32")]),
    "reciprocal_order": (lambda L, x: inf / x, [([1e30, 2.0], "float32")]),
    # clamp with tensor bounds: promotion, integer inputs, lo > hi
    "clamp_t_int": (lambda L, x, y: L.clamp(x, min=y), [([1, -5, 7], "int64"), ([0, 0, 9], "int64")]),
    "clamp_t_max_int": (lambda L, x, y: L.clamp(x, max=y), [([1, -5, 7], "int32"), ([0, 0, 9], "int64")]),
    "clamp_t_promote": (lambda L, x, y: L.clamp(x, y, y + 1), [([0.5, -2.0, 3.0, nan], "float32"), ([0.0, inf, 1.0, 1.0], "float64")]),
    "clamp_t_lo_gt_hi": (lambda L, x, lo, hi: L.clamp(x, lo, hi), [([0.5, -5.0, 3.0], "float32"), ([0.0, 0.0, 1.0], "float32"),
                                                                   ([-1.0, -1.0, 0.0], "float32")]),
    "clamp_bool_int": (lambda L, x: L.clamp(x, min=2), [([True, False], "bool")]),
    "clamp_uint8_wrap": (lambda L, x: L.clamp(x, 1, -1), [([0, 5, 200], "uint8")]),
    # powers: integer results, PyTorch's masks in the gradients, sqrt for 0.5
    "int_pow_negative": (lambda L, x, y: x**y, [([2, 1, -1, 0, -1, 3], "int64"), ([-1, -1, -1, -1, -2, 3], "int64")]),
    "rpow_int": (lambda L, x: 2**x, [([-1, 0, 3], "int64")]),
    "rpow_bool": (lambda L, x: 2**x, [([True, False], "bool")]),
    "rpow_zero_base": (lambda L, x: 0**x, [([-1.0, 0.0, 2.0], "float32")]),
    "rpow_negative_base": (lambda L, x: (-2.5) ** x, [([-inf, 2.0], "float32")]),
    "pow_half": (lambda L, x: (x**0.5, x**-0.5, x**1.5), [([-inf, 4.0, 0.25], "float32")]),
    "bool_square": (lambda L, x: (x**2, L.square(x)), [([True, False], "bool")]),
    # rounding division: a zero-gradient node, Python's float floor division, exact integers
    "div_floor_grad": (lambda L, x, y: L.div(x, y, rounding_mode="floor"), [([inf, -1.0, 7.0], "float32"), ([2.0, inf, -2.0], "float32")]),
    "div_trunc_grad": (lambda L, x: L.div(x, 2.5, rounding_mode="trunc"), [([-7.0, 7.0], "float64")]),
    "div_trunc_int": (lambda L, x, y: L.div(x, y, rounding_mode="trunc"), [([7, -7, 7, -7, 9007199254740993], "int64"), ([2, 2, -2, -2, 3], "int64")]),
    "floordiv_empty_zero": (lambda L, x: x // 0, [(np.zeros(0), "int64")]),
    "rfloordiv": (lambda L, x: (2.5 // x, 7 // x), [([2, -3], "int64")]),
    # comparisons in the tensor's dtype; bitwise ops keep it
    "eq_float32_number": (lambda L, x: x == 1e30, [([1e30, 1.0], "float32")]),
    "bitwise_int8": (lambda L, x: (x & 3, x | 4), [([1, 2], "int8")]),
    "where_uint8": (lambda L, c: L.where(c.to(L.uint8), 1.0, 0.0), [([True, False], "bool")]),
    # reductions over a 0-d tensor's dim 0, and over one element
    "sum_0d": (lambda L, x: (x.sum(0), x.sum(-1, keepdim=True), x.mean(0)), [(2.0, "float32")]),
    "stats_0d": (lambda L, x: (x.prod(0), x.norm(dim=0), L.logsumexp(x, 0), x.amax(0), x.var(0, correction=0)), [(2.0, "float32")]),
    "max_0d": (lambda L, x: (x.max(0), x.min(-1, keepdim=True)), [(2.0, "float32")]),
    "bool_0d": (lambda L, x: (x.all(0), x.any(-1), L.count_nonzero(x, 0)), [(True, "bool")]),
    "var_no_dof": (lambda L, x: (x.var(0, correction=3), x[1:].var(0, correction=2)), [([3.0, 4.0], "float32")]),
    # var/std accumulate in double: no overflow at 3e38, no underflow at 1e-30
    "std_wide": (lambda L, x: (x.std(0), x.var(0), x[:, 0].std()), [([[1e-30, 3e38], [-1e-30, 3e38], [0.0, 0.0]], "float32")]),
    # norms: NaN in the inf-norm, zeros in p < 1
    "norm_inf_nan": (lambda L, x: (x.norm(inf), x.norm(1)), [([1.0, nan, -3.0], "float32")]),
    "norm_half": (lambda L, x: (x.norm(0.5), x.norm(-1)), [([1.0, 0.0, -4.0], "float32")]),
    "all_any_uint8": (lambda L, x: (x.all(), x.any(0)), [([1, 2, 0], "uint8")]),
    "cumsum_dtype": (lambda L, x: (x.cumsum(0, dtype=L.float64), x.cumsum(0)), [([1.0, -1.0 / 3, 2.5], "float32")]),
    "cumsum_0d_int": (lambda L, x: x.cumsum(0), [(True, "bool")]),
    # narrow floats accumulate in float32: 1000 bfloat16 ones add up to 1000, not 256
    "bf16_sums": (lambda L, x: (x.sum(), x.mean(), x.cumsum(0)[-1], L.softmax(x, 0)[0] * 1000, x.var(), L.logsumexp(x, 0)),
                  [(np.ones(1000), "bfloat16")]),
    "fp16_mean": (lambda L, x: (x.mean(), x.std(), x.norm()), [([60000.0, 60000.0], "float16")]),
    "softmax_0d": (lambda L, x: (L.softmax(x, 0), L.log_softmax(x, -1)), [(2.0, "float32")]),
    "hardtanh_int": (lambda L, x: L.nn.functional.hardtanh(x, -2.5, 0.5), [([-3, 0, 3], "int64")]),
    "hardtanh_uint8": (lambda L, x: L.nn.functional.hardtanh(x, 0.0, 2.0), [([0, 5], "uint8")]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_like_pytorch(name: str) -> None:
    fn, args = CASES[name]
    same(fn, *args, rtol=1e-2 if "bf16" in name or "fp16" in name else 1e-6)


RAISES: dict[str, tuple[Callable[..., Any], list[tuple]]] = {
    "sub_bool_float": (lambda L, x, y: x - y, [([True], "bool"), ([1.0], "float32")]),
    "sub_float_bool_number": (lambda L, x: x - True, [([1.0], "float32")]),
    "rsub_bool": (lambda L, x: 1 - x, [([True], "bool")]),
    "alpha_float_int": (lambda L, x: L.add(x, x, alpha=0.5), [([1], "int64")]),
    "alpha_bool_float": (lambda L, x: L.add(x, 1, alpha=True), [([1.0], "float32")]),
    "div_floor_int_zero": (lambda L, x: L.div(x, 0, rounding_mode="floor"), [([1], "int64")]),
    "div_trunc_bool": (lambda L, x: L.div(x, x, rounding_mode="trunc"), [([True], "bool")]),
    "remainder_bool": (lambda L, x: x % x, [([True], "bool")]),
    "pow_bool_bool": (lambda L, x: x**x, [([True], "bool")]),
    "abs_bool": (lambda L, x: L.abs(x), [([True], "bool")]),
    "floor_bool": (lambda L, x: L.floor(x), [([True], "bool")]),
    "div_floor_shapes": (lambda L, x, y: L.div(x, y, rounding_mode="floor"), [(np.ones((2, 3)), "float32"), ([1.0, 2.0], "float32")]),
    "lt_shapes": (lambda L, x, y: x < y, [(np.ones((2, 3)), "float32"), ([1.0, 2.0], "float32")]),
    "isclose_dtypes": (lambda L, x, y: L.isclose(x, y), [([1.0], "float32"), ([1.0], "float64")]),
    "clamp_bool_both": (lambda L, x: L.clamp(x, x, x), [([True], "bool")]),
    "max_empty": (lambda L, x: x.max(), [(np.zeros(0), "float32")]),
    "amax_empty_dim": (lambda L, x: x.amax(0), [(np.zeros((0, 2)), "float32")]),
    "var_int": (lambda L, x: x.var(), [([1, 2], "int64")]),
    "std_bool": (lambda L, x: x.std(), [([True, False], "bool")]),
    "norm_empty_negative": (lambda L, x: x.norm(-1), [(np.zeros(0), "float32")]),
    "gelu_int": (lambda L, x: L.nn.functional.gelu(x), [([1], "int64")]),
    "softmax_int": (lambda L, x: L.softmax(x, 0), [([1], "int64")]),
}


@pytest.mark.parametrize("name", list(RAISES))
def test_refused_like_pytorch(name: str) -> None:
    fn, args = RAISES[name]
    raises_like(fn, *args)



@pytest.mark.parametrize("dtype, op, number", [("uint8", "add", -1), ("uint8", "add", 300), ("int8", "add", 200),
                                               ("uint8", "mul", -1), ("int16", "sub", 70000)])
def test_integer_tensor_with_an_out_of_range_python_int_wraps_as_torch(dtype, op, number):
    import operator as _op

    f = {"add": _op.add, "mul": _op.mul, "sub": _op.sub}[op]
    a = f(ww.tensor(np.array([0, 5], dtype=dtype)), number)
    b = f(torch.tensor(np.array([0, 5], dtype=dtype)), number)
    assert a.numpy().tolist() == b.numpy().tolist() and str(a.dtype) == str(b.dtype)
    with pytest.raises(OverflowError):
        f(ww.tensor(np.array([0], dtype=dtype)), 2**70)
