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
import os
import platform
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ml_dtypes
import numpy as np

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

DEFAULT_SEED = 67280421310721  # what torch.Generator() starts from
STATE_SIZE = 5056  # sizeof(CPUGeneratorImplState)
_MT_N = 624  # MT19937 words
_UINT64_MASK = (1 << 64) - 1
_RANDPERM_SMALL_N = 0xFFFFFFFF // 20  # PyTorch switches randperm algorithm here
_RANDPERM_ROUNDS_MIN = 4096  # from here on randperm applies its swaps in vectorised rounds
_CHUNK = 1 << 13  # float32 normals are computed this many at a time (a multiple of 16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
# PyTorch's x86 builds run float32 Box-Muller through avx_mathfun's polynomials; other CPUs
# call the C library. Which one ran decides the last bits, so follow the platform.
_AVX2_NORMAL = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
# Mantissa digits (numeric_limits<T>::digits): how many random bits a uniform of that type uses.
_DIGITS = {np.dtype(np.float16): 11, _BFLOAT16: 8, np.dtype(np.float32): 24, np.dtype(np.float64): 53}

# CPUGeneratorImplState: the legacy THGenerator POD followed by the float normal cache.
_STATE_DTYPE = np.dtype(
    {
        "names": ["seed", "left", "seeded", "next", "key", "normal_x", "normal_y", "normal_rho",
                  "normal_is_valid", "float_normal", "float_normal_is_valid"],
        "formats": ["<i8", "<i4", "<i4", "<u8", ("<u8", _MT_N), "<f8", "<f8", "<f8",
                    "<i4", "<f4", "u1"],
        "offsets": [0, 8, 12, 16, 24, 5016, 5024, 5032, 5040, 5048, 5052],
        "itemsize": STATE_SIZE,
    }
)


def _as_np_dtype(dtype: Any) -> np.dtype:
    """Accept a NumPy dtype, anything ``np.dtype`` takes, or a weightwise dtype (``.np``)."""
    return np.dtype(getattr(dtype, "np", dtype))


def _float_digits(dtype: np.dtype, api: str) -> int:
    try:
        return _DIGITS[dtype]
    except KeyError:
        raise TypeError(f"{api}: expected a floating dtype (float16, bfloat16, float32, "
                        f"float64), got {dtype}") from None


def _seed_to_uint64(seed: Any) -> int:
    """Map a seed to uint64 as PyTorch does: negatives wrap, out-of-range values raise."""
    value = int(seed)
    if not -(1 << 63) <= value <= _UINT64_MASK:
        raise ValueError(f"manual_seed(): seed must be in [-2**63, 2**64 - 1], got {value}")
    return value & _UINT64_MASK


def _numel(shape: Sequence[int]) -> int:
    return int(math.prod(shape))


class Generator:
    """PyTorch's CPU random generator: MT19937 plus the cached float/double normal samples.

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
        self._engine = np.random.MT19937(0)
        self.manual_seed(DEFAULT_SEED)

    # ------------------------------------------------------------------ seeding and state

    def manual_seed(self, seed: int) -> Generator:
        """Seed the engine (``init_genrand(seed & 0xffffffff)``) and clear the normal caches."""
        self._initial_seed = _seed_to_uint64(seed)
        self._engine._legacy_seeding(self._initial_seed & 0xFFFFFFFF)
        # PyTorch's engine keeps next_ = 0 until its first draw; NumPy reports pos = 624.
        self._fresh = True
        self._next_double_normal: float | None = None
        self._next_float_normal: float | None = None
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy (63 bits, like PyTorch) and return it."""
        value = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed last given to ``manual_seed``/``seed``, as uint64."""
        return self._initial_seed

    def get_state(self) -> np.ndarray:
        """The state as 5056 uint8 bytes, laid out exactly like ``torch.get_rng_state()``."""
        mt = self._engine.state["state"]
        pos = int(mt["pos"])
        rec = np.zeros((), dtype=_STATE_DTYPE)
        rec["seed"] = np.uint64(self._initial_seed).view(np.int64)
        rec["left"] = _MT_N + 1 - pos
        rec["seeded"] = 1
        rec["next"] = 0 if self._fresh else pos
        rec["key"] = mt["key"]
        if self._next_double_normal is not None:
            rec["normal_is_valid"] = 1
            rec["normal_y"] = self._next_double_normal
        if self._next_float_normal is not None:
            rec["float_normal_is_valid"] = 1
            rec["float_normal"] = self._next_float_normal
        return np.frombuffer(rec.tobytes(), dtype=np.uint8).copy()

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from ``get_state()`` or ``torch.get_rng_state()`` (5056 uint8 bytes).

        Raises:
            RuntimeError: wrong size or fields out of range.
        """
        raw = _state_bytes(new_state)
        if len(raw) != STATE_SIZE:
            raise RuntimeError(f"set_state(): expected a generator state of {STATE_SIZE} bytes, "
                               f"got {len(raw)} bytes")
        rec = np.frombuffer(raw, dtype=_STATE_DTYPE)[0]
        left, nxt = int(rec["left"]), int(rec["next"])
        if int(rec["seeded"]) != 1 or not 1 <= left <= _MT_N or not 0 <= nxt <= _MT_N:
            raise RuntimeError(f"set_state(): invalid mt19937 state (seeded={int(rec['seeded'])}, "
                               f"left={left}, next={nxt}; expected seeded=1, 1 <= left <= 624, "
                               f"next <= 624)")
        pos = _MT_N + 1 - left
        if left != 1 and nxt != pos:
            raise RuntimeError(f"set_state(): inconsistent mt19937 state: left={left} needs "
                               f"next={pos}, got next={nxt}")
        self._engine.state = {"bit_generator": "MT19937",
                              "state": {"key": rec["key"].astype(np.uint32), "pos": pos}}
        self._initial_seed = int(rec["seed"].view(np.uint64))
        self._fresh = left == 1 and nxt == 0
        self._next_double_normal = float(rec["normal_y"]) if rec["normal_is_valid"] else None
        self._next_float_normal = (float(rec["float_normal"]) if rec["float_normal_is_valid"]
                                   else None)
        return self

    def __repr__(self) -> str:
        return f"<weightwise.Generator device='cpu' initial_seed={self._initial_seed}>"

    # ------------------------------------------------------------------ raw draws

    def _random(self, n: int) -> np.ndarray:
        """``n`` consecutive 32-bit outputs, as uint64 (room for the arithmetic that follows)."""
        if n <= 0:
            return np.zeros(0, dtype=np.uint64)
        self._fresh = False
        return self._engine.random_raw(n)

    def _random64(self, n: int) -> np.ndarray:
        """``n`` 64-bit values, each from two 32-bit outputs, the first in the high half."""
        pairs = self._random(2 * n).reshape(n, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    def _unit(self, n: int, dtype: np.dtype) -> np.ndarray:
        """``n`` uniforms in [0, 1) built as PyTorch builds them for ``dtype``.

        Returned as float64 (exact: at most 53 bits); callers round to the working precision.
        """
        digits = 53 if dtype == np.float64 else 24  # half types round a float32 uniform
        bits = self._random64(n) if digits == 53 else self._random(n)
        return (bits & np.uint64((1 << digits) - 1)).astype(np.float64) * 2.0**-digits

    # ------------------------------------------------------------------ samplers

    def _unit32(self, n: int) -> np.ndarray:
        """``n`` float32 uniforms (as float64): low 24 bits of ``random()`` times ``2**-24``."""
        bits = np.bitwise_and(self._random(n), 0xFFFFFF).view(np.int64)
        return np.multiply(bits.astype(np.float64), 2.0**-24)

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




def _box_muller32(data: np.ndarray, mean: float, std: float, out: np.ndarray) -> None:
    """PyTorch's x86 float32 Box-Muller on blocks of 16 uniforms, written into ``out``.

    ``data`` holds float32 uniforms as float64 (all float32 values here live in float64
    arrays, which NumPy handles fastest). ``x[:8]`` of each block give radii
    (``u1 = 1 - x``), ``x[8:]`` angles; cosines fill the first 8 outputs, sines the last 8,
    each ``radius * trig * std + mean`` (one fused step).
    """
    blocks = data.reshape(-1, 2, 8)
    log = _logf_cephes(np.subtract(1.0, blocks[:, 0]))  # 1 - x is exact
    log *= -2.0
    radius = _r32(np.sqrt(log))  # a correctly rounded float64 root rounds to float32's
    trig = _sincosf_cephes_blocks(_r32(np.multiply(blocks[:, 1], _TWO_PI32)))
    trig *= radius[:, None, :]
    _affine32(_r32(trig), std, mean, out.reshape(trig.shape))


def _r32(x: np.ndarray) -> np.ndarray:
    """Round float64 values to float32 precision, keeping them as float64."""
    return x.astype(_F32).astype(_F64)


def _polar_libm(u1: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radius, cosine and sine as PyTorch's float64 kernel computes them (C library calls).

    They go through ``math`` (the C library, like PyTorch) rather than NumPy's own SIMD
    routines, which differ in the last bit.
    """
    radius = np.sqrt(-2 * _libm(math.log, u1))
    theta = 2.0 * math.pi * u2
    return radius, _libm(math.cos, theta), _libm(math.sin, theta)


def _box_muller64(data: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Float64 Box-Muller on blocks of 16 uniforms (see ``_box_muller32``)."""
    blocks = data.reshape(-1, 2, 8)
    radius, cos, sin = _polar_libm(1 - blocks[:, 0], blocks[:, 1])
    out = np.empty(blocks.shape, dtype=np.float64)
    np.multiply(radius, cos, out=out[:, 0])
    np.multiply(radius, sin, out=out[:, 1])
    return _affine64(out.reshape(-1), float(std), float(mean))


def _libm(fn: Any, x: np.ndarray) -> np.ndarray:
    """Apply a ``math`` function elementwise (float64 result, same shape)."""
    flat = np.asarray(x, dtype=np.float64).ravel().tolist()
    return np.fromiter(map(fn, flat), dtype=np.float64, count=len(flat)).reshape(np.shape(x))


# ---------------------------------------------------------------------- float32 fused multiply-add
#
# A float32 fused multiply-add a * b + c is emulated in float64: the product of two 24-bit
# significands is exact there, so only the float64 sum rounds before the final rounding to
# float32. Two roundings differ from one only when the float64 sum lands exactly on a midpoint
# between two float32 values while the exact sum does not; `_fma32` detects those (rare) sums
# and nudges them one float64 ulp towards the exact value (round-to-odd), which makes the
# final rounding correct. The polynomial steps of `_logf_cephes` / `_sincosf_cephes_blocks`
# skip the detection (`_fma32_step`): their inputs come from 2**24 possible uniforms each, and
# an exhaustive run over all of them (see the tests) finds no such midpoint at any step.
# (Plain float32 additions and products computed in float64 and rounded once more are always
# correctly rounded: 53 >= 2 * 24 + 2 bits.)


def _fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """``a * b + c`` rounded once to float32, for float32 ``a, b, c`` (arrays or floats).

    ``a`` and ``b`` may also be integers below ``2**24`` or float32 values scaled by powers
    of two: anything whose float64 product is exact.
    """
    p = _as_f64(a) * _as_f64(b)
    c = _as_f64(c)
    s = p + c
    _round_to_odd_ties32(s, p, c)
    return s.astype(_F32)


def _as_f64(x: Any) -> Any:
    """A float stays a float (fastest for NumPy); anything else becomes a float64 array."""
    return x if isinstance(x, float) else np.asarray(x, dtype=_F64)


def _round_to_odd_ties32(s: np.ndarray, p: Any, c: Any) -> None:
    """Fix ``s = RN64(p + c)`` in place so that rounding it to float32 rounds ``p + c`` once.

    Only sums that sit exactly on a float32 midpoint (or in float32's subnormal range, where
    midpoints sit higher) can round wrongly; those that are inexact move one float64 ulp
    towards the exact sum (whose error a two-sum gives).
    """
    flat = s.reshape(-1)  # s is a fresh contiguous array: a view
    bits = flat.view(np.int64)
    cand = np.bitwise_and(bits, 0x1FFFFFFF) == 0x10000000
    if isinstance(c, float):
        if c == 0.0:
            return  # the sum is the exact product
        # An inexact p + c has |p + c| >= |c| / 2 (otherwise p ~ -c and Sterbenz makes it
        # exact), so with |c| >= 2**-124 every inexact sum is a normal float32.
        if abs(c) < 2.0**-124:
            cand |= np.abs(flat) < 2.0**-125
    else:
        cand |= np.abs(flat) < 2.0**-125
    if cand.any():
        idx = np.flatnonzero(cand)
        ss = flat[idx]
        ps = np.broadcast_to(p, s.shape).reshape(-1)[idx]
        cs = np.broadcast_to(c, s.shape).reshape(-1)[idx]
        bv = ss - ps
        err = (ps - (ss - bv)) + (cs - bv)  # exact: p + c == ss + err
        step = np.where(err == 0, 0, np.where((err > 0) == (ss > 0), 1, -1))
        bits[idx] += step


def _fma32_step(a: Any, b: Any, c: Any) -> np.ndarray:
    """``RN32(a * b + c)`` for the verified polynomial steps (no midpoint check)."""
    p = np.multiply(a, b)
    p += c
    return _r32(p)


def _affine32(x: np.ndarray, b: float, c: float, out: np.ndarray) -> None:
    """``out = fma(x, b, c)`` in float32 for float32 values ``x`` (as float64) and scalars."""
    if c == 0.0:
        # the float64 product is exact, so adding a zero and rounding rounds once
        p = x if b == 1.0 else np.multiply(x, b)
        np.add(p, c, out=out, casting="unsafe")
        return
    out[...] = _fma32(x, b, c)


def _scaled_fma32(k: np.ndarray, rng: float, low: float) -> np.ndarray:
    """``fma(k * 2**-24, rng, low)`` in float32 for 24-bit integers ``k`` and float32 bounds."""
    scale = rng * 2.0**-24  # exact; k * scale is then exact in float64
    kf = k.astype(_F64)
    if low == 0.0:  # k * scale >= 0, so adding a zero of either sign changes nothing
        kf *= scale
        return kf.astype(_F32)
    if rng == 0.0 or _exact_sum_bits(rng, low) <= 53:  # the float64 sum is exact
        kf *= scale
        kf += low
        return kf.astype(_F32)
    return _fma32(kf, scale, low)


def _exact_sum_bits(rng: float, low: float) -> float:
    """Bits that ``k * 2**-24 * rng + low`` can need (``k < 2**24``; float32 ``rng > 0``, ``low``).

    The product's lowest bit is at least ``ulp(rng) * 2**-24``, ``low``'s at least ``ulp(low)``,
    and the sum stays below ``2**(max exponent + 2)``.
    """
    if not (math.isfinite(rng) and math.isfinite(low)):
        return math.inf
    e_rng, e_low = math.frexp(rng)[1] - 1, math.frexp(abs(low))[1] - 1
    return max(e_rng, e_low) + 2 - min(e_rng - 47, e_low - 23)


# Cephes single-precision coefficients, as avx_mathfun.h (zlib licence) uses them, as float32.
def _c32(v: float) -> float:
    return float(np.float32(v))


_LOG_P = tuple(_c32(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1,
                                 -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
                                 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1))
_LOG_Q1, _LOG_Q2 = _c32(-2.12194440e-4), _c32(0.693359375)
_SQRT_HALF = _c32(0.707106781186547524)
_FOUR_OVER_PI = np.float32(1.27323954473516)
_TWO_PI32 = _c32(2.0 * math.pi)
_DP = tuple(_c32(v) for v in (-0.78515625, -2.4187564849853515625e-4,
                              -3.77489497744594108e-8))
# cosine and sine polynomial coefficients side by side (rows: cos, sin)
_TRIG_P = tuple(np.array([[_c32(c)], [_c32(s)]]) for c, s in (
    (2.443315711809948e-5, -1.9515295891e-4),
    (-1.388731625493765e-3, 8.3321608736e-3),
    (4.166664568298827e-2, -1.6666654611e-1)))
_QUADRANT_SHIFT = np.array([[1], [0]], dtype=np.int32)  # cosine, sine

_Fma = Callable[[Any, Any, Any], np.ndarray]


def _logf_cephes(x: np.ndarray, fma: _Fma = _fma32_step) -> np.ndarray:
    """Natural log of positive normal float32 values, bit for bit as PyTorch's AVX2 kernel.

    Float32 values in, float32 values out, both as float64 arrays. The compiler fuses each
    multiply into the add that follows it, hence the ``fma`` steps.
    """
    m, e = np.frexp(x)  # x = m * 2**e, m in [0.5, 1): the kernel's exponent and mantissa
    small = (m < _SQRT_HALF).astype(_F64)
    ef = e.astype(_F64)
    ef -= small
    f = m - 1.0  # exact, and so is 2m - 1 where m < sqrt(1/2)
    f += m * small
    z = _r32(f * f)
    y = fma(f, _LOG_P[0], _LOG_P[1])
    for coef in _LOG_P[2:]:
        y = fma(y, f, coef)
    y = fma(_r32(y * f), z, _r32(ef * _LOG_Q1))
    y = _r32(y - z * 0.5)  # fused -z * 0.5 + y: the product is exact
    return fma(ef, _LOG_Q2, _r32(f + y))


def _sincosf_cephes_blocks(x: np.ndarray, fma: _Fma = _fma32_step) -> np.ndarray:
    """Cosine and sine of non-negative float32 values (as float64), as PyTorch's AVX2 kernel.

    ``x`` has shape ``(m, k)``; returns ``(m, 2, k)`` with the cosines in ``[:, 0]`` and the
    sines in ``[:, 1]``.
    """
    rows, cols = x.shape
    flat = x.reshape(-1)
    # j = (int(x * 4/pi) + 1) & ~1 = 2h: the octant, rounded to even
    h = (flat * _FOUR_OVER_PI).astype(_F32).astype(np.int32)
    h += 1
    h >>= 1
    y = h.astype(_F64)
    y *= 2.0
    r = fma(y, _DP[0], flat)  # extended-precision reduction by pi/4
    r = fma(y, _DP[1], r)
    r = fma(y, _DP[2], r)
    z = _r32(r * r)
    w = fma(z, _TRIG_P[0], _TRIG_P[1])  # rows: cosine, sine polynomial
    w = _r32(fma(w, z, _TRIG_P[2]) * z)
    table = np.empty((4, flat.size), dtype=_F64)  # s, c, -s, -c
    table[1] = fma(w[0], z, z * -0.5)  # c * z - z / 2, then + 1
    table[1] += 1.0
    table[1] = _r32(table[1])
    table[0] = fma(w[1], r, r)  # s * r + r
    np.negative(table[:2], out=table[2:])
    # quadrant q = h & 3: sin = (s, c, -s, -c)[q], cos = (s, c, -s, -c)[(q + 1) & 3]
    index = np.add(h.reshape(rows, 1, cols), _QUADRANT_SHIFT)
    index &= 3
    index *= flat.size
    index += np.arange(flat.size, dtype=np.int32).reshape(rows, 1, cols)
    return table.reshape(-1)[index]


def _sincosf_cephes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sine and cosine (float32) of non-negative float32 values of any shape."""
    x = np.asarray(x, dtype=_F32)
    res = _sincosf_cephes_blocks(x.reshape(-1, 1).astype(_F64)).astype(_F32)
    return res[:, 1, 0].reshape(x.shape), res[:, 0, 0].reshape(x.shape)


# ---------------------------------------------------------------------- float64 fused multiply-add


def _affine64(x: np.ndarray, b: float, c: float) -> np.ndarray:
    """``fma(x, b, c)`` for a float64 array ``x`` and floats ``b``, ``c`` (may reuse ``x``)."""
    if c == 0.0 and not math.isnan(b):
        plus_zero = not math.copysign(1.0, c) < 0
        if b == 1.0:
            return np.add(x, 0.0, out=x) if plus_zero else x
        p = np.multiply(x, b)  # fma(x, b, 0) is the rounded product ...
        if plus_zero and not p.all():
            # ... up to the sign of zero: an exact zero product plus +0 is +0
            p[(p == 0) & (x == 0) if b != 0 else (p == 0)] = 0.0
        return p
    return _fma64(x, b, c)


def _scaled_fma64(m: np.ndarray, unit: float, rng: float, low: float) -> np.ndarray:
    """``fma(m * unit, rng, low)`` in float64 for integers ``m`` with ``m * unit`` exact."""
    if low == 0.0 and (rng == 0.0 or 2.0**-900 <= rng <= 2.0**900):
        # unit * rng is exact, so m * (unit * rng) is the rounded product (always >= 0)
        return np.multiply(m, unit * rng, dtype=_F64)
    return _fma64(np.multiply(m, unit, dtype=_F64), rng, low)


def _fma64_scalar(a: float, b: float, c: float) -> float:
    """``_fma64`` on Python floats (same operations, same result)."""
    p = a * b
    t = a * 134217729.0
    ah = t - (t - a)
    al = a - ah
    t = b * 134217729.0
    bh = t - (t - b)
    bl = b - bh
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    bv = s - p
    low = (p - (s - bv)) + (c - bv)
    return s + (low + err)


def _fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """``a * b + c`` rounded once, as the fused multiply-add PyTorch's kernels compile to.

    Dekker's exact product plus a two-sum: correctly rounded except in rare double-rounding
    ties, far below the tolerance that matters here.
    """
    a, b, c = (np.asarray(v, dtype=np.float64) for v in (a, b, c))
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    bv = s - p
    low = (p - (s - bv)) + (c - bv)
    return s + (low + err)


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Veltkamp split of float64 values into two 26-bit halves (for exact products)."""
    t = a * 134217729.0  # 2**27 + 1
    hi = t - (t - a)
    return hi, a - hi


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


def _state_bytes(state: Any) -> bytes:
    """Bytes of a state given as ndarray, bytes, or a tensor-like with ``.numpy()``."""
    if isinstance(state, (bytes, bytearray, memoryview)):
        return bytes(state)
    if hasattr(state, "numpy") and not isinstance(state, np.ndarray):
        state = state.numpy()
    arr = np.asarray(state)
    if arr.dtype != np.uint8:
        raise RuntimeError(f"set_state(): expected a uint8 (ByteTensor) state, got dtype "
                           f"{arr.dtype}")
    return np.ascontiguousarray(arr).reshape(-1).tobytes()


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
