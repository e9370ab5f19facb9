"""The training monitor's per-record figures, computed cheaply but exactly.

Statistics take a handful of passes over a tensor, BLAS doing the sums (row sums against a vector
of ones, a dot product for the squares); NaN and Inf are counted only when the sums say some
exist. Histograms bin a strided sample of each tensor over the tensor's own range, all tensors
together in a few vectorised passes, with NumPy's edge rules so that counts equal
``np.histogram``'s bin for bin.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["fast_stats"]


def fast_stats(a: np.ndarray) -> dict[str, Any]:
    """mean, std, min, max, L2 norm, fraction of zeros, NaN and Inf counts of an array.

    The sum is taken by BLAS over rows of 1024 elements and the row sums added in float64; the
    sum of squares is one BLAS dot product. The non-finite counts and finite-only statistics are
    computed only when the sums are not finite.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _fast_stats(a)


_ROW = 1024  # elements per BLAS row sum
_ONES: dict[np.dtype[Any], np.ndarray] = {}


def _sum(f: np.ndarray) -> float:
    """Sum of a contiguous 1-D float array: float32 row sums of ``_ROW`` elements, added in float64."""
    n = f.size
    if n < 2 * _ROW:
        return float(np.add.reduce(f, dtype=np.float64))
    ones = _ONES.get(f.dtype)
    if ones is None:
        ones = _ONES[f.dtype] = np.ones(_ROW, f.dtype)
    h = n - n % _ROW
    total = float(np.add.reduce(f[:h].reshape(-1, _ROW) @ ones, dtype=np.float64))
    return total + float(np.add.reduce(f[h:], dtype=np.float64)) if h < n else total


def _sumsq(f: np.ndarray) -> float:
    if f.size < 2 * _ROW and f.dtype != np.float64:
        f = f.astype(np.float64)  # small: exact enough for free
    return float(np.dot(f, f))


def _fast_stats(a: np.ndarray) -> dict[str, Any]:
    f = a.reshape(-1)
    if f.dtype.kind != "f" or f.dtype.itemsize < 4:
        f = f.astype(np.float32)
    n = f.size
    if n == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "norm": 0.0, "zeros": None,
                "nans": 0, "infs": 0}
    total, sq = _sum(f), _sumsq(f)
    zeros = int(np.count_nonzero(f == 0)) / n  # NaN and Inf count as non-zero
    nans = infs = 0
    if not (math.isfinite(total) and math.isfinite(sq)):
        nans, infs = int(np.isnan(f).sum()), int(np.isinf(f).sum())
        f = f[np.isfinite(f)].astype(np.float64)
        total, sq = float(f.sum()), float(np.dot(f, f))
    m = f.size
    if m == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "norm": None, "zeros": zeros,
                "nans": nans, "infs": infs}
    mean = total / m
    var = max(sq / m - mean * mean, 0.0)
    if var < 1e-2 * (sq / m) and m < 1 << 22:  # |mean| >> std: the difference lost digits, redo it
        var = float(np.var(f, dtype=np.float64))
    return {"mean": mean, "std": math.sqrt(var), "min": float(f.min()), "max": float(f.max()),
            "norm": math.sqrt(sq), "zeros": zeros, "nans": nans, "infs": infs}


def _sample(a: np.ndarray, sample: int) -> np.ndarray:
    """At most about ``sample`` evenly strided elements of ``a`` (a view when ``a`` is contiguous), finite."""
    f = a.reshape(-1)
    if f.size > sample:
        f = f[:: -(-f.size // sample)]
    if f.dtype.kind != "f" or f.dtype.itemsize < 4:
        f = f.astype(np.float32)
    if not np.isfinite(f).all():
        f = f[np.isfinite(f)]
    return f


HistJob = tuple[np.ndarray, int, Any, Any, int]


def _hist_job(a: np.ndarray, lo: Any, hi: Any, bins: int, sample: int) -> HistJob:
    """What :func:`_histograms` needs of one tensor: its sample (taken now, while ``a`` is in cache), size, range, bins."""
    return (_sample(a, sample).copy() if lo is not None else a.reshape(-1)[:0], a.size, lo, hi, bins)


def _histograms(jobs: list[HistJob]) -> list[dict[str, Any] | None]:
    """``np.histogram(sample, bins, range=(lo, hi))`` for each job of :func:`_hist_job`, in a few
    vectorised passes over all of them together; the counts equal NumPy's, bin for bin."""
    out: list[dict[str, Any] | None] = [None] * len(jobs)
    groups: dict[np.dtype[Any], list[tuple[int, np.ndarray, float, float, int]]] = {}
    for i, (f, size, lo, hi, bins) in enumerate(jobs):
        if lo is None or hi is None:
            continue
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        bins = min(bins, max(4, math.ceil(math.sqrt(size))))  # a 10-element bias gets 4 bins, not 30
        if float(hi) - float(lo) == 0 or (float(hi) - float(lo)) / bins == 0:  # denormal range
            out[i] = {"range": [lo, hi], "counts": np.histogram(f, bins=bins, range=(lo, hi))[0].tolist()}
            continue
        groups.setdefault(f.dtype, []).append((i, f, lo, hi, bins))
    for dt, items in groups.items():
        for (i, _, lo, hi, _), counts in zip(items, _uniform_counts(dt, items)):
            out[i] = {"range": [lo, hi], "counts": counts}
    return out


def _uniform_counts(dt: np.dtype[Any], items: list[tuple[int, np.ndarray, float, float, int]]) -> list[list[int]]:
    """NumPy's equal-bin histogram algorithm (bin index by scaling, then a one-ULP correction
    against ``linspace`` edges) run over the concatenation of several samples, each with its own
    range and bins: bin ``j`` of sample ``s`` is global bin ``boff[s] + j``, its lower edge
    ``edges[boff[s] + s + j]``."""
    sizes = [len(it[1]) for it in items]
    nbins = np.array([it[4] for it in items])
    lo64 = np.array([it[2] for it in items], np.float64)
    hi64 = np.array([it[3] for it in items], np.float64)
    boff = np.zeros(len(items) + 1, np.intp)
    np.cumsum(nbins, out=boff[1:])
    # the edges, as np.linspace(lo, hi, bins + 1, dtype=dt) computes them, one sample after another
    eoff = boff[:-1] + np.arange(len(items))
    k = np.arange(int(boff[-1]) + len(items)) - np.repeat(eoff, nbins + 1)
    edges = k * np.repeat((hi64 - lo64) / nbins, nbins + 1) + np.repeat(lo64, nbins + 1)
    edges[eoff + nbins] = hi64
    edges = edges.astype(dt)
    x = np.concatenate([it[1] for it in items])
    lo_t = np.repeat(lo64.astype(dt), sizes)
    nb = np.repeat(nbins, sizes)
    if not ((x >= lo_t) & (x <= np.repeat(hi64.astype(dt), sizes))).all():  # not from the tensor's range
        return [np.histogram(f, bins=b, range=(lo, hi))[0].tolist() for _, f, lo, hi, b in items]
    idx = (np.subtract(x, lo_t) / np.repeat(hi64 - lo64, sizes) * nb).astype(np.intp)
    np.minimum(idx, nb - 1, out=idx)  # a value on the upper edge goes in the last bin
    g = idx + np.repeat(eoff, sizes)  # index of the lower edge in `edges`
    down = x < edges.take(g)
    up = (x >= edges.take(g + 1)) & (idx != nb - 1) & ~down
    g += np.repeat(boff[:-1] - eoff, sizes)  # now the global bin
    g -= down
    g += up
    counts = np.bincount(g, minlength=int(boff[-1])).tolist()
    return [counts[boff[j]:boff[j + 1]] for j in range(len(items))]
