"""The one random source: PyTorch's CPU generator (MT19937) reproduced on NumPy.

``manual_seed(s)`` followed by any sampler here yields the numbers PyTorch's CPU kernels yield
for the same seed, dtype and shape, because both read the same MT19937 stream the same way and
round the same way:

* **Engine.** MT19937 seeded like the classic ``init_genrand(seed & 0xffffffff)`` (NumPy's
  ``MT19937._legacy_seeding``); ``random()`` is one 32-bit output, ``random64()`` two, the first
  in the high half. Seeds map to uint64 as in PyTorch (``-1`` becomes ``2**64 - 1``); only their
  low 32 bits reach the engine, so ``2**32 + 5`` and ``5`` give the same stream while
  ``initial_seed()`` reports the full value.
* **Uniform** (``rand``, ``uniform_``): one draw per element. float32, float16 and bfloat16 take
  the low 24 bits of ``random()`` times ``2**-24`` and compute ``x * (high - low) + low`` as one
  fused multiply-add in float32, then round to the element type; float64 takes 53 bits of
  ``random64()`` and a float64 fused multiply-add. A value that rounds up to ``high`` becomes
  ``low``, keeping ``[low, high)``.
* **Normal** (``randn``, ``normal_``): with 16 elements or more, Box-Muller on blocks of 16
  uniforms (``u1 = 1 - x[j]`` for the radius, ``u2 = x[j + 8]`` for the angle; cosines fill the
  first 8, sines the last 8); when the size is not a multiple of 16, 16 fresh uniforms redo the
  last 16 elements. float32/float64 draw all ``n`` uniforms first, float16/bfloat16 only whole
  blocks (they go through a float32 buffer). On x86, PyTorch's float32 kernel evaluates ``log``
  and ``sincos`` with avx_mathfun's Cephes polynomials; they are reproduced bit for bit,
  including the multiply-adds the compiler fuses (emulated exactly in float64). float64 uses
  the C library, as here (through ``math``). Under 16 elements, each element is a float64 Box-Muller sample from two
  ``random64()`` uniforms (angle first, radius ``sqrt(-2 log1p(-u2))``); the sine twin is cached
  in the generator (part of its state) and served to the next small normal draw, unscaled.
* **randint**: ``random() % (high - low) + low``, or ``random64() % (high - low) + low`` when
  the range is ``2**28`` or more, whatever the dtype.
* **randperm**: for ``n < 2**32 // 20`` swap position ``i`` with ``i + random() % (n - i)``
  (the swaps run in vectorised rounds of independent swaps); larger ``n`` uses PyTorch's
  "inside-out" shuffle on ``random64()``.
* **bernoulli**: with a tensor ``p``, one uniform per element, ``u < p`` (a float64 uniform if
  ``p`` is float64, float32 otherwise); with a float ``p`` (``bernoulli_(p)``, dropout), a
  float64 uniform per element.
* **exponential / geometric / cauchy / log_normal**: float64 transforms of one ``random64()``
  uniform per element (log_normal: ``exp`` of the element-by-element normal path, cache
  included).

State: ``get_state()`` returns the same 5056 bytes as ``torch.get_rng_state()`` (PyTorch's
``CPUGeneratorImplState``, little-endian), so states can be exchanged both ways.

What does not match exactly, and why:

* On CPUs other than x86, PyTorch's float32 normal kernel calls the C library's ``logf``,
  ``cosf`` and ``sinf``; here they are float64 results rounded to float32, which agree except
  for rare last-bit cases. (On x86 the match is exact.)
* Fused multiply-adds in float64 (float64 ``uniform_``/``normal_`` with a non-zero ``low`` or
  ``mean``) are emulated with an exact product and a two-sum, rounded twice; this differs from
  a true fused operation only in rare ties, by one ulp. (Float32 ones are exact: the float64
  sum is checked for float32 midpoints and corrected.)
* ``randint`` into a float dtype with bounds beyond its mantissa (``2**24`` for float32,
  ``2**53`` for float64), which PyTorch only warns about, consumes the stream like PyTorch but
  does not reproduce its values.
* Hand-made states whose ``left`` and ``next`` fields disagree (never produced by a generator)
  cannot be represented on NumPy's engine and are rejected by ``set_state``.
* randperm for ``n >= 2**32 // 20`` is exact but runs a Python loop (the shuffle is serial).
* The default generator is seeded non-deterministically at import, as PyTorch's is; call
  ``manual_seed`` for reproducible numbers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import ml_dtypes
import numpy as np

# The engine, the exact float arithmetic and the normal kernels live in private modules; the
# names that tests and benchmarks reach through this module are re-exported here.
from ._random_engine import DEFAULT_SEED as DEFAULT_SEED
from ._random_engine import STATE_SIZE as STATE_SIZE
from ._random_engine import _GeneratorCore
from ._random_math import _affine64, _fma64_scalar, _libm, _scaled_fma32, _scaled_fma64
from ._random_math import _exact_sum_bits as _exact_sum_bits
from ._random_math import _fma32 as _fma32
from ._random_math import _fma32_step as _fma32_step
from ._random_math import _r32 as _r32
from ._random_normal import _TWO_PI32 as _TWO_PI32
from ._random_normal import _box_muller32, _box_muller64
from ._random_normal import _logf_cephes as _logf_cephes
from ._random_normal import _sincosf_cephes_blocks as _sincosf_cephes_blocks

__all__ = [
    "Generator",
    "default_generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "fork_rng",
]

_RANDPERM_SMALL_N = 0xFFFFFFFF // 20  # PyTorch switches randperm algorithm here
_RANDPERM_ROUNDS_MIN = 4096  # from here on randperm applies its swaps in vectorised rounds
_CHUNK = 1 << 13  # float32 normals are computed this many at a time (a multiple of 16)

_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
# Mantissa digits (numeric_limits<T>::digits): how many random bits a uniform of that type uses.
_DIGITS = {np.dtype(np.float16): 11, _BFLOAT16: 8, np.dtype(np.float32): 24, np.dtype(np.float64): 53}


def _as_np_dtype(dtype: Any) -> np.dtype:
    """Accept a NumPy dtype, anything ``np.dtype`` takes, or a weightwise dtype (``.np``)."""
    return np.dtype(getattr(dtype, "np", dtype))


def _float_digits(dtype: np.dtype, api: str) -> int:
    try:
        return _DIGITS[dtype]
    except KeyError:
        raise TypeError(f"{api}: expected a floating dtype (float16, bfloat16, float32, "
                        f"float64), got {dtype}") from None


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


class Generator(_GeneratorCore):
    """PyTorch's CPU random generator: MT19937 plus the cached float/double normal samples.

    Seeding, the state bytes and the raw draws come from ``_GeneratorCore``; the samplers
    below turn those draws into each distribution exactly as PyTorch's CPU kernels do.

    Args:
        device: only ``"cpu"`` is supported.

    Example:
        >>> g = Generator().manual_seed(0)
        >>> g._uniform((3,), np.float32)
        array([0.4962566 , 0.7682218 , 0.08847743], dtype=float32)
    """

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(f"Generator(): only the 'cpu' device is supported, got {device!r}")
        self.device = "cpu"
        super().__init__()

    def __repr__(self) -> str:
        return f"<weightwise.Generator device='cpu' initial_seed={self._initial_seed}>"

    # ------------------------------------------------------------------ samplers

    def _uniform(self, shape: Sequence[int], np_dtype: Any, low: float = 0.0,
                 high: float = 1.0) -> np.ndarray:
        """``torch.rand`` / ``Tensor.uniform_(low, high)``: a new array of ``shape``."""
        dtype = _as_np_dtype(np_dtype)
        _float_digits(dtype, "uniform_()")
        frm, to = dtype.type(low), dtype.type(high)  # PyTorch casts the bounds first
        if not frm <= to:
            raise RuntimeError(f"uniform_(): expects to return a [from, to) range, but found "
                               f"from={low} > to={high}")
        n = _numel(shape)
        if dtype == np.float64:
            bits = self._random64(n) & np.uint64((1 << 53) - 1)
            out = _scaled_fma64(bits.view(np.int64), 2.0**-53, float(high) - float(low),
                                float(low))
        else:
            # Half types compute in float32 from the float32 bounds, then round.
            lo32, hi32 = np.float32(low), np.float32(high)
            bits = np.bitwise_and(self._random(n), 0xFFFFFF).view(np.int64)
            out = _scaled_fma32(bits, float(hi32 - lo32), float(lo32))
            if dtype != np.float32:
                out = out.astype(dtype)
        # Rounding can land on `high` (never above it); PyTorch folds it back to `low`.
        if n and out.max() >= to:
            out[out == to] = frm
        return out.reshape(shape)

    def _normal(self, shape: Sequence[int], np_dtype: Any, mean: float = 0.0,
                std: float = 1.0) -> np.ndarray:
        """``torch.randn`` / ``Tensor.normal_(mean, std)``: a new array of ``shape``."""
        dtype = _as_np_dtype(np_dtype)
        _float_digits(dtype, "normal_()")
        if not std >= 0.0:
            raise RuntimeError(f"normal_(): expects std >= 0.0, but found std={std}")
        n = _numel(shape)
        if n >= 16:
            out = self._normal_blocks(n, dtype, mean, std)
        else:
            std64, mean64 = float(std), float(mean)
            out = np.array([_fma64_scalar(v, std64, mean64)
                            for v in self._standard_normal_scalar(n)], dtype=np.float64)
        return out.astype(dtype, copy=False).reshape(shape)

    def _standard_normal_scalar(self, n: int) -> list[float]:
        """``n`` float64 N(0, 1) samples of PyTorch's element-by-element path.

        Each Box-Muller pair takes two ``random64()`` uniforms (``u1`` for the angle, ``u2``
        for the radius) and yields ``r cos``, then ``r sin``; a pending ``r sin`` is kept in
        the generator and served first, even to a later call.
        """
        out: list[float] = []
        if n and self._next_double_normal is not None:
            out.append(self._next_double_normal)
            self._next_double_normal = None
        pairs = (n - len(out) + 1) // 2
        if pairs:
            u = self._unit(2 * pairs, np.dtype(np.float64))
            if pairs <= 64:  # plain floats: the same libm calls without NumPy's overhead
                flat = u.tolist()
                two_pi, log1p, cos, sin = 2.0 * math.pi, math.log1p, math.cos, math.sin
                for k in range(0, 2 * pairs, 2):
                    rad = math.sqrt(-2.0 * log1p(-flat[k + 1]))
                    angle = two_pi * flat[k]
                    out += (rad * cos(angle), rad * sin(angle))
            else:
                uu = u.reshape(pairs, 2)
                radius = np.sqrt(-2.0 * _libm(math.log1p, -uu[:, 1]))
                theta = 2.0 * math.pi * uu[:, 0]
                both = np.stack([radius * _libm(math.cos, theta),
                                 radius * _libm(math.sin, theta)], 1)
                out += both.reshape(-1).tolist()  # cos, sin, cos, sin, ...
            if len(out) > n:
                self._next_double_normal = out.pop()
        return out

    def _normal_blocks(self, n: int, dtype: np.dtype, mean: float, std: float) -> np.ndarray:
        """PyTorch's ``normal_fill``: Box-Muller per 16 uniforms, then redo a ragged tail.

        Float32/float64 draw all ``n`` uniforms before the tail's 16; float16/bfloat16 draw only
        whole blocks, then the tail (they fill a float32 buffer block by block).
        """
        head = n - n % 16
        if dtype == np.float64:
            data = self._unit(n, dtype)
            out = np.empty(n, dtype=np.float64)
            out[:head] = _box_muller64(data[:head], mean, std)
            if n % 16:
                out[n - 16:] = _box_muller64(self._unit(16, dtype), mean, std)
            return out
        std32, mean32 = float(np.float32(std)), float(np.float32(mean))
        data32 = self._unit32(n if dtype == np.float32 else head)
        out32 = np.empty(n, dtype=np.float32)
        if n % 16 and head < _CHUNK:  # small: one pass over the blocks and the tail's 16
            both = np.concatenate([data32[:head], self._unit32(16)])
            res = np.empty(head + 16, dtype=np.float32)
            _box_muller32(both, mean32, std32, res)
            out32[:head] = res[:head]
            out32[n - 16:] = res[head:]
            return out32
        for start in range(0, head, _CHUNK):  # chunks that stay in cache
            stop = min(head, start + _CHUNK)
            _box_muller32(data32[start:stop], mean32, std32, out32[start:stop])
        if n % 16:
            _box_muller32(self._unit32(16), mean32, std32, out32[n - 16:])
        return out32

    def _randint(self, low: int, high: int, shape: Sequence[int], np_dtype: Any) -> np.ndarray:
        """``torch.randint(low, high, shape)``: integers in ``[low, high)``."""
        dtype = _as_np_dtype(np_dtype)
        low, high = int(low), int(high)
        if low >= high:
            raise RuntimeError(f"randint(): random_ expects 'from' to be less than 'to', but got "
                               f"from={low} >= to={high}")
        _check_int_bounds(low, high, dtype)
        span = high - low
        n = _numel(shape)
        # PyTorch's x86 builds switch to 64-bit draws at 2**28 to limit the modulo bias.
        bits = self._random64(n) if span >= 1 << 28 else self._random(n)
        # bits % span, through NumPy's fast division by a scalar (remainder has none)
        quot = np.floor_divide(bits, np.uint64(span))
        quot *= np.uint64(span)
        vals = np.subtract(bits, quot, out=bits).view(np.int64)
        if low:
            vals += np.int64(low)
        return vals.astype(dtype, copy=False).reshape(shape)

    def _randperm(self, n: int, np_dtype: Any = np.int64) -> np.ndarray:
        """``torch.randperm(n)``: a permutation of ``0 .. n-1``."""
        dtype = _as_np_dtype(np_dtype)
        n = int(n)
        if n < 0:
            raise RuntimeError(f"randperm(): n must be non-negative, got n={n}")
        _check_randperm_dtype(n, dtype)
        if n < _RANDPERM_SMALL_N:
            perm = self._randperm_small(n)
        else:
            perm = self._randperm_large(n)
        return np.asarray(perm, dtype=np.int64).astype(dtype)

    def _randperm_small(self, n: int) -> Any:
        """Swap position ``i`` with ``i + random() % (n - i)`` for ``i = 0 .. n-2``."""
        # The draws and targets do not depend on the swaps: compute them in one batch.
        targets = self._random(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)
        targets += np.arange(n - 1, dtype=np.uint64)
        if n < _RANDPERM_ROUNDS_MIN:
            perm = list(range(n))
            for i, j in enumerate(targets.tolist()):
                perm[i], perm[j] = perm[j], perm[i]
            return perm
        return _apply_swaps(n, targets.view(np.int64))

    def _randperm_large(self, n: int) -> list[int]:
        perm = [0] * n
        chunk = 1 << 20
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            bits = self._random64(stop - start)
            picks = (bits % np.arange(start + 1, stop + 1, dtype=np.uint64)).tolist()
            for i, z in zip(range(start, stop), picks):
                perm[i] = perm[z]
                perm[z] = i
        return perm

    def _bernoulli(self, p: np.ndarray, np_dtype: Any) -> np.ndarray:
        """``torch.bernoulli(p)``: one draw per element of ``p``, 1 where ``u < p``."""
        p = np.asarray(p)
        dtype = _as_np_dtype(np_dtype)
        if p.size and not (np.all(p >= 0) and np.all(p <= 1)):
            raise RuntimeError("bernoulli(): expects all probabilities p to be in [0, 1], got "
                               f"values in [{np.min(p)}, {np.max(p)}]")
        if p.dtype == np.float64:
            u = self._unit(p.size, np.dtype(np.float64))
            hit = u < p.ravel()
        else:
            u = self._unit(p.size, np.dtype(np.float32)).astype(np.float32)
            hit = u < p.ravel().astype(np.float32)
        return hit.astype(dtype).reshape(p.shape)

    def _bernoulli_scalar(self, shape: Sequence[int], p: float, np_dtype: Any) -> np.ndarray:
        """``Tensor.bernoulli_(p)`` with a float ``p`` (dropout's mask): 1 where ``u < p``.

        One float64 uniform (``random64()``) per element.
        """
        dtype = _as_np_dtype(np_dtype)
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise RuntimeError(f"bernoulli_(): expects p to be in [0, 1], but got p={p}")
        # u = m * 2**-53 < p  <=>  m < p * 2**53 (exact)  <=>  m < ceil(p * 2**53)
        m = self._random64(_numel(shape)) & np.uint64((1 << 53) - 1)
        return np.less(m, np.uint64(math.ceil(p * 2.0**53))).astype(dtype).reshape(shape)

    # ------------------------------------------------------------------ other distributions

    def _exponential(self, shape: Sequence[int], np_dtype: Any, lambd: float = 1.0) -> np.ndarray:
        """``Tensor.exponential_(lambd)``: ``-1/lambd * log1p(-u)`` in float64."""
        dtype = _as_np_dtype(np_dtype)
        _float_digits(dtype, "exponential_()")
        if not lambd > 0.0:
            raise RuntimeError(f"exponential_(): expects lambda > 0.0, but found lambda={lambd}")
        u = self._unit(_numel(shape), np.dtype(np.float64))
        out = (-1.0 / float(lambd)) * _libm(math.log1p, -u)
        return out.astype(dtype).reshape(shape)

    def _geometric(self, shape: Sequence[int], p: float, np_dtype: Any) -> np.ndarray:
        """``Tensor.geometric_(p)``: ``ceil(log(u) / log1p(-p))``, trials until a success."""
        dtype = _as_np_dtype(np_dtype)
        p = float(p)
        if not 0.0 < p < 1.0:
            raise RuntimeError(f"geometric_(): expects p to be in (0, 1), but got p={p}")
        u = self._unit(_numel(shape), np.dtype(np.float64))
        logs = _libm(lambda v: math.log(v) if v > 0.0 else -math.inf, u)
        return np.ceil(logs / math.log1p(-p)).astype(dtype).reshape(shape)

    def _cauchy(self, shape: Sequence[int], np_dtype: Any, median: float = 0.0,
                sigma: float = 1.0) -> np.ndarray:
        """``Tensor.cauchy_(median, sigma)``: ``median + sigma * tan(pi * (u - 0.5))``."""
        dtype = _as_np_dtype(np_dtype)
        _float_digits(dtype, "cauchy_()")
        u = self._unit(_numel(shape), np.dtype(np.float64))
        out = float(median) + float(sigma) * _libm(math.tan, math.pi * (u - 0.5))
        return out.astype(dtype).reshape(shape)

    def _log_normal(self, shape: Sequence[int], np_dtype: Any, mean: float = 1.0,
                    std: float = 2.0) -> np.ndarray:
        """``Tensor.log_normal_(mean, std)``: ``exp`` of the element-by-element normal path."""
        dtype = _as_np_dtype(np_dtype)
        _float_digits(dtype, "log_normal_()")
        if not std > 0.0:
            raise RuntimeError(f"log_normal_(): expects std > 0.0, but found std={std}")
        z = _affine64(np.array(self._standard_normal_scalar(_numel(shape)), dtype=np.float64),
                      float(std), float(mean))
        return _libm(math.exp, z).astype(dtype).reshape(shape)


def _apply_swaps(n: int, targets: np.ndarray) -> np.ndarray:
    """``range(n)`` after swapping ``i`` with ``targets[i] >= i`` for ``i = 0, 1, ...`` in order.

    Swaps that touch disjoint positions commute, so the sequence runs in rounds: each round
    performs every pending swap that is the earliest pending swap on both of its positions
    (each position is claimed by the smallest pending index touching it). Few rounds suffice
    (the dependency chains of a random shuffle are short: about 50 rounds for n = 10**6).
    """
    perm = np.arange(n, dtype=np.int64)
    i = np.arange(targets.size, dtype=np.int64)
    moving = targets != i
    i, j = i[moving], targets[moving]
    owner = np.empty(n, dtype=np.int64)
    while i.size:
        owner[j] = n
        owner[i] = i  # no other pending swap has this first position
        np.minimum.at(owner, j, i)
        ready = (owner[i] == i) & (owner[j] == i)
        ri, rj = i[ready], j[ready]
        perm[ri], perm[rj] = perm[rj], perm[ri]
        waiting = ~ready
        i, j = i[waiting], j[waiting]
    return perm


def _check_int_bounds(low: int, high: int, dtype: np.dtype) -> None:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = int(info.min), int(info.max)
    elif dtype.kind == "b":
        lo, hi = 0, 1
    else:
        return  # PyTorch only warns when a float type cannot hold every integer in range
    if low < lo:
        raise RuntimeError(f"randint(): low={low} is out of bounds for dtype {dtype} "
                           f"(minimum {lo})")
    if high - 1 > hi:
        raise RuntimeError(f"randint(): high - 1 = {high - 1} is out of bounds for dtype "
                           f"{dtype} (maximum {hi})")


def _check_randperm_dtype(n: int, dtype: np.dtype) -> None:
    if dtype.kind in "iu":
        limit = int(np.iinfo(dtype).max) + 1
    else:
        limit = (1 << _float_digits(dtype, "randperm()")) + 1
    if n > limit:
        raise RuntimeError(f"randperm(): n={n} is too large for dtype {dtype} "
                           f"(at most {limit} values)")


# ---------------------------------------------------------------------- the default generator

default_generator = Generator()
default_generator.seed()  # PyTorch seeds its default CPU generator non-deterministically


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (as ``torch.manual_seed``) and return it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from OS entropy and return the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's initial seed (uint64)."""
    return default_generator.initial_seed()


def get_rng_state() -> np.ndarray:
    """The default generator's state: 5056 uint8 bytes, exchangeable with PyTorch's."""
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore the default generator's state (ndarray, bytes, or tensor with ``.numpy()``)."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda") -> Iterator[None]:
    """Run a block and restore the default generator's state afterwards (CPU only).

    ``devices`` and ``device_type`` are accepted for PyTorch compatibility and ignored: there
    are no accelerator generators.

    Example:
        >>> with fork_rng():
        ...     _ = default_generator._uniform((2,), np.float32)
    """
    if not enabled:
        yield
        return
    saved = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(saved)
