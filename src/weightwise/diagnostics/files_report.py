"""What ``weightwise inspect`` and ``weightwise diff`` report about files, as data (dicts).

Rendering (text, rich, JSON) is the command line's job; these functions only read files.

Example::

    report = inspect_file("model.safetensors", with_stats=True)
    report["totals"]["parameters"]          # elements, tied tensors counted once
    d = diff_files("a.pt", "b.safetensors")
    d["same"]                               # True when names, shapes, dtypes and values agree
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._files import open_file
from ._select import select_names
from .stats import dtype_name, tensor_stats

__all__ = ["inspect_file", "diff_files", "NoMatchError"]


class NoMatchError(ValueError):
    """A ``--filter`` pattern that selects nothing."""


def _filtered(names: list[str], pattern: str | None, path: str) -> list[str]:
    if pattern is None:
        return names
    chosen = select_names(names, pattern)
    if not chosen:
        raise NoMatchError(
            f"pattern {pattern!r} matches none of the {len(names)} tensors in {path} "
            "(globs: '*' within a name part, '**' across parts, e.g. '**.weight'; regex: 're:...')")
    return chosen


def inspect_file(path: str | os.PathLike[str], *, with_stats: bool = False,
                 pattern: str | None = None) -> dict[str, Any]:
    """Names, shapes, dtypes, sizes, totals, tie groups, metadata and provenance of a file.

    Args:
        path: any file weightwise reads (format detected from its bytes).
        with_stats: add per-tensor statistics (reads the data; tied tensors once).
        pattern: keep only the names this pattern matches (see :mod:`._select`).

    Returns:
        ``{"file", "format", "file_bytes", "tensors": [...], "totals": {...}, "tie_groups",
        "metadata", "provenance"}``; each tensor is ``{"name", "shape", "dtype", "count",
        "nbytes", "alias_of"}`` (+ ``"stats"``).

    Raises:
        SerializationError: the file cannot be read safely. NoMatchError: ``pattern`` selects
        nothing. OSError: missing or unreadable file.
    """
    path = os.fspath(path)
    with open_file(path) as f:
        names = _filtered(list(f.entries), pattern, path)
        tensors: list[dict[str, Any]] = []
        by_dtype: dict[str, int] = {}
        params = nbytes = stored = 0
        for name in names:
            e = f.entries[name]
            row: dict[str, Any] = {"name": name, "shape": list(e.shape), "dtype": dtype_name(e.dtype),
                                   "count": e.count, "nbytes": e.nbytes, "alias_of": e.alias_of}
            if e.alias_of is None:
                stored += 1
                params += e.count
                nbytes += e.nbytes
                by_dtype[row["dtype"]] = by_dtype.get(row["dtype"], 0) + e.count
                if with_stats:
                    row["stats"] = tensor_stats(f.array(name), name).to_dict()
            tensors.append(row)
        chosen = set(names)
        ties = [g for g in f.tie_groups() if len(chosen.intersection(g)) > 1]
        return {
            "file": path, "format": f.format, "file_bytes": os.path.getsize(path),
            "tensors": tensors,
            "totals": {"names": len(names), "stored": stored, "parameters": params, "nbytes": nbytes,
                       "by_dtype": by_dtype},
            "tie_groups": ties, "metadata": f.metadata,
            "provenance": {k: v for k, v in f.provenance.items() if k in chosen},
        }


def _compare(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max |a-b|, max |a-b| / max(|a|, |b|)); NaN against NaN counts as equal, NaN against a
    number (or mismatched infinities) as an infinite difference."""
    if a.size == 0:
        return 0.0, 0.0
    x, y = a.astype(np.float64).reshape(-1), b.astype(np.float64).reshape(-1)
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.abs(x - y)
        agree = (x == y) | (np.isnan(x) & np.isnan(y))
        d[agree] = 0.0
        d[np.isnan(d)] = np.inf
        scale = np.maximum(np.abs(x), np.abs(y))
        rel = np.where(d == 0, 0.0, d / np.where(scale == 0, 1.0, scale))
        rel[np.isnan(rel)] = np.inf
    return float(d.max()), float(rel.max())


def diff_files(path_a: str | os.PathLike[str], path_b: str | os.PathLike[str], *,
               atol: float = 0.0, rtol: float = 0.0) -> dict[str, Any]:
    """Compare two files tensor by tensor (any formats; names matched exactly).

    Returns:
        ``{"a", "b", "only_in_a", "only_in_b", "changed" (shape/dtype), "tensors": [{"name",
        "max_abs", "max_rel", "equal"}], "ties_differ", "same"}``; a tensor is equal when
        ``max |a - b| <= atol + rtol * max |a|`` (NaN equals NaN); ties are compared as groups.
    """
    a_path, b_path = os.fspath(path_a), os.fspath(path_b)
    with open_file(a_path) as fa, open_file(b_path) as fb:
        na, nb = list(fa.entries), list(fb.entries)
        set_a, set_b = set(na), set(nb)
        changed, compared = [], []
        for name in na:
            if name not in set_b:
                continue
            ea, eb = fa.entries[name], fb.entries[name]
            if ea.shape != eb.shape or ea.dtype != eb.dtype:
                changed.append({"name": name,
                                "a": {"shape": list(ea.shape), "dtype": dtype_name(ea.dtype)},
                                "b": {"shape": list(eb.shape), "dtype": dtype_name(eb.dtype)}})
                if ea.shape != eb.shape:
                    continue
            arr_a = fa.array(name)
            max_abs, max_rel = _compare(arr_a, fb.array(name))
            equal = max_abs == 0.0 or max_abs <= atol + rtol * _scale(arr_a)
            compared.append({"name": name, "max_abs": max_abs, "max_rel": max_rel, "equal": bool(equal)})
        ties_a = sorted(sorted(g) for g in fa.tie_groups())
        ties_b = sorted(sorted(g) for g in fb.tie_groups())
    only_a = [n for n in na if n not in set_b]
    only_b = [n for n in nb if n not in set_a]
    same = (not only_a and not only_b and not changed and ties_a == ties_b
            and all(t["equal"] for t in compared))
    return {"a": a_path, "b": b_path, "only_in_a": only_a, "only_in_b": only_b, "changed": changed,
            "tensors": compared, "ties_differ": ties_a != ties_b, "same": same}


def _scale(a: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    v = np.abs(a.astype(np.float64))
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else 0.0
