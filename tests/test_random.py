"""weightwise.random against PyTorch's CPU generator: same seeds, same numbers, same state bytes.

Each differential test runs the same calls on ``torch`` and on a weightwise ``Generator`` and
compares values (within 2 ulp for floats; in practice they are bit-identical) and the 5056-byte
generator state after every call, which pins down how many draws each call consumed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import weightwise.random as wr

SEEDS = [0, 1, 42, 2**32 + 5, 123456789012345, 2**64 - 1]
SIZES = [1, 7, 15, 16, 17, 31, 33, 100, 1000, 10000]
FLOAT_DTYPES = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
}


def _torch() -> Any:
    return pytest.importorskip("torch")


def _as_np(t: Any) -> np.ndarray:
    """A torch tensor as a NumPy array of the same element type (bfloat16 via ml_dtypes)."""
    torch = _torch()
    if t.dtype == torch.bfloat16:
        return t.float().numpy().astype(ml_dtypes.bfloat16)
    return t.numpy()


def assert_ulp(actual: np.ndarray, expected: np.ndarray, max_ulp: float = 2) -> None:
    """Elementwise ``|actual - expected| <= max_ulp`` ulps of ``expected``'s type; shapes equal."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if expected.dtype.kind != "f" and expected.dtype != ml_dtypes.bfloat16:
        np.testing.assert_array_equal(actual, expected)
        return
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    ulp = np.abs(np.spacing(np.abs(expected).astype(expected.dtype))).astype(np.float64)
    err = np.abs(a - e) / ulp
    worst = int(np.argmax(err)) if err.size else 0
    assert err.size == 0 or err.max() <= max_ulp, (
        f"{int((err > max_ulp).sum())} elements differ by more than {max_ulp} ulp; worst at "
        f"{worst}: got {a.flat[worst]!r}, expected {e.flat[worst]!r}")


def _same_state(g: wr.Generator) -> None:
    torch = _torch()
    np.testing.assert_array_equal(g.get_state(), torch.get_rng_state().numpy())


# ---------------------------------------------------------------------- uniform and normal


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", list(FLOAT_DTYPES))
def test_rand_matches_torch(seed: int, dtype: str) -> None:
    torch = _torch()
    torch.manual_seed(seed)
    g = wr.Generator().manual_seed(seed)
    for n in SIZES:  # consecutive calls on one generator: stream continuity too
        expected = _as_np(torch.rand(n, dtype=getattr(torch, dtype)))
        assert_ulp(g._uniform((n,), FLOAT_DTYPES[dtype]), expected)
        _same_state(g)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", list(FLOAT_DTYPES))
def test_randn_matches_torch(seed: int, dtype: str) -> None:
    torch = _torch()
    torch.manual_seed(seed)
    g = wr.Generator().manual_seed(seed)
    for n in SIZES + [3, 1, 1, 5]:  # small sizes last: they exercise the cached sine sample
        expected = _as_np(torch.randn(n, dtype=getattr(torch, dtype)))
        assert_ulp(g._normal((n,), FLOAT_DTYPES[dtype]), expected)
        _same_state(g)


@pytest.mark.parametrize("dtype", list(FLOAT_DTYPES))
@pytest.mark.parametrize("low, high", [(-2.5, 3.7), (0.1, 0.30000001), (-1e-3, 1e-3),
                                       (1.0, 1.001), (-7, -3), (100.0, 100.00002), (2, 2)])
def test_uniform_with_bounds(dtype: str, low: float, high: float) -> None:
    torch = _torch()
    for seed in (0, 7):
        torch.manual_seed(seed)
        g = wr.Generator().manual_seed(seed)
        for n in (1, 17, 4096):
            expected = _as_np(torch.empty(n, dtype=getattr(torch, dtype)).uniform_(low, high))
            assert_ulp(g._uniform((n,), FLOAT_DTYPES[dtype], low, high), expected)
            _same_state(g)


@pytest.mark.parametrize("dtype", list(FLOAT_DTYPES))
@pytest.mark.parametrize("mean, std", [(1.3, 0.7), (-4.0, 3.0), (0.0, 0.0), (1e3, 1e-3)])
def test_normal_with_mean_std(dtype: str, mean: float, std: float) -> None:
    torch = _torch()
    torch.manual_seed(3)
    g = wr.Generator().manual_seed(3)
    for n in (1, 2, 15, 16, 33, 1000):
        expected = _as_np(torch.empty(n, dtype=getattr(torch, dtype)).normal_(mean, std))
        assert_ulp(g._normal((n,), FLOAT_DTYPES[dtype], mean, std), expected)
        _same_state(g)


def test_shapes_are_row_major() -> None:
    torch = _torch()
    torch.manual_seed(5)
    g = wr.Generator().manual_seed(5)
    assert_ulp(g._normal((4, 3, 5), np.float32), torch.randn(4, 3, 5).numpy())
    assert_ulp(g._uniform((2, 0, 3), np.float32), torch.rand(2, 0, 3).numpy())
    assert_ulp(g._uniform((), np.float32), torch.rand(()).numpy())
    _same_state(g)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), n=st.integers(0, 300), kind=st.sampled_from(["u", "n"]))
def test_hypothesis_float32(seed: int, n: int, kind: str) -> None:
    torch = _torch()
    torch.manual_seed(seed)
    g = wr.Generator().manual_seed(seed)
    if kind == "u":
        assert_ulp(g._uniform((n,), np.float32), torch.rand(n).numpy())
    else:
        assert_ulp(g._normal((n,), np.float32), torch.randn(n).numpy())
    _same_state(g)


def test_mixed_calls_keep_the_stream_and_normal_cache() -> None:
    torch = _torch()
    torch.manual_seed(11)
    g = wr.Generator().manual_seed(11)
    steps: list[tuple[Callable[[], Any], Callable[[], np.ndarray]]] = [
        (lambda: torch.randn(1, dtype=torch.float64), lambda: g._normal((1,), np.float64)),
        (lambda: torch.rand(3), lambda: g._uniform((3,), np.float32)),
        (lambda: torch.randn(1), lambda: g._normal((1,), np.float32)),  # served from cache
        (lambda: torch.randn(20), lambda: g._normal((20,), np.float32)),  # cache untouched
        (lambda: torch.randint(0, 10, (5,)), lambda: g._randint(0, 10, (5,), np.int64)),
        (lambda: torch.empty(3).normal_(2.0, 0.5), lambda: g._normal((3,), np.float32, 2.0, 0.5)),
        (lambda: torch.randperm(9), lambda: g._randperm(9, np.int64)),
        (lambda: torch.randn(1), lambda: g._normal((1,), np.float32)),
    ]
    for torch_call, our_call in steps:
        assert_ulp(our_call(), _as_np(torch_call()))
        _same_state(g)


def test_torch_generator_objects() -> None:
    torch = _torch()
    tg = torch.Generator()
    g = wr.Generator()
    assert g.initial_seed() == tg.initial_seed() == 67280421310721
    np.testing.assert_array_equal(g.get_state(), tg.get_state().numpy())
    assert_ulp(g._uniform((10,), np.float32), torch.rand(10, generator=tg).numpy())
    tg.manual_seed(2024)
    assert g.manual_seed(2024) is g
    assert_ulp(g._normal((50,), np.float32), torch.randn(50, generator=tg).numpy())
    assert_ulp(g._randint(-3, 3, (7,), np.int64), torch.randint(-3, 3, (7,), generator=tg).numpy())
    np.testing.assert_array_equal(g.get_state(), tg.get_state().numpy())


# ---------------------------------------------------------------------- integers


def _fits(dtype: str, low: int, high: int) -> bool:
    """Whether every integer of [low, high) is exact in dtype (PyTorch errors or warns if not)."""
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        return bool(info.min <= low and high - 1 <= info.max)
    return high <= 2 ** np.finfo(dtype).nmant


RANDINT_CASES = [
    (dtype, low, high)
    for dtype in ["int64", "int32", "uint8", "int16", "float32", "float64"]
    for low, high in [(0, 10), (-5, 5), (3, 4), (0, 256), (0, 2**28 - 1), (0, 2**31 - 1)]
    if _fits(dtype, low, high)
]


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 + 5])
@pytest.mark.parametrize("dtype, low, high", RANDINT_CASES)
def test_randint_matches_torch(seed: int, dtype: str, low: int, high: int) -> None:
    torch = _torch()
    torch.manual_seed(seed)
    g = wr.Generator().manual_seed(seed)
    expected = torch.randint(low, high, (1000,), dtype=getattr(torch, dtype)).numpy()
    assert_ulp(g._randint(low, high, (1000,), np.dtype(dtype)), expected)
    _same_state(g)


@pytest.mark.parametrize("low, high", [(0, 2**32), (0, 2**40), (-2**62, 2**62), (-2**63, 2**63 - 1)])
def test_randint_wide_ranges_use_64_bit_draws(low: int, high: int) -> None:
    torch = _torch()
    torch.manual_seed(9)
    g = wr.Generator().manual_seed(9)
    expected = torch.randint(low, high, (500,)).numpy()
    np.testing.assert_array_equal(g._randint(low, high, (500,), np.int64), expected)
    _same_state(g)


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 + 5])
def test_randperm_matches_torch(seed: int) -> None:
    torch = _torch()
    torch.manual_seed(seed)
    g = wr.Generator().manual_seed(seed)
    for n in [0, 1, 2, 7, 100, 1000, 10000]:
        np.testing.assert_array_equal(g._randperm(n, np.int64), torch.randperm(n).numpy())
        _same_state(g)
    for dtype in ("int32", "float32", "uint8"):
        expected = torch.randperm(200, dtype=getattr(torch, dtype)).numpy()
        np.testing.assert_array_equal(g._randperm(200, np.dtype(dtype)), expected)
        _same_state(g)


def test_randperm_large_path_is_inside_out_shuffle() -> None:
    # PyTorch switches algorithm at n = 2**32 // 20, too large to test against it here; check
    # the inside-out variant is a permutation and consumes two 32-bit draws per element.
    g = wr.Generator().manual_seed(0)
    perm = g._randperm_large(1000)
    assert sorted(perm) == list(range(1000))
    ref = wr.Generator().manual_seed(0)
    ref._random(2000)
    np.testing.assert_array_equal(g.get_state(), ref.get_state())


# ---------------------------------------------------------------------- bernoulli and friends


@pytest.mark.parametrize("p_dtype", ["float32", "float64"])
def test_bernoulli_tensor_p(p_dtype: str) -> None:
    torch = _torch()
    torch.manual_seed(0)
    p = torch.rand(3000, dtype=getattr(torch, p_dtype))
    g = wr.Generator().set_state(torch.get_rng_state().numpy())
    expected = torch.bernoulli(p).numpy()
    np.testing.assert_array_equal(g._bernoulli(p.numpy(), p.numpy().dtype), expected)
    _same_state(g)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_bernoulli_scalar_p(p: float, dtype: str) -> None:
    torch = _torch()
    torch.manual_seed(4)
    g = wr.Generator().manual_seed(4)
    for n in (1, 10, 5000):
        expected = torch.empty(n, dtype=getattr(torch, dtype)).bernoulli_(p).numpy()
        np.testing.assert_array_equal(g._bernoulli_scalar((n,), p, np.dtype(dtype)), expected)
        _same_state(g)


def test_dropout_mask_matches_torch() -> None:
    torch = _torch()
    torch.manual_seed(0)
    x = torch.ones(64, 32)
    out = torch.nn.functional.dropout(x, p=0.3, training=True).numpy()
    g = wr.Generator().manual_seed(0)
    mask = g._bernoulli_scalar((64, 32), 1 - 0.3, np.float32)
    np.testing.assert_array_equal(mask / np.float32(0.7), out)
    _same_state(g)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_other_distributions(dtype: str) -> None:
    torch = _torch()
    torch.manual_seed(8)
    g = wr.Generator().manual_seed(8)
    td, nd = getattr(torch, dtype), np.dtype(dtype)
    for n in (1, 3, 16, 1000):
        pairs = [
            (torch.empty(n, dtype=td).exponential_(2.5), g._exponential((n,), nd, 2.5)),
            (torch.empty(n, dtype=td).geometric_(0.3), g._geometric((n,), 0.3, nd)),
            (torch.empty(n, dtype=td).cauchy_(1.0, 2.0), g._cauchy((n,), nd, 1.0, 2.0)),
            (torch.empty(n, dtype=td).log_normal_(0.5, 0.7), g._log_normal((n,), nd, 0.5, 0.7)),
        ]
        for t, ours in pairs:
            assert_ulp(ours, t.numpy())
        _same_state(g)


# ---------------------------------------------------------------------- seeds and state


def test_seed_mapping_like_torch() -> None:
    torch = _torch()
    for seed in [-1, -(2**63), 2**63, 2**64 - 1, 0, 2**32 + 5]:
        torch.manual_seed(seed)
        g = wr.Generator().manual_seed(seed)
        assert g.initial_seed() == torch.initial_seed()
        _same_state(g)
    with pytest.raises(ValueError, match="manual_seed"):
        wr.Generator().manual_seed(2**64)
    with pytest.raises(ValueError, match="manual_seed"):
        wr.Generator().manual_seed(-(2**63) - 1)


def test_seeds_share_low_32_bits() -> None:
    a = wr.Generator().manual_seed(5)._uniform((8,), np.float32)
    b = wr.Generator().manual_seed(2**32 + 5)._uniform((8,), np.float32)
    np.testing.assert_array_equal(a, b)


def test_nondeterministic_seed() -> None:
    g = wr.Generator()
    s = g.seed()
    assert 0 <= s < 2**63 and g.initial_seed() == s
    np.testing.assert_array_equal(g._uniform((4,), np.float32),
                                  wr.Generator().manual_seed(s)._uniform((4,), np.float32))


def test_state_round_trip_restores_stream_and_cache() -> None:
    g = wr.Generator().manual_seed(17)
    g._normal((3,), np.float64)  # leaves a cached sine sample
    state = g.get_state()
    assert state.dtype == np.uint8 and state.shape == (wr.STATE_SIZE,)
    first = np.concatenate([g._normal((5,), np.float64), g._uniform((700,), np.float64)])
    g.set_state(state)
    again = np.concatenate([g._normal((5,), np.float64), g._uniform((700,), np.float64)])
    np.testing.assert_array_equal(first, again)
    assert wr.Generator().set_state(bytes(state)).initial_seed() == 17


def test_state_exchange_with_torch() -> None:
    torch = _torch()
    torch.manual_seed(21)
    torch.randn(3, dtype=torch.float64)  # torch state now holds a cached normal
    torch.rand(1000)
    g = wr.Generator().set_state(torch.get_rng_state())  # tensors: anything with .numpy()
    _same_state(g)
    assert_ulp(g._normal((5,), np.float64), torch.randn(5, dtype=torch.float64).numpy())
    g._uniform((10,), np.float32)
    torch.set_rng_state(torch.from_numpy(g.get_state()))
    assert_ulp(g._normal((40,), np.float32), torch.randn(40).numpy())
    _same_state(g)


@pytest.mark.parametrize("bad, match", [
    (np.zeros(10, dtype=np.uint8), "5056 bytes, got 10"),
    (np.zeros(5056, dtype=np.int32), "uint8"),
])
def test_set_state_rejects_bad_input(bad: np.ndarray, match: str) -> None:
    with pytest.raises(RuntimeError, match=match):
        wr.Generator().set_state(bad)


def test_set_state_rejects_invalid_fields() -> None:
    state = wr.Generator().get_state()
    state[8:12] = np.array([0], dtype="<i4").view(np.uint8)  # left = 0
    with pytest.raises(RuntimeError, match="invalid mt19937 state"):
        wr.Generator().set_state(state)


def test_module_level_functions() -> None:
    assert wr.manual_seed(3) is wr.default_generator
    assert wr.initial_seed() == 3
    state = wr.get_rng_state()
    a = wr.default_generator._uniform((5,), np.float32)
    wr.set_rng_state(state)
    np.testing.assert_array_equal(a, wr.default_generator._uniform((5,), np.float32))
    s = wr.seed()
    assert wr.initial_seed() == s
    assert wr.default_generator.device == "cpu"


def test_fork_rng_restores_default_state() -> None:
    wr.manual_seed(12)
    before = wr.get_rng_state()
    with wr.fork_rng():
        wr.default_generator._normal((33,), np.float32)
    np.testing.assert_array_equal(wr.get_rng_state(), before)
    with wr.fork_rng(enabled=False):
        wr.default_generator._uniform((1,), np.float32)
    assert not np.array_equal(wr.get_rng_state(), before)


# ---------------------------------------------------------------------- errors


def test_randint_errors() -> None:
    g = wr.Generator()
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        g._randint(5, 5, (3,), np.int64)
    with pytest.raises(RuntimeError, match="from=6 >= to=5"):
        g._randint(6, 5, (3,), np.int64)
    with pytest.raises(RuntimeError, match=r"high - 1 = 299 is out of bounds for dtype uint8"):
        g._randint(0, 300, (3,), np.uint8)
    with pytest.raises(RuntimeError, match=r"low=-200 is out of bounds for dtype int8"):
        g._randint(-200, 3, (3,), np.int8)


def test_other_errors() -> None:
    g = wr.Generator()
    with pytest.raises(RuntimeError, match=r"randperm\(\): n must be non-negative, got n=-1"):
        g._randperm(-1, np.int64)
    with pytest.raises(RuntimeError, match=r"n=300 is too large for dtype uint8"):
        g._randperm(300, np.uint8)
    with pytest.raises(RuntimeError, match=r"from=1.0 > to=0.0"):
        g._uniform((3,), np.float32, 1.0, 0.0)
    with pytest.raises(RuntimeError, match=r"std=-1.0"):
        g._normal((3,), np.float32, 0.0, -1.0)
    with pytest.raises(RuntimeError, match=r"p=1.5"):
        g._bernoulli_scalar((3,), 1.5, np.float32)
    with pytest.raises(RuntimeError, match=r"bernoulli\(\)"):
        g._bernoulli(np.array([0.5, 1.5], dtype=np.float32), np.float32)
    with pytest.raises(TypeError, match=r"normal_\(\): expected a floating dtype"):
        g._normal((3,), np.int64)
    with pytest.raises(RuntimeError, match="cpu"):
        wr.Generator(device="cuda")


# ---------------------------------------------------------------------- exactness of the fast paths


def _rn32(exact: Fraction) -> np.float32:
    """``exact`` rounded once to float32 (to nearest, ties to even), by exact comparison."""
    near = np.float32(float(exact))
    cands = [np.nextafter(near, np.float32(-np.inf)), near, np.nextafter(near, np.float32(np.inf))]
    dist = [abs(Fraction(float(c)) - exact) for c in cands]
    best = min(dist)
    ties = [c for c, d in zip(cands, dist) if d == best]
    return next((c for c in ties if not int(np.array(c).view(np.int32)) & 1), ties[0])


def _double_rounding_cases(rng: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
    """float32 (a, b, c) whose float64 sum a * b + c lands on a float32 midpoint, inexactly.

    a * b = 2**(e - 24) * (1 - 2**-46) (just below half an ulp of c, beyond float64's reach),
    so RN64(a * b + c) is the midpoint above c, while the exact sum lies below it.
    """
    e = rng.integers(-60, 60, count)
    sign = rng.choice([-1.0, 1.0], count)
    mant = 1.0 + rng.integers(0, 2**23, count) * 2.0**-23  # c = mant * 2**e, any parity
    c = sign * mant * 2.0 ** e.astype(np.float64)
    s = rng.integers(-10, 10, count).astype(np.float64)
    a = sign * (1 + 2.0**-23) * 2.0 ** (e - 24 - s)
    b = (1 - 2.0**-23) * 2.0**s
    return a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)


def test_fma32_is_correctly_rounded() -> None:
    rng = np.random.default_rng(7)
    n = 400
    # random operands over a wide exponent range (cancellations included), then near-ties
    def rand32(k: int) -> np.ndarray:
        return (rng.standard_normal(k) * 2.0 ** rng.integers(-40, 40, k)).astype(np.float32)

    a, b, c = rand32(n), rand32(n), rand32(n)
    c[:50] = -(a[:50].astype(np.float64) * b[:50]).astype(np.float32)  # heavy cancellation
    ta, tb, tc = _double_rounding_cases(rng, n)
    a, b, c = np.concatenate([a, ta]), np.concatenate([b, tb]), np.concatenate([c, tc])
    got = wr._fma32(a, b, c).astype(np.float32)
    want = np.array([_rn32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)))
                     for x, y, z in zip(a, b, c)], dtype=np.float32)
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))
    # the near-tie cases are real: plain float64 arithmetic rounds half of them wrongly
    naive = (ta.astype(np.float64) * tb + tc).astype(np.float32)
    assert np.count_nonzero(naive != want[n:]) > n // 4
    # scalar c (the path normal_(mean, std) and uniform_(low, high) take), near-ties included
    for cval in (np.float32(0.75), np.float32(-3.0), np.float32(1e-38), np.float32(0.0)):
        got = wr._fma32(ta, tb, float(cval)).astype(np.float32)
        want = np.array([_rn32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(cval)))
                         for x, y in zip(ta, tb)], dtype=np.float32)
        np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def _checked_fma(a: Any, b: Any, c: Any) -> np.ndarray:
    """The unchecked polynomial step, asserting it equals the correctly rounded one."""
    fast = wr._fma32_step(a, b, c)
    exact = wr._fma32(a, b, c)
    assert np.array_equal(fast, exact), "a float32 midpoint reached a polynomial step"
    return fast


def test_cephes_polynomial_steps_never_meet_a_midpoint() -> None:
    """The fma steps of logf/sincosf skip the midpoint check: verify it over their inputs.

    Their inputs are 1 - k * 2**-24 (log) and float32(2 pi) * k * 2**-24 (sincos) for the
    2**24 values of k. By default a spread sample runs (plus the ends); set
    WEIGHTWISE_EXHAUSTIVE=1 to run all 2**24 (about 20 s).
    """
    full = os.environ.get("WEIGHTWISE_EXHAUSTIVE") == "1"
    stride = 1 if full else 17
    for start in range(0, 1 << 24, 1 << 20):
        k = np.arange(start, start + (1 << 20), stride, dtype=np.int64)
        k = np.concatenate([k, [0, 1, 2, 3, (1 << 24) - 1, (1 << 23), (1 << 23) - 1]])
        k = k[: k.size - k.size % 16] if k.size % 16 else k
        u = k * 2.0**-24
        log = wr._logf_cephes(1.0 - u, fma=_checked_fma)
        theta = wr._r32(u * wr._TWO_PI32).reshape(-1, 8)
        wr._sincosf_cephes_blocks(theta, fma=_checked_fma)
        np.testing.assert_array_equal(log, wr._logf_cephes(1.0 - u))


@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (0.0, 0.02), (-0.0, 1.0), (-0.0, 3.5),
                                       (0.3, 1.7), (-5.0, 1e-3), (1e-30, 2.0), (1e4, 1.0)])
def test_normal_float32_is_bit_identical(mean: float, std: float) -> None:
    torch = _torch()
    torch.manual_seed(3)
    g = wr.Generator().manual_seed(3)
    for n in (16, 17, 256, 1000, 50_003, 70_000):  # several chunks, ragged tails
        expected = torch.empty(n).normal_(mean, std).numpy()
        got = g._normal((n,), np.float32, mean, std)
        np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))
        _same_state(g)


@pytest.mark.parametrize("dtype", list(FLOAT_DTYPES))
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (0.0, 3.0), (-1.0, 1.0), (-0.0, 2.0),
                                       (0.1, 0.7), (-3e-7, 5.0), (1000.0, 1001.5)])
def test_uniform_is_bit_identical(dtype: str, low: float, high: float) -> None:
    torch = _torch()
    torch.manual_seed(11)
    g = wr.Generator().manual_seed(11)
    expected = _as_np(torch.empty(20_000, dtype=getattr(torch, dtype)).uniform_(low, high))
    got = g._uniform((20_000,), FLOAT_DTYPES[dtype], low, high)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))
    _same_state(g)


@pytest.mark.parametrize("n", [2, 3, 5, 17, 4095, 4096, 4097, 30_000])
def test_randperm_rounds_equal_the_serial_swaps(n: int) -> None:
    rng = np.random.default_rng(n)
    targets = np.arange(n - 1) + rng.integers(0, np.arange(n, 1, -1))
    perm = list(range(n))
    for i, j in enumerate(targets.tolist()):
        perm[i], perm[j] = perm[j], perm[i]
    np.testing.assert_array_equal(wr._apply_swaps(n, targets.astype(np.int64)), perm)


def test_uniform_exact_sum_bound() -> None:
    """Where ``_exact_sum_bits`` allows it, the float64 sum k * scale + low is exact."""
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(300):
        width = float(np.float32(rng.uniform(0.5, 2.0) * 2.0 ** rng.integers(-30, 30)))
        low = float(np.float32(rng.choice([-1, 1]) * rng.uniform(0.5, 2.0)
                               * 2.0 ** rng.integers(-60, 30)))
        if wr._exact_sum_bits(width, low) > 53:
            continue
        checked += 1
        k = rng.integers(0, 2**24, 20)
        scale = width * 2.0**-24
        got = k.astype(np.float64) * scale + low
        for kk, g in zip(k.tolist(), got.tolist()):
            assert Fraction(g) == kk * Fraction(scale) + Fraction(low)
    assert checked > 50
