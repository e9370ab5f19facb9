"""Float arithmetic rounded the way PyTorch's compiled CPU kernels round it.

The random samplers must reproduce PyTorch's numbers to the last bit, and PyTorch's kernels
compile ``x * scale + shift`` to fused multiply-adds (one rounding, not two) and call the C
library's ``log``/``cos``/``sin``/... rather than NumPy's SIMD routines. This module holds the
exact emulations those samplers share:

* ``_fma32`` / ``_fma32_step``: a float32 fused multiply-add computed in float64 (the
  product of two 24-bit significands is exact there), with the rare double-rounding
  midpoints detected and corrected;
* ``_fma64``: a float64 fused multiply-add from Dekker's exact product and a two-sum;
* ``_affine32`` / ``_affine64`` / ``_scaled_fma32`` / ``_scaled_fma64``: the shapes in which
  the uniform and normal samplers use them, with exact shortcuts where no rounding can differ;
* ``_r32``: rounding to float32 while staying in float64 arrays (NumPy's fastest type);
* ``_libm``: a ``math`` function applied elementwise (the C library, as PyTorch calls it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _r32(x: np.ndarray) -> np.ndarray:
    """Round float64 values to float32 precision, keeping them as float64."""
    return x.astype(_F32).astype(_F64)


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
