"""The engine under PyTorch's CPU generator: MT19937, its seeding, raw draws and state bytes.

PyTorch's ``CPUGeneratorImpl`` is an MT19937 seeded with ``init_genrand(seed & 0xffffffff)``
plus two cached normal samples (float and double); ``torch.get_rng_state()`` dumps it as the
5056-byte ``CPUGeneratorImplState``. ``_GeneratorCore`` keeps the same engine (NumPy's
``MT19937``, seeded the legacy way), the same caches and the same byte layout, so states pass
between the libraries both ways. It draws raw 32- and 64-bit words and the uniforms built
from them; the distributions on top of those draws are ``weightwise.random.Generator``'s.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

import numpy as np

DEFAULT_SEED = 67280421310721  # what torch.Generator() starts from
STATE_SIZE = 5056  # sizeof(CPUGeneratorImplState)
_MT_N = 624  # MT19937 words
_UINT64_MASK = (1 << 64) - 1

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


def _seed_to_uint64(seed: Any) -> int:
    """Map a seed to uint64 as PyTorch does: negatives wrap, out-of-range values raise."""
    value = int(seed)
    if not -(1 << 63) <= value <= _UINT64_MASK:
        raise ValueError(f"manual_seed(): seed must be in [-2**63, 2**64 - 1], got {value}")
    return value & _UINT64_MASK


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


_G = TypeVar("_G", bound="_GeneratorCore")


class _GeneratorCore:
    """MT19937 plus the cached float/double normal samples, as PyTorch's CPU generator holds them.

    Seeding, the 5056-byte state, and raw draws: ``_random`` (32-bit words), ``_random64``
    (two words, the first in the high half), ``_unit``/``_unit32`` (uniforms in [0, 1)).
    """

    def __init__(self) -> None:
        self._engine = np.random.MT19937(0)
        self.manual_seed(DEFAULT_SEED)

    # ------------------------------------------------------------------ seeding and state

    def manual_seed(self: _G, seed: int) -> _G:
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

    def set_state(self: _G, new_state: Any) -> _G:
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

    def _unit32(self, n: int) -> np.ndarray:
        """``n`` float32 uniforms (as float64): low 24 bits of ``random()`` times ``2**-24``."""
        bits = np.bitwise_and(self._random(n), 0xFFFFFF).view(np.int64)
        return np.multiply(bits.astype(np.float64), 2.0**-24)
