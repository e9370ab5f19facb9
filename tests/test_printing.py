"""Tensor printing against PyTorch, character for character.

Each case builds the same values in PyTorch and in weightwise (PyTorch's bits copied into the
NumPy array, so that rounding to float16/bfloat16/float8 cannot differ) and compares ``repr``
and ``str``. Real weightwise tensors are printed; where PyTorch's tensor came out of an op, a
small stand-in carrying the attributes the printer reads (``_a``, ``dtype``, ``requires_grad``,
``grad_fn``, ``is_leaf``) takes that op's name, and ``test_real_grad_fn`` runs the ops
themselves in both libraries.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import weightwise as ww
from weightwise import _dtype
from weightwise import _tensor_str as ts

torch = pytest.importorskip("torch")

FLOAT_DTYPES = ["float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]
INT_DTYPES = ["int64", "int32", "int16", "int8", "uint8"]
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + ["bool"]

# Dtypes NumPy cannot hold natively: their bits travel through an integer view.
_BIT_VIEWS = {
    "bfloat16": (torch.int16, ml_dtypes.bfloat16),
    "float8_e4m3fn": (torch.uint8, ml_dtypes.float8_e4m3fn),
    "float8_e5m2": (torch.uint8, ml_dtypes.float8_e5m2),
}


class _GradFn:
    """A stand-in autograd node: only its name is printed."""

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class FakeTensor:
    """The attributes ``tensor_repr`` reads, over a NumPy array."""

    def __init__(self, a: np.ndarray, dtype: Any, requires_grad: bool = False,
                 grad_fn: _GradFn | None = None) -> None:
        self._a = a
        self.dtype = dtype
        self.requires_grad = requires_grad
        self.grad_fn = grad_fn
        self.is_leaf = grad_fn is None

    def __repr__(self) -> str:
        return ts.tensor_repr(self)


def to_numpy(t: Any) -> np.ndarray:
    """A NumPy copy holding exactly the values of the torch tensor ``t``."""
    t = t.detach()
    name = str(t.dtype).removeprefix("torch.")
    if name in _BIT_VIEWS:
        int_dtype, np_dtype = _BIT_VIEWS[name]
        return t.view(int_dtype).numpy().copy().view(np_dtype)
    return t.numpy().copy()


def ours_like(t: Any) -> Any:
    """The weightwise tensor for the torch tensor ``t``, autograd state included.

    A real tensor for a leaf; for the result of a torch op, a stand-in named after that op.
    """
    if t.grad_fn is not None:
        dtype = getattr(_dtype, str(t.dtype).removeprefix("torch."))
        return FakeTensor(to_numpy(t), dtype, t.requires_grad, _GradFn(t.grad_fn.name()))
    ours = ww.from_numpy(to_numpy(t))
    if t.requires_grad:
        try:
            ours.requires_grad_()
        except RuntimeError:
            # Some cores refuse grad on ml_dtypes floats (bfloat16): print the same leaf anyway.
            return FakeTensor(ours._a, ours.dtype, requires_grad=True)
    return ours


def make_torch(values: Any, dtype: str) -> Any:
    """A torch tensor of ``dtype`` from nested lists or an array (cast by PyTorch itself)."""
    arr = np.asarray(values)
    # np.array(copy) keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d).
    arr = np.array(arr, dtype=np.float64 if arr.dtype.kind == "f" else arr.dtype, order="C")
    return torch.from_numpy(arr).to(getattr(torch, dtype))


def check(t: Any) -> None:
    """Our repr and str of ``t``'s values equal PyTorch's."""
    ours = ours_like(t)
    assert repr(ours) == repr(t)
    assert str(ours) == str(t)


def check_values(values: Any, dtype: str) -> None:
    check(make_torch(values, dtype))


@pytest.fixture(autouse=True)
def _restore_printoptions() -> Iterator[None]:
    """Every test starts and ends with default options in both libraries."""
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    torch.set_default_dtype(torch.float32)
    _dtype.set_default_dtype(_dtype.float32)


# ----------------------------------------------------------------------------- a fixed corpus

nan, inf = math.nan, math.inf

CORPUS: list[Any] = [
    0.0, -0.0, 1.0, -1.0, 3.5, nan, inf, -inf, 1e10, 1e-10, 123456789.0, 0.1,
    [], [1.0], [1.0, 2.0, 3.0], [0.0, -0.0], [-0.0], [1.5, -2.25], [1.0, nan], [nan, inf, -inf],
    [0.0, nan], [1e-5, 1.0], [1e-4, 1.0], [1.0, 999.0], [1.0, 1001.0], [1e8, 1.0e8],
    [1.0e8 + 8, 1.0], [1e10, 1.0, nan], [-1e10, 2.5], [1e-20, 1e20], [1e300, 1e-300],
    [0.12345, 100.0], [12345.678, 0.5], [0.00012345], [1.0, -0.0, 2.0], [1.25, -0.0],
    [[1.0, 2.0], [3.0, 4.0]], [[1.5, -2.0], [nan, 0.0]], [[[1.0]]], [[[1.0, 2.0]], [[3.0, 4.0]]],
    [[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]], [[]], [[], []], [[[]]],
    [65504.0, 70000.0], [0.3, 0.7, 1e-3], [448.0, 0.001953125], [1e5, 1e6, 1e7, -1e8],
    list(np.linspace(-3, 3, 30)), list(np.arange(40.0)), list(np.arange(40.0) * 1e6),
    [[0.1234, 5.0] * 13], [[1e-8, 2.0] * 10, [3.0, 4.0] * 10], list(np.linspace(0, 1, 1001)),
    [1e10, -0.0], [nan, -0.0, 1e-5], [-0.0, 0.5], [inf, 1e-9], [-1e-5, nan, -inf, 2.0],
    [[1e12], [-3.0]], [0.99999, 9.99995], [0.00005, 0.00015], [9999.99996, 1.0],
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("values", CORPUS, ids=range(len(CORPUS)))
def test_corpus_floats(values: Any, dtype: str) -> None:
    check_values(values, dtype)


INT_CORPUS: list[Any] = [
    0, 7, -3, [], [0], [1, 2, 3], [-1, 100, 5], [[1, -2], [30, 4]], [[[1]], [[2]]],
    list(range(100)), list(range(-50, 50)), [[0] * 40], [[]], [[], []],
]


@pytest.mark.parametrize("dtype", INT_DTYPES + ["bool"])
@pytest.mark.parametrize("values", INT_CORPUS, ids=range(len(INT_CORPUS)))
def test_corpus_integers(values: Any, dtype: str) -> None:
    arr = np.asarray(values, dtype=np.int64)
    if dtype == "uint8":
        arr = np.asarray(np.abs(arr))
    check(torch.from_numpy(arr).to(getattr(torch, dtype)))


def test_integer_extremes() -> None:
    for name in INT_DTYPES:
        info = np.iinfo(getattr(np, name))
        check(torch.tensor([info.min, 0, info.max], dtype=getattr(torch, name)))


@pytest.mark.parametrize("shape", [(1001,), (2000,), (1000, 1000), (40, 40), (3, 400),
                                   (400, 3), (11, 11, 11), (4, 5, 6, 9), (1001, 1), (1, 1, 1001)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "bfloat16"])
def test_summarised(shape: tuple[int, ...], dtype: str) -> None:
    rng = np.random.default_rng(sum(shape))
    values = rng.standard_normal(shape) * 100
    t = torch.from_numpy(values).to(getattr(torch, dtype))
    check(t)


def test_large_tensor_prints_fast() -> None:
    import time

    a = np.random.default_rng(0).standard_normal((1000, 1000)).astype(np.float32)
    start = time.perf_counter()
    text = repr(ww.from_numpy(a))
    assert time.perf_counter() - start < 0.5  # summarised first: ~10 ms in practice
    assert text == repr(torch.from_numpy(a))


# ----------------------------------------------------------------------------- autograd suffixes


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0,), (0, 2), (12,), (5, 12), (30,), (2, 2, 2)])
def test_requires_grad_and_grad_fn(shape: tuple[int, ...]) -> None:
    values = np.arange(math.prod(shape), dtype=np.float64).reshape(shape) * 1.37 - 3
    for dtype in (torch.float32, torch.float64, torch.float16):
        leaf = torch.from_numpy(np.asarray(values)).to(dtype).requires_grad_()
        check(leaf)
        check(leaf * 2)
        check(leaf.sum())


def test_addmm_grad_fn_wraps_like_torch() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    x = torch.rand(size=(2, 4))
    check(net(x))
    check(torch.nn.Linear(20, 7)(torch.rand(3, 20)))
    check(torch.nn.Linear(4, 8).weight.detach().requires_grad_())
    check(torch.nn.Linear(4, 8).bias.data)


def test_suffix_line_wrapping() -> None:
    # Rows just short of and just over the line width, each with every suffix.
    for n in range(1, 14):
        for dtype in (torch.float32, torch.float64, torch.int32):
            t = torch.arange(n, dtype=dtype) * 10_000 + 1
            check(t)
            if dtype.is_floating_point:
                check(t.clone().requires_grad_())
                check(t.clone().requires_grad_() * 1)


def test_default_dtype_float64() -> None:
    torch.set_default_dtype(torch.float64)
    ww.set_default_dtype(ww.float64)
    for dtype in ("float32", "float64", "float16"):
        check_values([1.5, 2.0], dtype)
        check_values([], dtype)
    check_values([1, 2], "int64")


# ----------------------------------------------------------------------------- print options

OPTION_SETS: list[dict[str, Any]] = [
    {"precision": 2}, {"precision": 0}, {"precision": 8}, {"threshold": 5}, {"threshold": 0},
    {"edgeitems": 1, "threshold": 10}, {"edgeitems": 0}, {"edgeitems": 0, "threshold": 3},
    {"linewidth": 20}, {"linewidth": 200}, {"linewidth": 1}, {"sci_mode": True},
    {"sci_mode": False}, {"profile": "short"}, {"profile": "full"},
    {"profile": "short", "precision": 6}, {"profile": "full", "sci_mode": True},
]

OPTION_CORPUS: list[Any] = [
    3.25, [], [1.0, 2.0], [0.0, nan], [1e-5, 1.0], [1e10, 3.0], [0.1, 0.25, 1e3],
    list(np.linspace(-1, 1, 25)), [[1.5] * 12] * 12, list(np.arange(2000.0)),
    [[[0.5, 2.0]] * 3] * 3, [[]],
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=[str(o) for o in OPTION_SETS])
def test_printoptions(options: dict[str, Any]) -> None:
    torch.set_printoptions(**options)
    ts.set_printoptions(**options)
    assert ts.get_printoptions() == {k: getattr(torch._tensor_str.PRINT_OPTS, k)
                                     for k in ts.get_printoptions()}
    for values in OPTION_CORPUS:
        for dtype in ("float32", "float64", "int64"):
            if dtype == "int64":
                values = np.nan_to_num(np.asarray(values, dtype=np.float64)).astype(np.int64)
            check_values(values, dtype)
    check(torch.tensor(1.0, requires_grad=True))


def test_set_printoptions_resets_sci_mode_like_torch() -> None:
    ts.set_printoptions(sci_mode=True)
    ts.set_printoptions(precision=3)
    assert ts.get_printoptions()["sci_mode"] is None
    torch.set_printoptions(precision=3)
    check_values([1.0, 2.5], "float32")


def test_printoptions_context_restores() -> None:
    before = ts.get_printoptions()
    with ts.printoptions(precision=1, linewidth=30):
        assert ts.get_printoptions()["precision"] == 1
    assert ts.get_printoptions() == before


def test_get_printoptions_matches_torch() -> None:
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    ts.set_printoptions(profile="full")
    torch.set_printoptions(profile="full")
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()


# ----------------------------------------------------------------------------- hypothesis

SPECIAL = [0.0, -0.0, nan, inf, -inf, 1.0, -1.0, 0.5, 1e-4, 9.9999e-5, 1000.0, 1e8, 1.0000001e8,
           1e-30, 1e30, 3.0, 65504.0, 1e-7]

float_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(-1e4, 1e4),
    st.integers(-10**6, 10**6).map(float),
    st.sampled_from(SPECIAL),
)


@st.composite
def shapes(draw: st.DrawFn) -> tuple[int, ...]:
    """Ranks 0..4 with size-1 and zero dims; sometimes one long dim that forces summarising."""
    rank = draw(st.integers(0, 4))
    dims = [draw(st.integers(0, 5)) for _ in range(rank)]
    if rank and draw(st.booleans()) and draw(st.booleans()):
        dims[draw(st.integers(0, rank - 1))] = draw(st.sampled_from([7, 12, 30, 1001, 1500]))
    return tuple(dims)


@st.composite
def float_arrays(draw: st.DrawFn) -> np.ndarray:
    """Arrays drawn from a small value pool (so magnitude mixes stay coherent) or freely."""
    shape = draw(shapes())
    size = math.prod(shape)
    pool = draw(st.lists(float_values, min_size=1, max_size=6))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=min(size, 40),
                          max_size=min(size, 40)))
    flat = np.array([pool[i] for i in picks] or [0.0], dtype=np.float64)
    return np.resize(flat, size).reshape(shape)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=float_arrays(), dtype=st.sampled_from(FLOAT_DTYPES),
       requires_grad=st.booleans())
def test_hypothesis_floats(values: np.ndarray, dtype: str, requires_grad: bool) -> None:
    t = make_torch(values, dtype)
    if requires_grad and dtype not in ("float8_e4m3fn", "float8_e5m2"):
        t.requires_grad_()
    check(t)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), dtype=st.sampled_from(INT_DTYPES + ["bool"]), data=st.data())
def test_hypothesis_integers(shape: tuple[int, ...], dtype: str, data: st.DataObject) -> None:
    info = np.iinfo(np.int64 if dtype == "bool" else getattr(np, dtype))
    lo, hi = (0, 1) if dtype == "bool" else (max(info.min, -10**12), min(info.max, 10**12))
    pool = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=5))
    flat = np.resize(np.array(pool, dtype=np.int64), math.prod(shape)).reshape(shape)
    check(torch.from_numpy(flat).to(getattr(torch, dtype)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=float_arrays(), precision=st.integers(0, 8), linewidth=st.integers(10, 120),
       edgeitems=st.integers(0, 4), threshold=st.sampled_from([0, 3, 10, 100, 1000]),
       sci_mode=st.sampled_from([None, True, False]))
def test_hypothesis_printoptions(values: np.ndarray, precision: int, linewidth: int,
                                 edgeitems: int, threshold: int, sci_mode: bool | None) -> None:
    options = dict(precision=precision, linewidth=linewidth, edgeitems=edgeitems,
                   threshold=threshold, sci_mode=sci_mode)
    try:
        torch.set_printoptions(**options)
        ts.set_printoptions(**options)
        check_values(values, "float32")
        check_values(values, "float64")
    finally:
        torch.set_printoptions(profile="default")
        ts.set_printoptions(profile="default")


# ----------------------------------------------------------------------------- real autograd

# The same op in both libraries: (name, op on (library, x)).
OPS: list[tuple[str, Any]] = [
    ("mul", lambda lib, x: x * 2), ("add", lambda lib, x: x + x), ("sub", lambda lib, x: x - 1),
    ("div", lambda lib, x: x / 3), ("neg", lambda lib, x: -x), ("pow", lambda lib, x: x**2),
    ("sum", lambda lib, x: x.sum()), ("mean", lambda lib, x: x.mean()),
    ("exp", lambda lib, x: x.exp()), ("relu", lambda lib, x: lib.relu(x)),
    ("tanh", lambda lib, x: lib.tanh(x)), ("slice", lambda lib, x: x[0]),
    ("view", lambda lib, x: x.reshape(-1)), ("t", lambda lib, x: x.t()),
    ("addmm", lambda lib, x: lib.addmm(lib.ones(40, dtype=x.dtype) / 3, x,
                                       lib.ones(3, 40, dtype=x.dtype))),
    ("matmul", lambda lib, x: x @ lib.ones(3, 4, dtype=x.dtype)),
]


@pytest.mark.parametrize("name,op", OPS, ids=[name for name, _ in OPS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_real_grad_fn(name: str, op: Any, dtype: str) -> None:
    values = np.arange(6, dtype=dtype).reshape(2, 3) * 1.25 - 2.5
    expected = op(torch, torch.from_numpy(values.copy()).requires_grad_())
    ours = op(ww, ww.from_numpy(values.copy()).requires_grad_())
    assert repr(ours) == repr(expected)
    assert str(ours) == str(expected)
