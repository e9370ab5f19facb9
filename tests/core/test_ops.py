"""Every op of the core against PyTorch and central differences, through `check_op`.

Shapes come from hypothesis: `()`, size-1 dims, broadcast pairs and zero-size dims.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from .helpers import check_op

torch = pytest.importorskip("torch")

N = 25  # examples per property; the whole core suite must stay fast on two cores
shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
nonempty = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3)
seeds = st.integers(0, 2**16)
float_dt = st.sampled_from(["float32", "float64"])


# ---------------------------------------------------------------------------------------------
# Binary arithmetic, tensor-tensor with broadcasting, and with Python numbers

BINARY = {
    "add": (lambda lib, x, y: x + y, {}),
    "sub": (lambda lib, x, y: x - y, {}),
    "mul": (lambda lib, x, y: x * y, {}),
    "div": (lambda lib, x, y: x / y, {"away": (0.0,)}),
    "add_alpha": (lambda lib, x, y: lib.add(x, y, alpha=2.5), {}),
    "sub_alpha": (lambda lib, x, y: lib.sub(x, y, alpha=0.5), {}),
    "pow": (lambda lib, x, y: x**y, {"low": 0.5, "high": 2.0}),
    "maximum": (lambda lib, x, y: lib.maximum(x, y), {"unique": True}),
    "minimum": (lambda lib, x, y: lib.minimum(x, y), {"unique": True}),
    "remainder": (lambda lib, x, y: x % y, {"low": 0.5, "high": 3.0, "fd": False}),
    "floordiv": (lambda lib, x, y: x // y, {"low": 0.5, "high": 3.0, "grad": False}),
}


@pytest.mark.parametrize("name", list(BINARY))
@settings(max_examples=N)
@given(shp=pairs, seed=seeds, dt=float_dt)
def test_binary(name: str, shp: object, seed: int, dt: str) -> None:
    fn, kw = BINARY[name]
    a, b = shp.input_shapes  # type: ignore[attr-defined]
    check_op(fn, [a, b], dt, seed=seed, **kw)  # type: ignore[arg-type]


SCALAR = {
    "add": lambda lib, x: x + 2.5,
    "radd": lambda lib, x: 3 + x,
    "sub": lambda lib, x: x - 1.5,
    "rsub": lambda lib, x: 2 - x,
    "mul": lambda lib, x: x * 3,
    "rmul": lambda lib, x: 0.5 * x,
    "div": lambda lib, x: x / 4.0,
    "rdiv": lambda lib, x: 2.0 / x,
    "pow2": lambda lib, x: x**2,
    "pow3": lambda lib, x: x**3,
    "powhalf": lambda lib, x: x.abs() ** 0.5,
    "rpow": lambda lib, x: 2.0**x,
    "neg": lambda lib, x: -x,
    "square": lambda lib, x: lib.square(x),
}


@pytest.mark.parametrize("name", list(SCALAR))
@settings(max_examples=N)
@given(shape=shapes, seed=seeds, dt=float_dt)
def test_scalar_operand(name: str, shape: tuple, seed: int, dt: str) -> None:
    check_op(SCALAR[name], [shape], dt, seed=seed, away=(0.0,))


# ---------------------------------------------------------------------------------------------
# Unary math

UNARY = {
    "neg": (lambda lib, x: lib.neg(x), {}),
    "abs": (lambda lib, x: lib.abs(x), {"away": (0.0,)}),
    "exp": (lambda lib, x: lib.exp(x), {}),
    "log": (lambda lib, x: lib.log(x), {"low": 0.2, "high": 3.0}),
    "log1p": (lambda lib, x: lib.log1p(x), {"low": -0.5, "high": 3.0}),
    "sqrt": (lambda lib, x: lib.sqrt(x), {"low": 0.2, "high": 3.0}),
    "rsqrt": (lambda lib, x: lib.rsqrt(x), {"low": 0.2, "high": 3.0}),
    "sin": (lambda lib, x: lib.sin(x), {}),
    "cos": (lambda lib, x: lib.cos(x), {}),
    "tanh": (lambda lib, x: lib.tanh(x), {}),
    "sigmoid": (lambda lib, x: lib.sigmoid(x), {}),
    "relu": (lambda lib, x: lib.relu(x), {"away": (0.0,)}),
    "clamp": (lambda lib, x: lib.clamp(x, -0.5, 0.7), {"away": (-0.5, 0.7)}),
    "clamp_min": (lambda lib, x: lib.clamp(x, min=-0.5), {"away": (-0.5,)}),
    "clamp_max": (lambda lib, x: x.clamp(max=0.3), {"away": (0.3,)}),
    "reciprocal": (lambda lib, x: x.reciprocal(), {"away": (0.0,)}),
}


@pytest.mark.parametrize("name", list(UNARY))
@settings(max_examples=N)
@given(shape=shapes, seed=seeds, dt=float_dt)
def test_unary(name: str, shape: tuple, seed: int, dt: str) -> None:
    fn, kw = UNARY[name]
    check_op(fn, [shape], dt, seed=seed, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["exp", "sigmoid", "tanh", "relu", "abs", "neg", "sqrt"])
@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_unary_half(name: str, dt: str) -> None:
    fn, kw = UNARY[name]
    kw = {**kw, "low": 0.2} if name == "sqrt" else kw
    check_op(fn, [(3, 4)], dt, fd=False, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "tanh", "sigmoid"])
@pytest.mark.parametrize("dt", ["int64", "int32", "uint8", "bool"])
def test_unary_int_to_float(name: str, dt: str) -> None:
    lo = 1.0 if name in ("log", "sqrt") else -2.0
    check_op(UNARY[name][0], [(2, 3)], dt, low=lo, strict=dt != "bool")


@pytest.mark.parametrize("dt", ["int64", "int32", "int8", "uint8"])
def test_int_arith_keeps_dtype(dt: str) -> None:
    for fn in (lambda lib, x, y: x + y, lambda lib, x, y: x * y, lambda lib, x, y: x - y,
               lambda lib, x, y: -x if x.dtype != lib.uint8 else x, lambda lib, x, y: lib.abs(x),
               lambda lib, x, y: x // (y.abs() + 1), lambda lib, x, y: x % (y.abs() + 1),
               lambda lib, x, y: x / (y.abs() + 1), lambda lib, x, y: lib.maximum(x, y),
               lambda lib, x, y: x**2):
        check_op(fn, [(3, 4), (4,)], dt, low=-3, high=3)


def test_clamp_tensor_bounds() -> None:
    check_op(lambda lib, x, lo, hi: lib.clamp(x, lo, hi), [(3, 4), (4,), (3, 1)], "float64",
             values=[np.linspace(-2, 2, 12).reshape(3, 4) + 0.01, np.full(4, -0.55), np.array([[0.3], [0.9], [1.7]])])


@settings(max_examples=N)
@given(shp=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=0, max_side=3), seed=seeds)
def test_where(shp: object, seed: int) -> None:
    c, a, b = shp.input_shapes  # type: ignore[attr-defined]
    check_op(lambda lib, c, x, y: lib.where(c, x, y), [c, a, b], ["bool", "float64", "float64"], seed=seed)
    check_op(lambda lib, x, y: lib.where(x > 0, x, 0.0), [a, b], "float32", seed=seed)


# ---------------------------------------------------------------------------------------------
# Comparisons and logic: bool results, no gradients

CMP = {
    "eq": lambda lib, x, y: x == y, "ne": lambda lib, x, y: x != y, "lt": lambda lib, x, y: x < y,
    "le": lambda lib, x, y: x <= y, "gt": lambda lib, x, y: x > y, "ge": lambda lib, x, y: x >= y,
    "and": lambda lib, x, y: (x > 0) & (y > 0), "or": lambda lib, x, y: (x > 0) | (y > 0),
    "xor": lambda lib, x, y: (x > 0) ^ (y > 0), "not": lambda lib, x, y: ~(x > y),
    "logical_and": lambda lib, x, y: lib.logical_and(x, y), "logical_or": lambda lib, x, y: lib.logical_or(x, y),
    "logical_xor": lambda lib, x, y: lib.logical_xor(x, y), "logical_not": lambda lib, x, y: lib.logical_not(x),
    "isnan": lambda lib, x, y: lib.isnan(x / y), "isfinite": lambda lib, x, y: lib.isfinite(x),
    "eq_scalar": lambda lib, x, y: x == 1, "gt_scalar": lambda lib, x, y: x > 0.5,
}


@pytest.mark.parametrize("name", list(CMP))
@settings(max_examples=6)
@given(shp=pairs, seed=seeds, dt=st.sampled_from(["float32", "int64"]))
def test_comparisons(name: str, shp: object, seed: int, dt: str) -> None:
    a, b = shp.input_shapes  # type: ignore[attr-defined]
    check_op(CMP[name], [a, b], dt, seed=seed, low=-1, high=2, strict=False)


# ---------------------------------------------------------------------------------------------
# Matrix products


@settings(max_examples=N)
@given(n=st.integers(0, 4), k=st.integers(0, 4), m=st.integers(1, 4), b=st.integers(1, 3), seed=seeds)
def test_matmul_family(n: int, k: int, m: int, b: int, seed: int) -> None:
    check_op(lambda lib, x, y: x @ y, [(n, k), (k, m)], "float64", seed=seed)
    check_op(lambda lib, x, y: lib.mm(x, y), [(n, k), (k, m)], "float32", seed=seed)
    check_op(lambda lib, x, y: lib.bmm(x, y), [(b, n, k), (b, k, m)], "float64", seed=seed)
    check_op(lambda lib, c, x, y: lib.addmm(c, x, y), [(n, m), (n, k), (k, m)], "float64", seed=seed)
    check_op(lambda lib, c, x, y: lib.addmm(c, x, y, beta=0.5, alpha=2.0), [(m,), (n, k), (k, m)], "float64", seed=seed)
    check_op(lambda lib, x, y: x @ y, [(k,), (k,)], "float64", seed=seed)
    check_op(lambda lib, x, y: x @ y, [(n, k), (k,)], "float64", seed=seed)
    check_op(lambda lib, x, y: x @ y, [(k,), (k, m)], "float64", seed=seed)
    check_op(lambda lib, x, y: x @ y, [(b, n, k), (k, m)], "float64", seed=seed)
    check_op(lambda lib, x, y: x @ y, [(b, 1, n, k), (b, k, m)], "float64", seed=seed)


def test_linear() -> None:
    from weightwise.ops.linalg import linear

    def f(lib, x, w, b=None):  # type: ignore[no-untyped-def]
        return (linear if lib is not torch else torch.nn.functional.linear)(x, w, b)

    check_op(f, [(5, 3), (4, 3), (4,)], "float64")
    check_op(f, [(5, 3), (4, 3)], "float64")
    check_op(f, [(2, 5, 3), (4, 3), (4,)], "float64")
    check_op(f, [(3,), (4, 3), (4,)], "float64")


# ---------------------------------------------------------------------------------------------
# Reductions, with dim / keepdim / negative dims


@st.composite
def shape_and_dim(draw: st.DrawFn, min_side: int = 0) -> tuple[tuple[int, ...], int]:
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=4))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return shape, dim


REDUCE_DIM = {
    "sum": (lambda lib, x, d, k: x.sum(d, keepdim=k), {}),
    "sum_tuple": (lambda lib, x, d, k: x.sum((d, 0), keepdim=k) if d % x.dim() != 0 else x.sum((d,), keepdim=k), {}),
    "mean": (lambda lib, x, d, k: x.mean(d, keepdim=k), {}),
    "var": (lambda lib, x, d, k: x.var(d, keepdim=k), {"fd_tol": 1e-4}),
    "var_biased": (lambda lib, x, d, k: x.var(d, unbiased=False, keepdim=k), {}),
    "std": (lambda lib, x, d, k: x.std(d, keepdim=k), {"fd_tol": 1e-4}),
    "std_corr0": (lambda lib, x, d, k: lib.std(x, d, correction=0, keepdim=k), {"fd_tol": 1e-4}),
    "prod": (lambda lib, x, d, k: x.prod(d, keepdim=k), {}),
    "norm": (lambda lib, x, d, k: x.norm(dim=d, keepdim=k), {}),
    "norm1": (lambda lib, x, d, k: x.norm(p=1, dim=d, keepdim=k), {"away": (0.0,)}),
    "logsumexp": (lambda lib, x, d, k: x.logsumexp(d, keepdim=k), {}),
    "softmax": (lambda lib, x, d, k: x.softmax(d), {}),
    "log_softmax": (lambda lib, x, d, k: x.log_softmax(d), {}),
    "max": (lambda lib, x, d, k: x.max(d, keepdim=k), {"unique": True}),
    "min": (lambda lib, x, d, k: lib.min(x, dim=d, keepdim=k), {"unique": True}),
    "argmax": (lambda lib, x, d, k: x.argmax(d, keepdim=k), {"unique": True}),
    "argmin": (lambda lib, x, d, k: x.argmin(d, keepdim=k), {"unique": True}),
    "amax": (lambda lib, x, d, k: x.amax(d, keepdim=k), {"unique": True}),
    "cumsum": (lambda lib, x, d, k: x.cumsum(d), {}),
}
_NEEDS_NONEMPTY_DIM = {"max", "min", "argmax", "argmin", "amax"}


@pytest.mark.parametrize("name", list(REDUCE_DIM))
@settings(max_examples=N)
@given(sd=shape_and_dim(), keep=st.booleans(), seed=seeds, dt=float_dt)
def test_reduce_dim(name: str, sd: tuple, keep: bool, seed: int, dt: str) -> None:
    shape, dim = sd
    if name in _NEEDS_NONEMPTY_DIM and 0 in shape:
        shape = tuple(max(s, 1) for s in shape)
    fn, kw = REDUCE_DIM[name]
    check_op(lambda lib, x: fn(lib, x, dim, keep), [shape], dt, seed=seed, strict=False, **kw)  # type: ignore[arg-type]


REDUCE_ALL = {
    "sum": (lambda lib, x: x.sum(), {}),
    "mean": (lambda lib, x: x.mean(), {}),
    "var": (lambda lib, x: x.var(), {"fd_tol": 1e-4}),
    "std": (lambda lib, x: x.std(), {"fd_tol": 1e-4}),
    "prod": (lambda lib, x: x.prod(), {}),
    "norm": (lambda lib, x: x.norm(), {}),
    "max": (lambda lib, x: x.max(), {"unique": True}),
    "min": (lambda lib, x: x.min(), {"unique": True}),
    "argmax": (lambda lib, x: x.argmax(), {"unique": True}),
    "logsumexp_all": (lambda lib, x: lib.logsumexp(x, tuple(range(x.dim()))), {}),
}


@pytest.mark.parametrize("name", list(REDUCE_ALL))
@settings(max_examples=N)
@given(shape=nonempty, seed=seeds, dt=float_dt)
def test_reduce_all(name: str, shape: tuple, seed: int, dt: str) -> None:
    fn, kw = REDUCE_ALL[name]
    check_op(fn, [shape], dt, seed=seed, strict=False, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("fn", [lambda lib, x: x.sum(), lambda lib, x: x.mean(), lambda lib, x: x.sum(0),
                                lambda lib, x: x.prod(), lambda lib, x: x.norm(), lambda lib, x: x.mean(1)])
def test_reduce_zero_size(fn: object) -> None:
    check_op(fn, [(0, 3)], "float32", strict=False)  # type: ignore[arg-type]


def test_reduce_ties_and_zeros() -> None:
    # max/min without dim split the gradient among ties; prod's gradient is exact with zeros.
    v = np.array([[1.0, 3.0, 3.0], [0.5, 3.0, -1.0]])
    check_op(lambda lib, x: x.max(), [(2, 3)], "float64", values=[v], fd=False)
    check_op(lambda lib, x: x.amax(1), [(2, 3)], "float64", values=[v], fd=False)
    z = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5]])
    check_op(lambda lib, x: x.prod(1), [(2, 3)], "float64", values=[z])
    check_op(lambda lib, x: x.prod(), [(2, 3)], "float64", values=[np.array([[0.0, 2.0, 3.0], [1.0, 4.0, 1.5]])])
    check_op(lambda lib, x: x.norm(), [(2,)], "float64", values=[np.zeros(2)], fd=False)


@pytest.mark.parametrize("dt", ["int64", "int32", "bool", "uint8"])
def test_int_reductions(dt: str) -> None:
    for fn in (lambda lib, x: x.sum(), lambda lib, x: x.sum(0), lambda lib, x: x.prod(1),
               lambda lib, x: x.max(), lambda lib, x: x.argmax(1), lambda lib, x: x.max(0),
               lambda lib, x: x.cumsum(1)):
        check_op(fn, [(3, 4)], dt, low=-2, high=2)


# ---------------------------------------------------------------------------------------------
# Shapes and movement


@st.composite
def shape_and_perm(draw: st.DrawFn) -> tuple[tuple[int, ...], list[int]]:
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3))
    perm = draw(st.permutations(range(len(shape))))
    neg = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    return shape, [p - len(shape) if n else p for p, n in zip(perm, neg)]


@settings(max_examples=N)
@given(sp=shape_and_perm(), seed=seeds)
def test_movement(sp: tuple, seed: int) -> None:
    shape, perm = sp
    nd = len(shape)
    check_op(lambda lib, x: x.permute(*perm), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.reshape(-1), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.flatten(), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.permute(*perm).reshape(-1), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.view(tuple(reversed(shape))) if 0 not in shape else x.view(-1), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.unsqueeze(-1), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.unsqueeze(0).squeeze(0), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.squeeze(), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.repeat(*([2] * (nd + 1))), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.T if nd != 2 else x.T + 0, [shape], "float64", seed=seed)
    if nd:
        d = perm[0]
        check_op(lambda lib, x: x.squeeze(d), [shape], "float64", seed=seed)
        check_op(lambda lib, x: x.transpose(0, -1), [shape], "float64", seed=seed)
        check_op(lambda lib, x: x.flatten(0, d), [shape], "float64", seed=seed) if d % nd >= 0 else None
        check_op(lambda lib, x: x.unsqueeze(1).expand(*shape[:1], 3, *shape[1:]), [shape], "float64", seed=seed)
        check_op(lambda lib, x: x.expand(2, *([-1] * nd)), [shape], "float64", seed=seed)
    if nd == 2:
        check_op(lambda lib, x: x.t(), [shape], "float64", seed=seed)
        check_op(lambda lib, x: x.T, [shape], "float64", seed=seed)


def test_views_share_memory() -> None:
    import weightwise as ww

    x = ww.zeros(2, 3)
    for v in (x.view(6), x.reshape(3, 2), x.t(), x.permute(1, 0), x.unsqueeze(0), x[0], x[:, 1:], x.expand(4, 2, 3)):
        assert np.shares_memory(v._a, x._a)
    y = x.t().reshape(6)  # not viewable: a copy
    assert not np.shares_memory(y._a, x._a)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.t().view(6)


# ---------------------------------------------------------------------------------------------
# Indexing with backward


BASIC_KEYS = [
    0, -1, slice(None), slice(1, None), slice(None, None, 2), (0, 1), (slice(None), 0), (Ellipsis, 1),
    (None, 0), (0, None, slice(None)), (slice(0, 2), slice(1, 3)), (Ellipsis,), (slice(None, None, -1) if False else slice(2, 0, -1) if False else slice(0, 3),),
    (1, Ellipsis, None), (slice(5, 9),),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_indexing(key: object) -> None:
    check_op(lambda lib, x: x[key], [(3, 4, 2)], "float64")


ADV_KEYS = [
    lambda lib: lib.tensor([0, 2, 2]),
    lambda lib: [1, -1],
    lambda lib: (lib.tensor([0, 1]), lib.tensor([3, 2])),
    lambda lib: (slice(None), lib.tensor([[0, 1], [1, 3]])),
    lambda lib: (lib.tensor([2, 0]), slice(1, 3)),
    lambda lib: (Ellipsis, lib.tensor([1, 0, 1])),
    lambda lib: lib.tensor([True, False, True]),
    lambda lib: (slice(None), lib.tensor([True, False, True, True])),
    lambda lib: lib.tensor(1),
]


@pytest.mark.parametrize("k", range(len(ADV_KEYS)))
def test_advanced_indexing(k: int) -> None:
    mk = ADV_KEYS[k]
    check_op(lambda lib, x: x[mk(lib)], [(3, 4, 2)], "float64")


def test_mask_indexing() -> None:
    check_op(lambda lib, x: x[x > 0], [(3, 4)], "float64", seed=3)
    check_op(lambda lib, x: x[(x > 0).all(1)], [(5, 2)], "float64", seed=4)
    check_op(lambda lib, x: x[x > 10], [(3, 4)], "float64")  # empty selection


def test_indexing_helpers() -> None:
    idx = np.array([[0, 1], [2, 0]])
    check_op(lambda lib, x: x.gather(1, lib.tensor(idx)), [(2, 3)], "float64")
    check_op(lambda lib, x: x.index_select(0, lib.tensor([1, 1, 0])), [(2, 3)], "float64")
    check_op(lambda lib, x: x.masked_fill(x > 0, 0.5), [(3, 4)], "float64", seed=1)
    check_op(lambda lib, x: x.flip(0), [(3, 4)], "float64")
    check_op(lambda lib, x: x.narrow(1, 1, 2), [(3, 4)], "float64")
    check_op(lambda lib, x: x.unbind(1), [(3, 4)], "float64")


# ---------------------------------------------------------------------------------------------
# Joining and splitting


@settings(max_examples=N)
@given(sd=shape_and_dim(), sizes=st.lists(st.integers(0, 3), min_size=1, max_size=3), seed=seeds)
def test_cat(sd: tuple, sizes: list, seed: int) -> None:
    shape, dim = sd
    d = dim % len(shape)
    shps = [shape[:d] + (s,) + shape[d + 1:] for s in sizes]
    check_op(lambda lib, *xs: lib.cat(xs, dim), shps, "float64", seed=seed)


@settings(max_examples=N)
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), n=st.integers(1, 3), data=st.data())
def test_stack(shape: tuple, n: int, data: st.DataObject) -> None:
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_op(lambda lib, *xs: lib.stack(xs, dim), [shape] * n, "float64")


@settings(max_examples=N)
@given(sd=shape_and_dim(), step=st.integers(1, 4), chunks=st.integers(1, 5), seed=seeds)
def test_split_chunk(sd: tuple, step: int, chunks: int, seed: int) -> None:
    shape, dim = sd
    check_op(lambda lib, x: x.split(step, dim), [shape], "float64", seed=seed)
    check_op(lambda lib, x: x.chunk(chunks, dim), [shape], "float64", seed=seed)
    n = shape[dim]
    sections = [n // 2, n - n // 2]
    check_op(lambda lib, x: lib.split(x, sections, dim), [shape], "float64", seed=seed)


def test_cat_mixed_dtypes_and_empty() -> None:
    check_op(lambda lib, x, y: lib.cat([x, y.double()]), [(2, 3), (1, 3)], ["float32", "float32"])
    check_op(lambda lib, x, y: lib.cat([x, y], 1), [(2, 3), (2, 0)], "float64")
    check_op(lambda lib, x, y: lib.cat([x, y]), [(2, 3), (0,)], "float64")
    check_op(lambda lib, x, y: lib.cat([x, y]), [(2, 3), (2, 3)], ["float32", "int64"], grad=False)


# ---------------------------------------------------------------------------------------------
# Composite expressions exercise the engine's fan-in/fan-out


@settings(max_examples=N)
@given(shp=pairs, seed=seeds)
def test_composite(shp: object, seed: int) -> None:
    a, b = shp.input_shapes  # type: ignore[attr-defined]
    check_op(lambda lib, x, y: (x * y + x.exp() * y.sin()).tanh() * x, [a, b], "float64", seed=seed)
    check_op(lambda lib, x, y: ((x - y) ** 2).sum() + (x * x).mean(0 if x.dim() else None) if x.numel() else (x * y).sum(), [a, b], "float64", seed=seed)
