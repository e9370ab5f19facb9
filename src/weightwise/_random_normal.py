"""PyTorch's vectorised Box-Muller kernels for blocks of 16 uniforms, reproduced bit for bit.

``randn``/``normal_`` with 16 elements or more run PyTorch's ``normal_fill``: each block of 16
uniforms gives 8 radii and 8 angles, cosines fill the first 8 outputs and sines the last 8.
On x86, PyTorch's float32 kernel evaluates ``log`` and ``sincos`` with avx_mathfun's Cephes
polynomials (``_logf_cephes``, ``_sincosf_cephes_blocks``), whose multiply-adds the compiler
fuses; the float64 kernel calls the C library. Both are here as array functions over float64
arrays; the generator that feeds them uniforms lives in ``weightwise.random``.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable
from typing import Any

import numpy as np

from ._random_math import _F32, _F64, _affine32, _affine64, _fma32_step, _libm, _r32

# PyTorch's x86 builds run float32 Box-Muller through avx_mathfun's polynomials; other CPUs
# call the C library. Which one ran decides the last bits, so follow the platform.
_AVX2_NORMAL = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


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
